//! The five REL 04 policies and their exact values.
//!
//! Values are matched byte for byte (case and spacing as written in the spec):
//! anything else is an [`InvalidPolicyValue`], which makes the control `invalid`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Lens, pillar and question of the REL 04 control in the Well-Architected Tool.
pub const LENS_ALIAS: &str = "wellarchitected";
pub const PILLAR_ID: &str = "reliability";
pub const QUESTION_ID: &str = "prevent-interaction-failure";
/// The "None of these" choice of the question.
pub const NONE_OF_THESE_CHOICE_ID: &str = "rel_prevent_interaction_failure_no";

/// The four best practices of REL 04, each governed by one sub-policy.
///
/// Choices are matched by id only: AWS has renamed and reordered them between
/// framework versions, so titles come from the Tool's answer, never from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BestPractice {
    Identify,
    LooselyCoupled,
    Idempotent,
    ConstantWork,
}

impl BestPractice {
    pub const ALL: [BestPractice; 4] = [
        BestPractice::Identify,
        BestPractice::LooselyCoupled,
        BestPractice::Idempotent,
        BestPractice::ConstantWork,
    ];

    pub fn choice_id(self) -> &'static str {
        match self {
            BestPractice::Identify => "rel_prevent_interaction_failure_identify",
            BestPractice::LooselyCoupled => {
                "rel_prevent_interaction_failure_loosely_coupled_system"
            }
            BestPractice::Idempotent => "rel_prevent_interaction_failure_idempotent",
            BestPractice::ConstantWork => "rel_prevent_interaction_failure_constant_work",
        }
    }

    pub fn policy_key(self) -> PolicyKey {
        match self {
            BestPractice::Identify => PolicyKey::Identify,
            BestPractice::LooselyCoupled => PolicyKey::LooselyCoupled,
            BestPractice::Idempotent => PolicyKey::Idempotent,
            BestPractice::ConstantWork => PolicyKey::ConstantWork,
        }
    }
}

/// The config/tag key of a policy: its name.
///
/// REL 04's five keep their Guardrails names (the associated constants); any
/// other question's policies are named by its control definition
/// (`control::question`): the question policy `<name>`, each best practice
/// `<name>/<choice id>`. Which values a key accepts follows from its name alone:
/// REL 04's four sub-policies and every name holding a `/` are best practices,
/// anything else is a question policy (configuration keeps other names off
/// REL 04's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PolicyKey(Cow<'static, str>);

#[allow(non_upper_case_globals)]
impl PolicyKey {
    pub const Rel04: PolicyKey = PolicyKey(Cow::Borrowed("rel04"));
    pub const Identify: PolicyKey = PolicyKey(Cow::Borrowed("identify"));
    pub const LooselyCoupled: PolicyKey = PolicyKey(Cow::Borrowed("loosely_coupled"));
    pub const Idempotent: PolicyKey = PolicyKey(Cow::Borrowed("idempotent"));
    pub const ConstantWork: PolicyKey = PolicyKey(Cow::Borrowed("constant_work"));
}

impl PolicyKey {
    /// REL 04's five policies, in Guardrails' order.
    pub const ALL: [PolicyKey; 5] = [
        PolicyKey::Rel04,
        PolicyKey::Identify,
        PolicyKey::LooselyCoupled,
        PolicyKey::Idempotent,
        PolicyKey::ConstantWork,
    ];

    /// A policy named `name` (checked against the configured controls by
    /// configuration, not here).
    pub fn named(name: impl Into<String>) -> PolicyKey {
        let name = name.into();
        match PolicyKey::parse(&name) {
            Some(key) => key,
            None => PolicyKey(Cow::Owned(name)),
        }
    }

    /// The best-practice policy `<question policy>/<choice id>`.
    pub fn practice(question: &PolicyKey, choice_id: &str) -> PolicyKey {
        PolicyKey::named(format!("{question}/{choice_id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// One of REL 04's five by name.
    pub fn parse(key: &str) -> Option<PolicyKey> {
        PolicyKey::ALL.into_iter().find(|k| k.as_str() == key)
    }

    /// Whether this is a best-practice policy (values Skip/True/False).
    pub fn is_practice(&self) -> bool {
        self.0.contains('/') || (PolicyKey::ALL[1..].contains(self))
    }

    /// For `<name>/<choice id>`: the question policy's name and the choice id.
    pub fn split_practice(&self) -> Option<(&str, &str)> {
        self.0.split_once('/')
    }

    /// Guardrails' policy type, for REL 04's five (none for other questions).
    pub fn guardrails_type(&self) -> Option<&'static str> {
        Some(match self.as_str() {
            "rel04" => "rel04",
            "identify" => "rel04Identify",
            "loosely_coupled" => "rel04LooselyCoupledSystem",
            "idempotent" => "rel04Idempotent",
            "constant_work" => "rel04ConstantWork",
            _ => return None,
        })
    }

    /// Every value this policy accepts, in the order Guardrails lists them.
    pub fn allowed_values(&self) -> &'static [&'static str] {
        if self.is_practice() {
            PracticePolicy::VALUES
        } else {
            QuestionPolicy::VALUES
        }
    }

    /// The built-in default: every policy starts at `Skip`.
    pub fn default_value(&self) -> &'static str {
        "Skip"
    }

    /// Checks `value` against the allowed values of this policy.
    pub fn validate(&self, value: &str) -> Result<(), InvalidPolicyValue> {
        if self.allowed_values().contains(&value) {
            Ok(())
        } else {
            Err(InvalidPolicyValue {
                key: self.clone(),
                value: value.to_owned(),
            })
        }
    }
}

