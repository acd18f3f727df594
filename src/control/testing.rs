//! Builders shared by the core's unit tests.

use std::collections::BTreeMap;

use chrono::Utc;

use super::answer::{ChoiceStatus, ObservedAnswer};
use super::hierarchy::{PolicySet, PolicySetting, ResolvedPolicies, Scope, WorkloadFacts, resolve};
use super::policy::{BestPractice, NONE_OF_THESE_CHOICE_ID, PolicyKey};

/// Resolves `values` (policy key → value) as global settings.
pub fn policies(values: &[(&str, &str)]) -> ResolvedPolicies {
    let values = values
        .iter()
        .map(|(k, v)| {
            (
                PolicyKey::parse(k).unwrap_or_else(|| panic!("no policy {k}")),
                v.to_string(),
            )
        })
        .collect();
    let set = PolicySet {
        settings: vec![PolicySetting {
            values,
            ..setting("policies.global", Scope::Global, &[])
        }],
        tag_prefix: None,
        tags_may_enforce: false,
    };
    resolve(&set, &facts(&BTreeMap::new()), Utc::now())
}

/// A workload of account 111122223333 with `tags`.
pub fn facts(tags: &BTreeMap<String, String>) -> WorkloadFacts<'_> {
    WorkloadFacts {
        account_id: "111122223333",
        workload_id: "w",
        workload_name: "n",
        tags,
    }
}

/// A plain setting written at `origin` for `scope` with fixed `values`.
pub fn setting(origin: &str, scope: Scope, values: &[(PolicyKey, &str)]) -> PolicySetting {
    PolicySetting {
        scope,
        values: values
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        calculated: BTreeMap::new(),
        required: false,
        exception: false,
        expires: None,
        origin: origin.into(),
        accountability: Default::default(),
    }
}

/// The choice id behind a short name: a policy key of a best practice, or `no`.
pub fn choice(short: &str) -> &'static str {
    if short == "no" {
        return NONE_OF_THESE_CHOICE_ID;
    }
    BestPractice::ALL
        .into_iter()
        .find(|p| p.policy_key().as_str() == short)
        .unwrap_or_else(|| panic!("no best practice {short}"))
        .choice_id()
}

/// The titles the Tool gives REL 04's choices (Framework 2024-06-27 wording and later).
pub const TOOL_TITLES: [(&str, &str); 5] = [
    (
        "rel_prevent_interaction_failure_identify",
        "Identify the kind of distributed systems you depend on",
    ),
    (
        "rel_prevent_interaction_failure_loosely_coupled_system",
        "Implement loosely coupled dependencies",
    ),
    (
        "rel_prevent_interaction_failure_constant_work",
        "Do constant work",
    ),
    (
        "rel_prevent_interaction_failure_idempotent",
        "Make mutating operations idempotent",
    ),
    (NONE_OF_THESE_CHOICE_ID, "None of these"),
];

/// An answer offering all five choices with the Tool's titles, with the named ones
/// selected / not applicable.
pub fn answer(is_applicable: bool, selected: &[&str], not_applicable: &[&str]) -> ObservedAnswer {
    let all = BestPractice::ALL.map(BestPractice::choice_id);
    let choices = ObservedAnswer::from_parts(
        all.into_iter().chain([NONE_OF_THESE_CHOICE_ID]),
        selected.iter().map(|s| choice(s)),
        not_applicable
            .iter()
            .map(|s| (choice(s), ChoiceStatus::NotApplicable)),
    );
    ObservedAnswer {
        is_applicable,
        risk: Some("HIGH".into()),
        lens_arn: None,
        choices,
        titles: TOOL_TITLES
            .iter()
            .map(|(id, title)| (id.to_string(), title.to_string()))
            .collect(),
        lens_status: None,
    }
}
