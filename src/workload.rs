//! What rel04d knows about a workload, whichever way it learnt it.

use std::collections::BTreeMap;
use std::fmt;

use crate::control::WorkloadFacts;
use crate::control::policy::LENS_ALIAS;

/// An AWS account id: twelve digits.
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

/// An AWS region name: `us-east-1`, `us-gov-west-1`, …
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// A workload as listed or described by the Well-Architected Tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    pub arn: String,
    pub id: String,
    pub name: String,
    /// The owner account (the account in the ARN), also for shared workloads.
    pub account_id: String,
    pub region: String,
    pub lenses: Vec<String>,
    /// `None` when not read (tags are read only when tag policies are on).
    pub tags: Option<BTreeMap<String, String>>,
    /// The whole description (GetWorkload, AWS's field names); `None` when listed only.
    pub data: Option<serde_json::Value>,
}

/// Facts for workloads whose tags were not read: no tags.
static NO_TAGS: BTreeMap<String, String> = BTreeMap::new();

impl Workload {
    /// What policy resolution knows of this workload.
    pub fn policy_facts(&self) -> WorkloadFacts<'_> {
        WorkloadFacts {
            account_id: &self.account_id,
            workload_id: &self.id,
            workload_name: &self.name,
            tags: self.tags.as_ref().unwrap_or(&NO_TAGS),
        }
    }

    /// Whether the control applies: the `wellarchitected` lens is on the workload.
    ///
    /// Summaries list lenses by alias, descriptions sometimes by ARN; both end in
    /// the alias.
    pub fn has_lens(&self) -> bool {
        self.has(LENS_ALIAS)
    }

    /// Whether `lens` (an alias, or a custom lens's ARN) is on the workload.
    pub fn has(&self, lens: &str) -> bool {
        self.lenses.iter().any(|named| names_lens(named, lens))
    }
}

/// Whether `named` (as the Tool or an event names a lens: its alias, or its
/// ARN) is the configured `lens`: an alias matches itself or an ARN ending in
/// it; a custom lens's ARN only itself.
pub fn names_lens(named: &str, lens: &str) -> bool {
    named == lens || (!lens.starts_with("arn:") && named.ends_with(&format!("/{lens}")))
}

/// Why an evaluation ran. Recorded on transitions; the evaluation itself ignores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    Sweep,
    /// An EventBridge event, by its `id`.
    Event(String),
    Manual,
}

impl Trigger {
    /// Every kind of trigger (an event's id is no part of its kind).
    pub fn kinds() -> [&'static str; 3] {
        [
            Trigger::Sweep,
            Trigger::Event(String::new()),
            Trigger::Manual,
        ]
        .map(|t| t.as_str())
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::Sweep => "sweep",
            Trigger::Event(_) => "event",
            Trigger::Manual => "manual",
        }
    }

    pub fn event_id(&self) -> Option<&str> {
        match self {
            Trigger::Event(id) => Some(id),
            _ => None,
        }
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lens_is_recognised_by_alias_or_arn() {
        let mut w = Workload {
            arn: "arn".into(),
            id: "id".into(),
            name: "n".into(),
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            lenses: vec!["serverless".into()],
            tags: None,
            data: None,
        };
        assert!(!w.has_lens());
        w.lenses
            .push("arn:aws:wellarchitected::aws:lens/wellarchitected".into());
        assert!(w.has_lens());
        w.lenses = vec!["wellarchitected".into()];
        assert!(w.has_lens());
    }
}
