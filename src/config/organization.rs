//! `[aws.organization]`: the fleet's accounts discovered from AWS Organizations.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::validate::{check, check_regions};
use super::{ConfigError, list_or_commas, redacted_option};
use crate::workload::is_account_id;

/// The accepted ranges of the organization's settings.
pub mod bounds {
    use std::ops::RangeInclusive;
    use std::time::Duration;

    /// A second at least (tests; calls are paced, so a short interval only means
    /// back-to-back refreshes), a day at most (a closed account's scope should
    /// not linger longer).
    pub const REFRESH: RangeInclusive<Duration> =
        Duration::from_secs(1)..=Duration::from_secs(24 * 3600);
    /// AWS' own default quota is 10 accounts per organization and its hard maximum
    /// is in the tens of thousands; every account is `regions` scopes with their
    /// workers, so the cap is what one replica can hold.
    pub const MAX_ACCOUNTS: RangeInclusive<usize> = 1..=20_000;
    /// Organizations allows a few calls per second per account, shared with every
    /// other tool of the management account.
    pub const REQUESTS_PER_SECOND: RangeInclusive<f64> = 0.1..=20.0;
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSettings {
    /// The role assumed in every member account: `arn:aws:iam::<id>:role/<role_name>`.
    pub role_name: String,
    #[serde(default, serialize_with = "redacted_option")]
    pub external_id: Option<SecretString>,
    /// Regions scanned in every discovered account; empty = `aws.regions`, else
    /// the SDK's region.
    #[serde(default, deserialize_with = "list_or_commas")]
    pub regions: Vec<String>,
    /// Organizational unit ids (`ou-…`), the root (`r-…`) or account ids to scan;
    /// empty = every account of the organization.
    #[serde(default, deserialize_with = "list_or_commas")]
    pub include: Vec<String>,
    /// Organizational unit ids or account ids never scanned (wins over `include`).
    #[serde(default, deserialize_with = "list_or_commas")]
    pub exclude: Vec<String>,
    #[serde(default = "default_refresh", with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// More selected accounts than this is an error at start and a refresh that
    /// changes nothing (with a warning) later.
    #[serde(default = "default_max_accounts")]
    pub max_accounts: usize,
    /// Calls per second to Organizations during a refresh.
    #[serde(default = "default_rate")]
    pub max_requests_per_second: f64,
}

fn default_refresh() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_accounts() -> usize {
    1_000
}

fn default_rate() -> f64 {
    2.0
}

/// What an `include` or `exclude` entry names.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgTarget {
    /// The root or an organizational unit: every account below it.
    Parent(String),
    Account(String),
}

impl OrgTarget {
    pub fn parse(text: &str) -> Option<OrgTarget> {
        if is_account_id(text) {
            return Some(OrgTarget::Account(text.to_owned()));
        }
        let id_part = |s: &str, min: usize| {
            (min..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        let parent = match text.split('-').collect::<Vec<_>>()[..] {
            ["r", root] => id_part(root, 4),
            ["ou", root, unit] => id_part(root, 4) && id_part(unit, 8),
            _ => false,
        };
        parent.then(|| OrgTarget::Parent(text.to_owned()))
    }
}

impl OrganizationSettings {
    pub fn targets(list: &[String]) -> Vec<OrgTarget> {
        list.iter().filter_map(|t| OrgTarget::parse(t)).collect()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let at = "aws.organization";
        // IAM role names: 1–64 of letters, digits and +=,.@_- (no path: the
        // StackSet in deploy/member.yaml creates the role at `/`).
        check(
            (1..=64).contains(&self.role_name.len())
                && self
                    .role_name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)),
            &format!("{at}.role_name"),
            "must be an IAM role name (1 to 64 letters, digits or +=,.@_-)",
        )?;
        check_regions(&self.regions, &format!("{at}.regions"))?;
        for (key, list) in [("include", &self.include), ("exclude", &self.exclude)] {
            for (i, entry) in list.iter().enumerate() {
                check(
                    OrgTarget::parse(entry).is_some(),
                    &format!("{at}.{key}[{i}]"),
                    &format!(
                        "{entry:?} is neither an organizational unit id (ou-…), a root id (r-…) nor a 12-digit account id"
                    ),
                )?;
            }
        }
        check(
            bounds::REFRESH.contains(&self.refresh_interval),
            &format!("{at}.refresh_interval"),
            "must be between 1s and 24h",
        )?;
        check(
            bounds::MAX_ACCOUNTS.contains(&self.max_accounts),
            &format!("{at}.max_accounts"),
            &format!(
                "{} is out of range; allowed: 1 to {}",
                self.max_accounts,
                bounds::MAX_ACCOUNTS.end()
            ),
        )?;
        // NaN is in no range, so it is refused too.
        check(
            bounds::REQUESTS_PER_SECOND.contains(&self.max_requests_per_second),
            &format!("{at}.max_requests_per_second"),
            "must be between 0.1 and 20",
        )
    }
}
