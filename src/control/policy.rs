//! The five REL 04 policies and their exact values.
//!
//! Values are matched byte for byte (case and spacing as written in the spec):
//! anything else is an [`InvalidPolicyValue`], which makes the control `invalid`.

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

/// The config/tag key of each policy (snake_case) and its Guardrails policy type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKey {
    Rel04,
    Identify,
    LooselyCoupled,
    Idempotent,
    ConstantWork,
}

impl PolicyKey {
    pub const ALL: [PolicyKey; 5] = [
        PolicyKey::Rel04,
        PolicyKey::Identify,
        PolicyKey::LooselyCoupled,
        PolicyKey::Idempotent,
        PolicyKey::ConstantWork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKey::Rel04 => "rel04",
            PolicyKey::Identify => "identify",
            PolicyKey::LooselyCoupled => "loosely_coupled",
            PolicyKey::Idempotent => "idempotent",
            PolicyKey::ConstantWork => "constant_work",
        }
    }

    pub fn parse(key: &str) -> Option<PolicyKey> {
        PolicyKey::ALL.into_iter().find(|k| k.as_str() == key)
    }

    pub fn guardrails_type(self) -> &'static str {
        match self {
            PolicyKey::Rel04 => "rel04",
            PolicyKey::Identify => "rel04Identify",
            PolicyKey::LooselyCoupled => "rel04LooselyCoupledSystem",
            PolicyKey::Idempotent => "rel04Idempotent",
            PolicyKey::ConstantWork => "rel04ConstantWork",
        }
    }

    /// Every value this policy accepts, in the order Guardrails lists them.
    pub fn allowed_values(self) -> &'static [&'static str] {
        match self {
            PolicyKey::Rel04 => QuestionPolicy::VALUES,
            _ => PracticePolicy::VALUES,
        }
    }

    /// The built-in default: every policy starts at `Skip`.
    pub fn default_value(self) -> &'static str {
        "Skip"
    }

    /// Checks `value` against the allowed values of this policy.
    pub fn validate(self, value: &str) -> Result<(), InvalidPolicyValue> {
        if self.allowed_values().contains(&value) {
            Ok(())
        } else {
            Err(InvalidPolicyValue {
                key: self,
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
        let invalid = || InvalidPolicyValue {
            key: PolicyKey::Rel04,
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

    pub fn parse(key: PolicyKey, value: &str) -> Result<Self, InvalidPolicyValue> {
        match value {
            "Skip" => Ok(PracticePolicy::Skip),
            "True" => Ok(PracticePolicy::True),
            "False" => Ok(PracticePolicy::False),
            _ => Err(InvalidPolicyValue {
                key,
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
        let key = PolicyKey::Idempotent;
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
            assert_eq!(PolicyKey::parse(key.as_str()), Some(key));
            assert!(key.guardrails_type().starts_with("rel04"));
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
