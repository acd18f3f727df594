//! The reason sentences of a judged answer.

use super::{Check, Details, Expected};
use crate::control::policy::Expectation;

fn titles_where<'a>(details: &'a Details, policy: &str, result: Check) -> Vec<&'a str> {
    details
        .best_practices
        .iter()
        .filter(|c| c.result == result && (policy.is_empty() || c.policy == policy))
        .map(|c| c.title.as_str())
        .collect()
}

pub(super) fn problems(expected: &Expected, details: &Details, applicable_ok: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let none_failed = details
        .none_of_these
        .as_ref()
        .is_some_and(|c| c.result == Check::Fail);
    match expected.expectation {
        Expectation::NotApplicable => {
            if !applicable_ok {
                problems.push(
                    "Question is marked as applicable, but the policy says it does not apply to this workload"
                        .to_owned(),
                );
            }
        }
        Expectation::NoneOfThese | Expectation::ChoicesFromSubPolicies => {
            if !applicable_ok {
                problems.push("Question is marked as not applicable to this workload".to_owned());
            }
            let (not_selected, wrongly_selected) =
                if expected.expectation == Expectation::NoneOfThese {
                    (Vec::new(), titles_where(details, "", Check::Fail))
                } else {
                    (
                        titles_where(details, "True", Check::Fail),
                        titles_where(details, "False", Check::Fail),
                    )
                };
            if !not_selected.is_empty() {
                problems.push(format!("Not selected: {}", not_selected.join(", ")));
            }
            if !wrongly_selected.is_empty() {
                problems.push(format!(
                    "Selected against policy: {}",
                    wrongly_selected.join(", ")
                ));
            }
            if none_failed {
                problems.push(if expected.expectation == Expectation::NoneOfThese {
                    "\"None of these\" is not selected".to_owned()
                } else {
                    "\"None of these\" is selected".to_owned()
                });
            }
        }
    }
    problems
}

pub(super) fn ok_reason(expected: &Expected, details: &Details) -> String {
    match expected.expectation {
        Expectation::NotApplicable => {
            "Question does not apply to this workload, as required".to_owned()
        }
        Expectation::NoneOfThese => {
            "\"None of these\" is selected and no best practice is, as required".to_owned()
        }
        Expectation::ChoicesFromSubPolicies => {
            let required = titles_where(details, "True", Check::Pass).len();
            let excluded = titles_where(details, "False", Check::Pass).len();
            let plural = |n: usize| if n == 1 { "" } else { "s" };
            match (required, excluded) {
                (r, 0) => format!("{r} of {r} required best practice{} selected", plural(r)),
                (0, e) => format!("{e} excluded best practice{} not selected", plural(e)),
                (r, e) => format!(
                    "{r} of {r} required best practice{} selected and {e} excluded one{} not selected",
                    plural(r),
                    plural(e)
                ),
            }
        }
    }
}