impl fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy value that is not one of the policy's allowed values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for policy {key}; allowed: {}", key.allowed_values().join(", "))]
pub struct InvalidPolicyValue {
    pub key: PolicyKey,
    pub value: String,
}

/// Whether a mismatch is only reported, or also put right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Check,
    Enforce,
}

/// What the `rel04` policy says the answer must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    /// Applicable, with each best practice as its sub-policy says.
    ChoicesFromSubPolicies,
    /// Applicable, "None of these" selected and no best practice selected.
    NoneOfThese,
    /// `IsApplicable` is false.
    NotApplicable,
}

/// The parsed value of the `rel04` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionPolicy {
    Skip,
    Apply(Mode, Expectation),
}

impl QuestionPolicy {
    pub const VALUES: &'static [&'static str] = &[
        "Skip",
        "Check: Choices based on sub policies",
        "Check: None of these",
        "Check: Question does not apply to this workload",
        "Enforce: Choices based on sub policies",
        "Enforce: None of these",
        "Enforce: Question does not apply to this workload",
    ];

    pub fn parse(value: &str) -> Result<Self, InvalidPolicyValue> {
        QuestionPolicy::parse_for(&PolicyKey::Rel04, value)
    }

    /// Parses the value of the question policy `key`.
    pub fn parse_for(key: &PolicyKey, value: &str) -> Result<Self, InvalidPolicyValue> {
        let invalid = || InvalidPolicyValue {
            key: key.clone(),
            value: value.to_owned(),
        };
        if value == "Skip" {
            return Ok(QuestionPolicy::Skip);
        }
        let (mode, rest) = if let Some(rest) = value.strip_prefix("Check: ") {
            (Mode::Check, rest)
        } else if let Some(rest) = value.strip_prefix("Enforce: ") {
            (Mode::Enforce, rest)
        } else {
            return Err(invalid());
        };
        let expectation = match rest {
            "Choices based on sub policies" => Expectation::ChoicesFromSubPolicies,
            "None of these" => Expectation::NoneOfThese,
            "Question does not apply to this workload" => Expectation::NotApplicable,
            _ => return Err(invalid()),
        };
        Ok(QuestionPolicy::Apply(mode, expectation))
    }
}

/// The parsed value of one best-practice sub-policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PracticePolicy {
    Skip,
    True,
    False,
}

impl PracticePolicy {
    pub const VALUES: &'static [&'static str] = &["Skip", "True", "False"];

    pub fn parse(key: &PolicyKey, value: &str) -> Result<Self, InvalidPolicyValue> {
        match value {
            "Skip" => Ok(PracticePolicy::Skip),
            "True" => Ok(PracticePolicy::True),
            "False" => Ok(PracticePolicy::False),
            _ => Err(InvalidPolicyValue {
                key: key.clone(),
                value: value.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_question_value_parses_and_nothing_else_does() {
        for value in QuestionPolicy::VALUES {
            assert!(QuestionPolicy::parse(value).is_ok(), "{value}");
        }
        for bad in [
            "skip",
            "Check:Choices based on sub policies",
            "Check: choices based on sub policies",
            " Skip",
            "Enforce: Skip",
            "",
        ] {
            let err = QuestionPolicy::parse(bad).unwrap_err();
            assert_eq!(err.key, PolicyKey::Rel04);
            assert!(err.to_string().contains("allowed: Skip, Check:"), "{err}");
        }
    }

    #[test]
    fn question_values_map_to_mode_and_expectation() {
        use Expectation::*;
        use Mode::*;
        let cases = [
            (
                "Check: Choices based on sub policies",
                Check,
                ChoicesFromSubPolicies,
            ),
            ("Check: None of these", Check, NoneOfThese),
            (
                "Check: Question does not apply to this workload",
                Check,
                NotApplicable,
            ),
            (
                "Enforce: Choices based on sub policies",
                Enforce,
                ChoicesFromSubPolicies,
            ),
            ("Enforce: None of these", Enforce, NoneOfThese),
            (
                "Enforce: Question does not apply to this workload",
                Enforce,
                NotApplicable,
            ),
        ];
        for (value, mode, expectation) in cases {
            assert_eq!(
                QuestionPolicy::parse(value).unwrap(),
                QuestionPolicy::Apply(mode, expectation)
            );
        }
        assert_eq!(QuestionPolicy::parse("Skip").unwrap(), QuestionPolicy::Skip);
    }

    #[test]
    fn practice_values_are_exact() {
        let key = &PolicyKey::Idempotent;
        assert_eq!(
            PracticePolicy::parse(key, "True").unwrap(),
            PracticePolicy::True
        );
        assert_eq!(
            PracticePolicy::parse(key, "False").unwrap(),
            PracticePolicy::False
        );
        assert_eq!(
            PracticePolicy::parse(key, "Skip").unwrap(),
            PracticePolicy::Skip
        );
        for bad in ["true", "TRUE", "yes", "1", "True "] {
            let err = PracticePolicy::parse(key, bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid value {bad:?} for policy idempotent; allowed: Skip, True, False")
            );
        }
    }

    #[test]
    fn keys_round_trip_and_name_their_guardrails_types() {
        for key in PolicyKey::ALL {
            assert_eq!(PolicyKey::parse(key.as_str()), Some(key.clone()));
            assert!(key.guardrails_type().unwrap().starts_with("rel04"));
            assert!(key.validate(key.default_value()).is_ok());
        }
        assert_eq!(PolicyKey::parse("Idempotent"), None);
        for practice in BestPractice::ALL {
            assert!(
                practice
                    .choice_id()
                    .starts_with("rel_prevent_interaction_failure_")
            );
            assert_ne!(practice.choice_id(), NONE_OF_THESE_CHOICE_ID);
        }
    }
}
