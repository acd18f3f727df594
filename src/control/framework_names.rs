//! Turbot Guardrails' names for the Framework's questions, as data
//! (`framework_names.json`), so a Framework question's control keeps the policy
//! names a Guardrails user already knows.
//!
//! Two tables:
//! - `framework_questions`: the Framework's own numbering (`rel04`, as in "REL 04")
//!   to the Tool's QuestionId, for all 57 questions of the current lens. Read from
//!   the per-question files of a Steampipe Well-Architected mod that carries every
//!   question with its `question_id` and `choice_id` tags
//!   (github.com/rouxleandre/steampipe-mod-aws-well-architected, a fork of
//!   turbot/steampipe-mod-aws-well-architected, commit a960a8a, Nov 2024).
//! - `guardrails`: per QuestionId, Guardrails' question policy type (`rel05`) and
//!   its best-practice policy type per ChoiceId (`rel05FailFast`). The names are
//!   those of the `tmod:@turbot/aws-wellarchitected-framework#/policy/types/…`
//!   settings in turbot/guardrails-samples' Well-Architected baseline
//!   (`baselines/aws/aws_well_architected_tool/*.tf`, last present at commit
//!   ba3027ae's parent, July 2024). Guardrails names a sub-policy after the
//!   choice id's tail in camel case (`rel_mitigate_interaction_failure_fail_fast`
//!   → `rel05FailFast`), which is how each was matched to a choice id. Guardrails
//!   follows an older lens: only questions where that match confirms its number
//!   names the same question are listed (42 of its 52), and only the choices that
//!   matched. Its `perf01`–`perf08`, `ops08` and `ops09` name questions the current
//!   lens replaced, and it has no sustainability questions; those get rel04d's
//!   default names.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// Guardrails' policy type names for one Framework question.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardrailsNames {
    /// The question policy type's short name, also its control type's (`rel05`).
    pub name: String,
    /// ChoiceId → the best-practice policy type's short name.
    pub choices: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tables {
    framework_questions: BTreeMap<String, String>,
    guardrails: BTreeMap<String, GuardrailsNames>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    serde_json::from_str(include_str!("framework_names.json"))
        .expect("framework_names.json is valid (checked by its tests)")
});

/// Guardrails' names for the Framework question `question_id`, when it has them.
pub fn guardrails(question_id: &str) -> Option<&'static GuardrailsNames> {
    TABLES.guardrails.get(question_id)
}

/// The Framework's number of `question_id` in short (`rel04`), for any of the
/// current lens's 57 questions.
pub fn framework_number(question_id: &str) -> Option<&'static str> {
    TABLES
        .framework_questions
        .iter()
        .find(|(_, id)| id.as_str() == question_id)
        .map(|(number, _)| number.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::BestPractice;
    use crate::control::policy::QUESTION_ID;

    fn is_number(name: &str) -> bool {
        let (pillar, digits) = name.split_at(name.len().saturating_sub(2));
        ["ops", "sec", "rel", "perf", "cost", "sus"].contains(&pillar)
            && digits.len() == 2
            && digits.bytes().all(|b| b.is_ascii_digit())
    }

    #[test]
    fn the_framework_table_numbers_57_distinct_questions() {
        let table = &TABLES.framework_questions;
        assert_eq!(table.len(), 57);
        assert!(table.keys().all(|n| is_number(n)), "{table:?}");
        let mut ids: Vec<&String> = table.values().collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 57, "question ids are distinct");
        assert_eq!(framework_number(QUESTION_ID), Some("rel04"));
        assert_eq!(framework_number("no-such-question"), None);
    }

    #[test]
    fn guardrails_names_are_the_framework_number_and_its_choices_camel_cased() {
        assert_eq!(TABLES.guardrails.len(), 42);
        for (question_id, names) in &TABLES.guardrails {
            assert_eq!(
                framework_number(question_id),
                Some(names.name.as_str()),
                "{question_id}: Guardrails' number is the Framework's"
            );
            assert!(!names.choices.is_empty(), "{question_id}");
            for (choice_id, policy) in &names.choices {
                let tail = policy
                    .strip_prefix(names.name.as_str())
                    .unwrap_or_else(|| panic!("{policy} starts with {}", names.name));
                let flat = |s: &str| s.replace('_', "").to_ascii_lowercase();
                assert!(
                    flat(choice_id).ends_with(&flat(tail)),
                    "{choice_id} ends with {tail}"
                );
            }
        }
    }

    #[test]
    fn rel04s_guardrails_names_cover_its_four_best_practices() {
        let rel04 = guardrails(QUESTION_ID).expect("REL 04 is listed");
        assert_eq!(rel04.name, crate::control::CONTROL_TYPE);
        let listed: Vec<&str> = rel04.choices.keys().map(String::as_str).collect();
        let mut known: Vec<&str> = BestPractice::ALL.iter().map(|b| b.choice_id()).collect();
        known.sort();
        assert_eq!(listed, known);
        assert_eq!(
            rel04.choices["rel_prevent_interaction_failure_loosely_coupled_system"],
            "rel04LooselyCoupledSystem"
        );
    }

    #[test]
    fn the_simulators_framework_questions_have_the_choices_named_here() {
        // The simulator's lens data and this table were written from different
        // sources; they must agree wherever both speak.
        let lens: serde_json::Value = serde_json::from_str(include_str!(
            "../../crates/wa-simulator/src/data/wellarchitected.json"
        ))
        .unwrap();
        let mut checked = 0;
        for question in lens["pillars"][0]["questions"].as_array().unwrap() {
            let id = question["id"].as_str().unwrap();
            let names = guardrails(id).unwrap_or_else(|| panic!("{id} has Guardrails names"));
            for choice_id in names.choices.keys() {
                assert!(
                    question["choices"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["id"] == choice_id.as_str()),
                    "{id}: the simulator has {choice_id}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 4 + 7 + 3, "REL 04, REL 05 and REL 10");
    }
}
