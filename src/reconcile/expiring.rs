//! `notify.exception_expiry_warning`: the evaluation that resolves a control's
//! policies also records, once per (control, setting, expiry), that an
//! exception it uses will soon expire; the notify publisher announces it.
//! Computed where every sweep already resolves every control, so it costs no
//! Tool call; the database's unique key makes it once across restarts and
//! replicas, and a set of what this process already recorded spares the write
//! on later sweeps.

use std::collections::HashSet;
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

/// (control, setting identity, expiry) of a warning.
type WarningKey = (ControlKey, String, String);

/// Warnings known recorded.
#[derive(Default)]
pub(super) struct Warned(Mutex<HashSet<WarningKey>>);

impl Warned {
    fn knows(&self, key: &WarningKey) -> bool {
        self.0.lock().is_ok_and(|set| set.contains(key))
    }

    fn remember(&self, key: WarningKey) {
        if let Ok(mut set) = self.0.lock() {
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
            let key = (of, exception.identity, expires_at);
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
                setting: &key.1,
                origin: &exception.setting.origin,
                policies: exception.supplies.iter().map(|k| k.as_str()).collect(),
                expires_at: key.2.clone(),
                reason: accountability.reason.as_deref(),
                ticket: accountability.ticket.as_deref(),
                owner: accountability.owner.as_deref(),
                occurred_at: timestamp(now),
            };
            if self
                .store
                .warn_exception_expiring(&key.0, &detail, now)
                .await?
            {
                tracing::info!(
                    workload_id = %workload.id,
                    lens = %control.lens,
                    question_id = %control.question_id,
                    setting = %key.1,
                    origin = %exception.setting.origin,
                    expires_at = %key.2,
                    "exception expires soon: warning queued"
                );
            }
            self.warned.remember(key);
        }
        Ok(())
    }
}
