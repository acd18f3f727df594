//! Enforce: the smallest answer update that makes the Tool match the expectation.
//!
//! Only the choices the policies decide are touched; a choice under `Skip` keeps its
//! status. A matching answer yields no update, so enforcement is idempotent.

use std::collections::BTreeMap;

use serde::Serialize;

use super::answer::{ChoiceStatus, ObservedAnswer};
use super::evaluate::Expected;
use super::evaluate::choices;
use super::policy::{Expectation, PracticePolicy};

/// The body of an `UpdateAnswer` call, plus a record of what it changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnswerUpdate {
    /// `Some` only when applicability changes.
    pub is_applicable: Option<bool>,
    /// The complete selected set after the update (the API replaces it wholesale).
    pub selected_choices: Vec<String>,
    /// Explicit statuses for the choices that change.
    pub choice_updates: BTreeMap<String, ChoiceStatus>,
    /// Human-readable list of changes, recorded on the transition.
    pub changes: Vec<String>,
}

/// Returns the update that makes `observed` meet `expected`, or `None` when it does.
pub fn plan_update(expected: &Expected, observed: &ObservedAnswer) -> Option<AnswerUpdate> {
    let mut statuses = observed.choices.clone();
    let mut choice_updates = BTreeMap::new();
    let mut changes = Vec::new();
    let mut set = |id: &str, to: ChoiceStatus| {
        let from = statuses.get(id).copied();
        // A choice the lens lacks cannot be set; judging reports it as an error.
        if from.is_some_and(|from| from != to) {
            statuses.insert(id.to_owned(), to);
            choice_updates.insert(id.to_owned(), to);
            changes.push(format!(
                "{id}: {} -> {to}",
                from.unwrap_or(ChoiceStatus::Unselected)
            ));
        }
    };
    let must_apply = expected.expectation != Expectation::NotApplicable;
    let control = expected.policies.control();
    let none_of_these = choices::none_of_these(control, observed);
    match expected.expectation {
        Expectation::ChoicesFromSubPolicies => {
            for practice in &expected.practices {
                let id = practice.choice_id.as_str();
                match practice.policy {
                    PracticePolicy::True => set(id, ChoiceStatus::Selected),
                    PracticePolicy::False if observed.is_selected(id) => {
                        set(id, ChoiceStatus::Unselected)
                    }
                    PracticePolicy::False | PracticePolicy::Skip => {}
                }
            }
            if let Some(none) = none_of_these
                && expected.any_true()
                && observed.is_selected(none)
            {
                set(none, ChoiceStatus::Unselected);
            }
        }
        Expectation::NoneOfThese => {
            // REL 04: its four best practices; any other question: every choice
            // the Tool lists but "None of these".
            let practices: Vec<&str> = if control.is_rel04() {
                control.fixed_practices().map(|(_, id)| id).collect()
            } else {
                observed
                    .choices
                    .keys()
                    .map(String::as_str)
                    .filter(|id| Some(*id) != none_of_these)
                    .collect()
            };
            for id in practices {
                if observed.is_selected(id) {
                    set(id, ChoiceStatus::Unselected);
                }
            }
            if let Some(none) = none_of_these {
                set(none, ChoiceStatus::Selected);
            }
        }
        Expectation::NotApplicable => {}
    }
    let is_applicable = (observed.is_applicable != must_apply).then_some(must_apply);
    if let Some(to) = is_applicable {
        changes.insert(
            0,
            format!("IsApplicable: {} -> {to}", observed.is_applicable),
        );
    }
    if changes.is_empty() {
        return None;
    }
    Some(AnswerUpdate {
        is_applicable,
        selected_choices: statuses
            .iter()
            .filter(|(_, status)| **status == ChoiceStatus::Selected)
            .map(|(id, _)| id.clone())
            .collect(),
        choice_updates,
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::ControlState;
    use crate::control::evaluate::{Plan, judge, plan};
    use crate::control::testing::{answer, policies};

    fn expected(values: &[(&str, &str)]) -> Expected {
        match plan(policies(values)) {
            Plan::Check(expected) => expected,
            Plan::Decided(outcome) => panic!("nothing to check: {outcome:?}"),
        }
    }

    /// Applies an update the way the Tool does, for checking that it converges.
    fn apply(observed: &ObservedAnswer, update: &AnswerUpdate) -> ObservedAnswer {
        let mut next = observed.clone();
        if let Some(is_applicable) = update.is_applicable {
            next.is_applicable = is_applicable;
        }
        for status in next.choices.values_mut() {
            if *status == ChoiceStatus::Selected {
                *status = ChoiceStatus::Unselected;
            }
        }
        for (id, status) in &update.choice_updates {
            next.choices.insert(id.clone(), *status);
        }
        for id in &update.selected_choices {
            next.choices.insert(id.clone(), ChoiceStatus::Selected);
        }
        next
    }

    #[test]
    fn selects_required_and_unselects_excluded_choices_leaving_skipped_ones_alone() {
        let expected = expected(&[
            ("rel04", "Enforce: Choices based on sub policies"),
            ("identify", "True"),
            ("loosely_coupled", "False"),
            ("idempotent", "Skip"),
            ("constant_work", "True"),
        ]);
        let observed = answer(
            true,
            &["loosely_coupled", "idempotent", "no"],
            &["constant_work"],
        );
        let update = plan_update(&expected, &observed).expect("a mismatch needs an update");
        assert_eq!(update.is_applicable, None);
        assert_eq!(
            update.selected_choices,
            [
                "rel_prevent_interaction_failure_constant_work",
                "rel_prevent_interaction_failure_idempotent",
                "rel_prevent_interaction_failure_identify",
            ]
        );
        assert_eq!(update.changes.len(), 4, "{:?}", update.changes);
        let fixed = apply(&observed, &update);
        assert_eq!(judge(&expected, &fixed).state, ControlState::Ok);
        assert_eq!(
            plan_update(&expected, &fixed),
            None,
            "a second pass writes nothing"
        );
    }

    #[test]
    fn none_of_these_and_not_applicable_converge() {
        let cases = [
            "Enforce: None of these",
            "Enforce: Question does not apply to this workload",
            "Enforce: Choices based on sub policies",
        ];
        for rel04 in cases {
            let expected = expected(&[("rel04", rel04), ("idempotent", "True")]);
            for observed in [
                answer(false, &[], &[]),
                answer(true, &["identify", "idempotent"], &[]),
                answer(true, &["no"], &["idempotent"]),
            ] {
                let fixed = match plan_update(&expected, &observed) {
                    Some(update) => apply(&observed, &update),
                    None => observed.clone(),
                };
                assert_eq!(
                    judge(&expected, &fixed).state,
                    ControlState::Ok,
                    "{rel04} {observed:?}"
                );
                assert_eq!(plan_update(&expected, &fixed), None);
            }
        }
    }

    #[test]
    fn a_matching_answer_needs_no_update() {
        let expected = expected(&[
            ("rel04", "Enforce: Choices based on sub policies"),
            ("identify", "True"),
        ]);
        assert_eq!(
            plan_update(&expected, &answer(true, &["identify"], &[])),
            None
        );
    }
}
