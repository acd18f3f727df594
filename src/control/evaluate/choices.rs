//! Which choices of the question a control judges, read from the Tool's answer:
//! the choices and their titles are the Tool's, so a lens update or a custom lens
//! needs no release.

use super::{Expected, PracticePolicy};
use crate::control::answer::ObservedAnswer;
use crate::control::policy::PolicyKey;
use crate::control::question::ControlDef;

/// The title AWS and custom lenses both give the question's opt-out choice.
pub const NONE_OF_THESE_TITLE: &str = "None of these";

/// The id of the question's "None of these" choice: the choice the Tool titles
/// so; for REL 04, when the Tool gave no titles, its known id.
pub fn none_of_these<'a>(control: &ControlDef, observed: &'a ObservedAnswer) -> Option<&'a str> {
    observed
        .titles
        .iter()
        .find(|(id, title)| {
            title.trim() == NONE_OF_THESE_TITLE && observed.choices.contains_key(*id)
        })
        .map(|(id, _)| id.as_str())
        .or_else(|| {
            let fallback = control.none_of_these_fallback()?;
            observed
                .choices
                .get_key_value(fallback)
                .map(|(id, _)| id.as_str())
        })
}

/// For a question other than REL 04: why the control is `invalid` when a
/// True/False policy names a choice the question does not have. (REL 04 keeps
/// its historical `error` for a choice missing from the lens.)
pub fn absent_from_question(expected: &Expected, observed: &ObservedAnswer) -> Option<String> {
    let control = expected.policies.control();
    if control.is_rel04() {
        return None;
    }
    let absent: Vec<String> = expected
        .practices
        .iter()
        .filter(|p| {
            p.policy != PracticePolicy::Skip && !observed.choices.contains_key(&p.choice_id)
        })
        .map(|p| format!("{} names choice {:?}", p.key, p.choice_id))
        .collect();
    if absent.is_empty() {
        return None;
    }
    let offered: Vec<&str> = observed.choices.keys().map(String::as_str).collect();
    Some(format!(
        "Invalid policy: {}, which question {} does not have (its choices: {})",
        absent.join("; "),
        control.question_id,
        offered.join(", ")
    ))
}

/// The best practices to judge, each with its policy and the choice it governs:
/// REL 04's four in Guardrails' order; for any other question every choice the
/// Tool lists but "None of these", `Skip` where no policy names it.
pub fn governed(
    expected: &Expected,
    observed: &ObservedAnswer,
) -> Vec<(PolicyKey, String, PracticePolicy)> {
    let control = expected.policies.control();
    if control.is_rel04() {
        return expected
            .practices
            .iter()
            .map(|p| (p.key.clone(), p.choice_id.clone(), p.policy))
            .collect();
    }
    let none = none_of_these(control, observed);
    observed
        .choices
        .keys()
        .filter(|id| Some(id.as_str()) != none)
        .map(
            |id| match expected.practices.iter().find(|p| p.choice_id == *id) {
                Some(p) => (p.key.clone(), id.clone(), p.policy),
                None => (control.sub_policy(id), id.clone(), PracticePolicy::Skip),
            },
        )
        .collect()
}
