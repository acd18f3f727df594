//! Exceptions about to lapse (`notify.exception_expiry_warning`): which
//! exceptions a control uses now will expire within the warning window.
//!
//! An exception *applies* to a control when it supplied at least one of the
//! values the control's policies resolved to: one overridden by a more specific
//! setting, or expired already, changes nothing when it lapses, so it is not
//! announced.

use chrono::{DateTime, Duration, Utc};

use super::hierarchy::{PolicySet, PolicySetting, ResolvedPolicies, has_expired};
use super::policy::PolicyKey;

/// An applying exception that expires within the window.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpiringException<'a> {
    pub setting: &'a PolicySetting,
    /// What identifies the setting across restarts, replicas and edits that do
    /// not concern it: its scope and the keys it sets (not its position in the
    /// file, which moves when another setting is added above it).
    pub identity: String,
    /// The policies whose resolved value it supplied.
    pub supplies: Vec<PolicyKey>,
    pub expires: DateTime<Utc>,
}

/// The exceptions of `set` that supplied a value of `resolved` (resolved at
/// `now`) and expire within `window` of `now`, in configuration order.
pub fn expiring_exceptions<'a>(
    set: &'a PolicySet,
    resolved: &ResolvedPolicies,
    now: DateTime<Utc>,
    window: Duration,
) -> Vec<ExpiringException<'a>> {
    set.settings
        .iter()
        .filter(|s| s.exception)
        .filter_map(|setting| {
            let expires = setting.expires?;
            if has_expired(expires, now) || expires - now > window {
                return None;
            }
            let supplies: Vec<PolicyKey> = resolved
                .iter()
                .filter(|(_, value)| value.origin == setting.origin)
                .map(|(key, _)| key.clone())
                .collect();
            if supplies.is_empty() {
                return None;
            }
            Some(ExpiringException {
                setting,
                identity: identity(setting),
                supplies,
                expires,
            })
        })
        .collect()
}

/// `<scope> <key>,<key>…`, REL 04's keys in their fixed order, then any
/// other question's in name order.
fn identity(setting: &PolicySetting) -> String {
    let sets = |k: &PolicyKey| setting.values.contains_key(k) || setting.calculated.contains_key(k);
    let others: std::collections::BTreeSet<&PolicyKey> = setting
        .values
        .keys()
        .chain(setting.calculated.keys())
        .filter(|k| !PolicyKey::ALL.contains(k))
        .collect();
    let keys: Vec<&str> = PolicyKey::ALL
        .iter()
        .filter(|k| sets(k))
        .chain(others)
        .map(PolicyKey::as_str)
        .collect();
    format!("{} {}", setting.scope, keys.join(","))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;

    use super::*;
    use crate::control::hierarchy::{Scope, WorkloadFacts, resolve};
    use crate::control::testing;

    const ACCOUNT: &str = "111122223333";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
    }

    fn setting(origin: &str, scope: Scope, value: &str) -> PolicySetting {
        testing::setting(origin, scope, &[(PolicyKey::Idempotent, value)])
    }

    fn exception(origin: &str, expires: DateTime<Utc>) -> PolicySetting {
        PolicySetting {
            exception: true,
            expires: Some(expires),
            ..setting(origin, Scope::Account(ACCOUNT.to_owned()), "Skip")
        }
    }

    fn expiring(settings: Vec<PolicySetting>, at: DateTime<Utc>) -> Vec<(String, String)> {
        let set = PolicySet {
            settings,
            ..PolicySet::default()
        };
        let tags = BTreeMap::new();
        let facts = WorkloadFacts {
            account_id: ACCOUNT,
            workload_id: "w1",
            workload_name: "shop",
            tags: &tags,
        };
        let resolved = resolve(&set, &facts, at);
        expiring_exceptions(&set, &resolved, at, Duration::days(30))
            .into_iter()
            .map(|e| (e.setting.origin.clone(), e.identity))
            .collect()
    }

    fn global() -> PolicySetting {
        PolicySetting {
            required: true,
            ..setting("global", Scope::Global, "True")
        }
    }

    #[test]
    fn an_applying_exception_warns_within_the_window_only() {
        let warned = vec![("e".to_owned(), format!("account:{ACCOUNT} idempotent"))];
        let within = exception("e", now() + Duration::days(30));
        assert_eq!(expiring(vec![global(), within], now()), warned);
        let beyond = exception("e", now() + Duration::days(30) + Duration::seconds(1));
        assert_eq!(expiring(vec![global(), beyond], now()), vec![]);
    }

    #[test]
    fn an_expired_exception_is_not_warned_about_with_the_same_rule_as_resolution() {
        // Expiring exactly now is expired (`has_expired`), for both.
        let lapsed = exception("e", now());
        assert_eq!(expiring(vec![global(), lapsed], now()), vec![]);
        let lapsed = exception("e", now() - Duration::seconds(1));
        assert_eq!(expiring(vec![global(), lapsed], now()), vec![]);
    }

    #[test]
    fn an_exception_that_supplies_no_value_does_not_apply() {
        let soon = now() + Duration::days(1);
        // Overridden by a more specific exception.
        let specific = PolicySetting {
            exception: true,
            ..setting("w", Scope::Workload("w1".to_owned()), "False")
        };
        assert_eq!(
            expiring(vec![global(), exception("e", soon), specific], now()),
            vec![]
        );
        // Another account's.
        let mut elsewhere = exception("e", soon);
        elsewhere.scope = Scope::Account("999999999999".to_owned());
        assert_eq!(expiring(vec![global(), elsewhere], now()), vec![]);
        // Not an exception: a plain setting's expiry is not announced.
        let mut plain = exception("e", soon);
        plain.exception = false;
        plain.expires = Some(soon);
        assert_eq!(expiring(vec![plain], now()), vec![]);
    }

    #[test]
    fn the_identity_does_not_move_with_the_settings_position() {
        let soon = now() + Duration::days(1);
        let first = expiring(
            vec![global(), exception("policies.settings[0]", soon)],
            now(),
        );
        let second = expiring(
            vec![
                global(),
                setting("policies.settings[0]", Scope::Account("9".into()), "True"),
                exception("policies.settings[1]", soon),
            ],
            now(),
        );
        assert_eq!(first[0].1, second[0].1);
    }
}
