//! Evaluation: resolved policies + the observed answer → state, reason, details.
//!
//! Two steps, so the caller reads the Tool only when it must: [`plan`] decides from
//! the policies alone (`skipped`, `invalid`, or what answer to expect), then
//! [`judge`] compares the answer read against that expectation. Both are pure.

use serde::Serialize;

use super::answer::{ChoiceStatus, ObservedAnswer};
use super::hierarchy::{ResolvedPolicies, ResolvedValue};
use super::policy::{Expectation, Mode, PolicyKey, PracticePolicy, QuestionPolicy};
use super::state::ControlState;

/// The result of one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub state: ControlState,
    /// One human sentence, also for `ok`.
    pub reason: String,
    pub details: Details,
}

/// What the answer must look like, decided from the policies alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub mode: Mode,
    pub expectation: Expectation,
    /// The best-practice policies, each with the choice it governs: REL 04's
    /// four in Guardrails' order; for any other question those a setting or tag
    /// names (every other choice is `Skip`).
    pub practices: Vec<Practice>,
    pub policies: ResolvedPolicies,
}

/// One best-practice policy and the choice it governs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Practice {
    pub key: PolicyKey,
    pub choice_id: String,
    pub policy: PracticePolicy,
}

impl Expected {
    /// Whether any best practice must be selected.
    pub fn any_true(&self) -> bool {
        self.practices
            .iter()
            .any(|p| p.policy == PracticePolicy::True)
    }
}

/// What to do after looking at the policies.
#[derive(Clone, Debug, PartialEq)]
// One per evaluation, moved once: boxing the outcome would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    /// The policies decide the state on their own (`skipped` or `invalid`).
    Decided(Outcome),
    /// Read the answer and [`judge`] it against this expectation.
    Check(Expected),
}

/// Decides from the resolved policies whether there is anything to check.
pub fn plan(policies: ResolvedPolicies) -> Plan {
    let control = policies.control().clone();
    let name = &control.name;
    let question = policies.get(name);
    if let Some(reason) = failed_calculation(name, question) {
        return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
    }
    let (mode, expectation) = match QuestionPolicy::parse_for(name, &question.value) {
        Err(invalid) => {
            let reason = format!("Invalid policy: {invalid} (from {})", from(question));
            return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
        }
        Ok(QuestionPolicy::Skip) => {
            let reason = format!("Policy {name} is Skip (from {})", question.origin);
            return Plan::Decided(decided(ControlState::Skipped, reason, &policies));
        }
        Ok(QuestionPolicy::Apply(mode, expectation)) => (mode, expectation),
    };
    let mut practices = Vec::new();
    for (key, resolved) in policies.iter() {
        let Some(choice_id) = control.choice_of(key) else {
            continue;
        };
        // Sub-policies are ignored (so cannot be invalid) unless the choices depend on them.
        let policy = if expectation == Expectation::ChoicesFromSubPolicies {
            if let Some(reason) = failed_calculation(key, resolved) {
                return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
            }
            match PracticePolicy::parse(key, &resolved.value) {
                Ok(value) => value,
                Err(invalid) => {
                    let reason = format!("Invalid policy: {invalid} (from {})", from(resolved));
                    return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
                }
            }
        } else {
            PracticePolicy::Skip
        };
        practices.push(Practice {
            key: key.clone(),
            choice_id: choice_id.to_owned(),
            policy,
        });
    }
    if expectation == Expectation::ChoicesFromSubPolicies
        && practices.iter().all(|p| p.policy == PracticePolicy::Skip)
    {
        let all = if control.is_rel04() {
            "all four"
        } else {
            "all its"
        };
        let reason = format!(
            "Policy {name} is \"{}\" but {all} best-practice policies are Skip",
            question.value
        );
        return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
    }
    Plan::Check(Expected {
        mode,
        expectation,
        practices,
        policies,
    })
}

/// Where a value came from, for reasons: the setting, and for a calculated
/// value its level and that it was calculated.
fn from(resolved: &ResolvedValue) -> String {
    match &resolved.calculation {
        Some(_) => format!(
            "{}, {} level, calculated by its template",
            resolved.origin, resolved.level
        ),
        None => resolved.origin.clone(),
    }
}

/// The reason a calculated value has none: its query or template failed.
fn failed_calculation(key: &PolicyKey, resolved: &ResolvedValue) -> Option<String> {
    let error = resolved.calculation.as_ref()?.error.as_ref()?;
    Some(format!(
        "Invalid policy: {key} could not be calculated at the {} level ({}): {error}",
        resolved.level, resolved.origin
    ))
}

/// The control could not read the answer (after retries).
pub fn unreadable(expected: &Expected, error: &str) -> Outcome {
    let mut outcome = decided(
        ControlState::Error,
        format!("Could not read the answer: {error}"),
        &expected.policies,
    );
    outcome.details.error = Some(error.to_owned());
    outcome
}

/// Compares the observed answer with the expectation.
pub fn judge(expected: &Expected, observed: &ObservedAnswer) -> Outcome {
    let mut outcome = judge_answer(expected, observed);
    if let Some(status) = &observed.lens_status {
        if !status.is_current() {
            outcome.reason = format!("{}; lens review is {status}", outcome.reason);
        }
        outcome.details.lens_status = Some(status.clone());
    }
    outcome
}

