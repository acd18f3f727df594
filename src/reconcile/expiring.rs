//! `notify.exception_expiry_warning`: the evaluation that resolves a control's
//! policies also records, once per (control, setting, expiry), that an
//! exception it uses will soon expire; the notify publisher announces it.
//! Computed where every sweep already resolves every control, so it costs no
//! Tool call; the database's unique key makes it once across restarts and
//! replicas, and a set of what this process already recorded spares the write
//! on later sweeps.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::Reconciler;
use crate::control::expiring::expiring_exceptions;
use crate::control::{ControlDef, ResolvedPolicies};
use crate::store::{ControlKey, ExceptionExpiring, timestamp};
use crate::workload::Workload;

/// Warnings this process knows are recorded, so a sweep does not write them
/// again. Bounded: past this many it starts over (re-recording is harmless, the
/// database ignores a warning it has).
const REMEMBERED: usize = 100_000;

/// (control, setting identity, expiry) of a warning, as a 128-bit digest: how
/// many are remembered is the policy author's choice (an exception on every
/// control), and the strings themselves cost ~300 bytes a warning, ~30 MiB at
/// the bound; a digest costs 16. Two warnings share a digest with odds of
/// 2^-128, keyed per process so nobody can aim for it; the cost of one would
/// be a warning this process does not write (another replica, or the next
/// process, would).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct WarningKey(u64, u64);

/// Warnings known recorded.
pub(super) struct Warned {
    known: Mutex<HashSet<WarningKey>>,
    keys: [std::hash::RandomState; 2],
}

impl Default for Warned {
    fn default() -> Self {
        Warned {
            known: Mutex::default(),
            keys: [std::hash::RandomState::new(), std::hash::RandomState::new()],
        }
    }
}

impl Warned {
    fn key(&self, of: &ControlKey, identity: &str, expires_at: &str) -> WarningKey {
        let [first, second] = self
            .keys
            .each_ref()
            .map(|keys| keys.hash_one((of, identity, expires_at)));
        WarningKey(first, second)
    }

    fn knows(&self, key: &WarningKey) -> bool {
        self.known.lock().is_ok_and(|set| set.contains(key))
    }

    fn remember(&self, key: WarningKey) {
        if let Ok(mut set) = self.known.lock() {
            if set.len() >= REMEMBERED {
                set.clear();
            }
            set.insert(key);
        }
    }
}

impl Reconciler {
    /// Records a warning for each exception `workload`'s control of the
    /// question `control` uses (as resolved in `policies` at `now`) that expires
    /// within the window, unless recorded already: one per control.
    pub(super) async fn warn_expiring(
        &self,
        workload: &Workload,
        control: &ControlDef,
        policies: &ResolvedPolicies,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let Some(window) = self.exception_expiry_warning else {
            return Ok(());
        };
        for exception in expiring_exceptions(&self.policies, policies, now, window) {
            let expires_at = timestamp(exception.expires);
            let of = ControlKey::new(&workload.arn, &control.lens, &control.question_id);
            let key = self.warned.key(&of, &exception.identity, &expires_at);
            if self.warned.knows(&key) {
                continue;
            }
            let accountability = &exception.setting.accountability;
            let detail = ExceptionExpiring {
                control_type: &control.control_type,
                workload_id: &workload.id,
                workload_arn: &workload.arn,
                account_id: &workload.account_id,
                region: &workload.region,
                setting: &exception.identity,
                origin: &exception.setting.origin,
                policies: exception.supplies.iter().map(|k| k.as_str()).collect(),
                expires_at: expires_at.clone(),
                reason: accountability.reason.as_deref(),
                ticket: accountability.ticket.as_deref(),
                owner: accountability.owner.as_deref(),
                occurred_at: timestamp(now),
            };
            if self
                .store
                .warn_exception_expiring(&of, &detail, now)
                .await?
            {
                tracing::info!(
                    workload_id = %workload.id,
                    lens = %control.lens,
                    question_id = %control.question_id,
                    setting = %exception.identity,
                    origin = %exception.setting.origin,
                    expires_at = %expires_at,
                    "exception expires soon: warning queued"
                );
            }
            self.warned.remember(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(workload: &str) -> ControlKey {
        ControlKey::new(workload, "wellarchitected", "prevent-interaction-failure")
    }

    #[test]
    fn a_remembered_warning_costs_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<WarningKey>(), 16);
    }

    /// Each part of a warning tells it apart, and boundaries between parts
    /// count: ("ab", "c") is not ("a", "bc").
    #[test]
    fn warnings_that_differ_in_any_part_are_known_apart() {
        let warned = Warned::default();
        let at = "2026-12-31T00:00:00.000000Z";
        warned.remember(warned.key(&of("w1"), "account:1 s", at));
        assert!(warned.knows(&warned.key(&of("w1"), "account:1 s", at)));
        for (control, identity, expires) in [
            (of("w2"), "account:1 s", at),
            (of("w1"), "account:2 s", at),
            (of("w1"), "account:1 s", "2027-01-01T00:00:00.000000Z"),
            (of("w1a"), "ccount:1 s", at),
        ] {
            assert!(!warned.knows(&warned.key(&control, identity, expires)));
        }
    }

    #[test]
    fn past_the_bound_the_memory_starts_over() {
        let warned = Warned::default();
        let at = "2026-12-31T00:00:00.000000Z";
        let first = warned.key(&of("first"), "s", at);
        warned.remember(first);
        for n in 1..REMEMBERED {
            warned.remember(warned.key(&of(&n.to_string()), "s", at));
        }
        assert!(warned.knows(&first));
        warned.remember(warned.key(&of("one more"), "s", at));
        assert!(!warned.knows(&first));
        assert_eq!(warned.known.lock().unwrap().len(), 1);
    }
}