fn judge_answer(expected: &Expected, observed: &ObservedAnswer) -> Outcome {
    let control = expected.policies.control();
    let question = Some(QuestionDetail {
        question_id: control.question_id.clone(),
        is_applicable: observed.is_applicable,
        risk: observed.risk.clone(),
        lens_arn: observed.lens_arn.clone(),
    });
    if let Some(reason) = choices::absent_from_question(expected, observed) {
        let mut outcome = decided(ControlState::Invalid, reason, &expected.policies);
        outcome.details.question = question;
        return outcome;
    }
    let none_of_these = none_of_these_detail(expected, observed);
    let best_practices: Vec<ChoiceDetail> = choices::governed(expected, observed)
        .into_iter()
        .map(|(key, choice_id, policy)| {
            practice_detail(expected, &key, &choice_id, policy, observed)
        })
        .collect();
    let details = Details {
        policies: policy_details(&expected.policies),
        question,
        best_practices,
        none_of_these: Some(none_of_these),
        ..Details::default()
    };

    let missing: Vec<&str> = details
        .best_practices
        .iter()
        .chain(details.none_of_these.iter())
        .filter(|c| c.result == Check::Missing)
        .map(|c| c.choice_id.as_str())
        .collect();
    if !missing.is_empty() {
        let reason = format!("Choice missing from the lens: {}", missing.join(", "));
        return Outcome {
            state: ControlState::Error,
            details: Details {
                error: Some(reason.clone()),
                ..details
            },
            reason,
        };
    }

    let applicable_ok =
        observed.is_applicable != (expected.expectation == Expectation::NotApplicable);
    let problems = problems(expected, &details, applicable_ok);
    let (state, reason) = if problems.is_empty() {
        (ControlState::Ok, ok_reason(expected, &details))
    } else {
        (ControlState::Alarm, problems.join("; "))
    };
    Outcome {
        state,
        reason,
        details,
    }
}

/// Plans, reads through `read` only when needed, and judges: the whole
/// evaluation in one call, for the core's tests (the daemon reads asynchronously
/// between [`plan`] and [`judge`]).
#[cfg(test)]
pub fn evaluate(
    policies: ResolvedPolicies,
    read: impl FnOnce() -> Result<ObservedAnswer, String>,
) -> Outcome {
    match plan(policies) {
        Plan::Decided(outcome) => outcome,
        Plan::Check(expected) => match read() {
            Ok(observed) => judge(&expected, &observed),
            Err(error) => unreadable(&expected, &error),
        },
    }
}

fn decided(state: ControlState, reason: String, policies: &ResolvedPolicies) -> Outcome {
    Outcome {
        state,
        reason,
        details: Details {
            policies: policy_details(policies),
            question: None,
            ..Details::default()
        },
    }
}

fn policy_details(policies: &ResolvedPolicies) -> Vec<PolicyDetail> {
    policies
        .iter()
        .map(|(key, resolved)| PolicyDetail {
            key: key.clone(),
            value: resolved.value.clone(),
            source: resolved.level,
            origin: resolved.origin.clone(),
            calculation: resolved.calculation.as_deref().cloned(),
            passed_over_calculations: resolved
                .passed_over
                .iter()
                .filter_map(|p| {
                    Some(PassedOverCalculation {
                        origin: p.origin.clone(),
                        calculation: p.calculation.as_deref()?.clone(),
                    })
                })
                .collect(),
        })
        .collect()
}

fn practice_detail(
    expected: &Expected,
    key: &PolicyKey,
    choice_id: &str,
    policy: PracticePolicy,
    observed: &ObservedAnswer,
) -> ChoiceDetail {
    let resolved = expected.policies.get(key);
    let status = observed.status(choice_id);
    let must_be_selected = match expected.expectation {
        Expectation::ChoicesFromSubPolicies => match policy {
            PracticePolicy::True => Some(true),
            PracticePolicy::False => Some(false),
            PracticePolicy::Skip => None,
        },
        Expectation::NoneOfThese => Some(false),
        Expectation::NotApplicable => None,
    };
    ChoiceDetail {
        choice_id: choice_id.to_owned(),
        title: observed.title(choice_id).to_owned(),
        policy: match expected.expectation {
            Expectation::ChoicesFromSubPolicies => resolved.value.clone(),
            _ => "ignored".to_owned(),
        },
        source: resolved.level,
        observed: status,
        result: verdict(must_be_selected, status),
    }
}

fn none_of_these_detail(expected: &Expected, observed: &ObservedAnswer) -> ChoiceDetail {
    let (rule, must_be_selected) = match expected.expectation {
        Expectation::ChoicesFromSubPolicies if expected.any_true() => {
            ("must not be selected", Some(false))
        }
        Expectation::ChoicesFromSubPolicies => ("not checked", None),
        Expectation::NoneOfThese => ("must be selected", Some(true)),
        Expectation::NotApplicable => ("not checked", None),
    };
    let control = expected.policies.control();
    let choice_id =
        choices::none_of_these(control, observed).unwrap_or(choices::NONE_OF_THESE_TITLE);
    let status = observed.status(choice_id);
    ChoiceDetail {
        choice_id: choice_id.to_owned(),
        title: observed.title(choice_id).to_owned(),
        policy: rule.to_owned(),
        source: expected.policies.get(&control.name).level,
        observed: status,
        result: verdict(must_be_selected, status),
    }
}

fn verdict(must_be_selected: Option<bool>, status: Option<ChoiceStatus>) -> Check {
    match (must_be_selected, status) {
        (None, _) => Check::NotChecked,
        (Some(_), None) => Check::Missing,
        (Some(must), Some(status)) if (status == ChoiceStatus::Selected) == must => Check::Pass,
        (Some(_), Some(_)) => Check::Fail,
    }
}

mod bounds;
pub mod choices;
mod details;
mod reasons;
pub use bounds::MAX_DETAILS_BYTES;
pub use details::{
    Check, ChoiceDetail, Details, PassedOverCalculation, PolicyDetail, QuestionDetail,
};
use reasons::{ok_reason, problems};

#[cfg(test)]
mod question_tests;
#[cfg(test)]
mod tests;
