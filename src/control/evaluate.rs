//! Evaluation: resolved policies + the observed answer → state, reason, details.
//!
//! Two steps, so the caller reads the Tool only when it must: [`plan`] decides from
//! the policies alone (`skipped`, `invalid`, or what answer to expect), then
//! [`judge`] compares the answer read against that expectation. Both are pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::answer::{ChoiceStatus, ObservedAnswer};
use super::calculated::CalculationTrace;
use super::hierarchy::{Level, ResolvedPolicies, ResolvedValue};
use super::policy::{
    BestPractice, Expectation, Mode, NONE_OF_THESE_CHOICE_ID, PolicyKey, PracticePolicy,
    QUESTION_ID, QuestionPolicy,
};
use super::state::ControlState;

/// The result of one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub state: ControlState,
    /// One human sentence, also for `ok`.
    pub reason: String,
    pub details: Details,
}

/// The structured record of an evaluation, stored as the control's `details` and
/// read back by `explain` (it round-trips through JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Details {
    /// For each of the five policies: the value used and where it came from.
    pub policies: Vec<PolicyDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionDetail>,
    pub best_practices: Vec<ChoiceDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none_of_these: Option<ChoiceDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The workload's policy tags as read (`policies.tags`), so `explain` can
    /// replay the hierarchy of this evaluation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policy_tags: BTreeMap<String, String>,
    /// The workload as GetWorkload described it (AWS's field names), when this
    /// evaluation described it: GraphQL serves it as `resource.data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<serde_json::Value>,
    /// What was left out to keep details within their bound, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyDetail {
    pub key: PolicyKey,
    pub value: String,
    pub source: Level,
    pub origin: String,
    /// The template, its input and its output, for a calculated value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<CalculationTrace>,
    /// The calculations of settings passed over, so `explain` can replay them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over_calculations: Vec<PassedOverCalculation>,
}

/// A calculation whose value was passed over, and the setting it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassedOverCalculation {
    pub origin: String,
    pub calculation: CalculationTrace,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionDetail {
    pub question_id: String,
    pub is_applicable: bool,
    pub risk: Option<String>,
    pub lens_arn: Option<String>,
}

/// One choice: the policy that governs it, what was observed and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceDetail {
    pub choice_id: String,
    pub title: String,
    /// The policy value deciding this choice (for "None of these": the rule applied).
    pub policy: String,
    pub source: Level,
    pub observed: Option<ChoiceStatus>,
    pub result: Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Pass,
    Fail,
    NotChecked,
    /// The lens does not offer this choice.
    Missing,
}

/// What the answer must look like, decided from the policies alone.
#[derive(Clone, Debug, PartialEq)]
pub struct Expected {
    pub mode: Mode,
    pub expectation: Expectation,
    /// The sub-policy of each best practice, in [`BestPractice::ALL`] order.
    pub practices: [PracticePolicy; 4],
    pub policies: ResolvedPolicies,
}

/// What to do after looking at the policies.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// The policies decide the state on their own (`skipped` or `invalid`).
    Decided(Outcome),
    /// Read the answer and [`judge`] it against this expectation.
    Check(Expected),
}

/// Decides from the resolved policies whether there is anything to check.
pub fn plan(policies: ResolvedPolicies) -> Plan {
    let rel04 = policies.get(PolicyKey::Rel04);
    if let Some(reason) = failed_calculation(PolicyKey::Rel04, rel04) {
        return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
    }
    let (mode, expectation) = match QuestionPolicy::parse(&rel04.value) {
        Err(invalid) => {
            let reason = format!("Invalid policy: {invalid} (from {})", from(rel04));
            return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
        }
        Ok(QuestionPolicy::Skip) => {
            let reason = format!("Policy rel04 is Skip (from {})", rel04.origin);
            return Plan::Decided(decided(ControlState::Skipped, reason, &policies));
        }
        Ok(QuestionPolicy::Apply(mode, expectation)) => (mode, expectation),
    };
    let mut practices = [PracticePolicy::Skip; 4];
    // Sub-policies are ignored (so cannot be invalid) unless the choices depend on them.
    if expectation == Expectation::ChoicesFromSubPolicies {
        for (slot, practice) in practices.iter_mut().zip(BestPractice::ALL) {
            let resolved = policies.get(practice.policy_key());
            if let Some(reason) = failed_calculation(practice.policy_key(), resolved) {
                return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
            }
            match PracticePolicy::parse(practice.policy_key(), &resolved.value) {
                Ok(value) => *slot = value,
                Err(invalid) => {
                    let reason = format!("Invalid policy: {invalid} (from {})", from(resolved));
                    return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
                }
            }
        }
        if practices.iter().all(|p| *p == PracticePolicy::Skip) {
            let reason = format!(
                "Policy rel04 is \"{}\" but all four best-practice policies are Skip",
                rel04.value
            );
            return Plan::Decided(decided(ControlState::Invalid, reason, &policies));
        }
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
fn failed_calculation(key: PolicyKey, resolved: &ResolvedValue) -> Option<String> {
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
    let best_practices: Vec<ChoiceDetail> = BestPractice::ALL
        .iter()
        .zip(expected.practices)
        .map(|(&practice, policy)| practice_detail(expected, practice, policy, observed))
        .collect();
    let none_of_these = none_of_these_detail(expected, observed);
    let details = Details {
        policies: policy_details(&expected.policies),
        question: Some(QuestionDetail {
            question_id: QUESTION_ID.to_owned(),
            is_applicable: observed.is_applicable,
            risk: observed.risk.clone(),
            lens_arn: observed.lens_arn.clone(),
        }),
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
            key,
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
    practice: BestPractice,
    policy: PracticePolicy,
    observed: &ObservedAnswer,
) -> ChoiceDetail {
    let resolved = expected.policies.get(practice.policy_key());
    let status = observed.status(practice.choice_id());
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
        choice_id: practice.choice_id().to_owned(),
        title: observed.title(practice.choice_id()).to_owned(),
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
    let any_true = expected.practices.contains(&PracticePolicy::True);
    let (rule, must_be_selected) = match expected.expectation {
        Expectation::ChoicesFromSubPolicies if any_true => ("must not be selected", Some(false)),
        Expectation::ChoicesFromSubPolicies => ("not checked", None),
        Expectation::NoneOfThese => ("must be selected", Some(true)),
        Expectation::NotApplicable => ("not checked", None),
    };
    let status = observed.status(NONE_OF_THESE_CHOICE_ID);
    ChoiceDetail {
        choice_id: NONE_OF_THESE_CHOICE_ID.to_owned(),
        title: observed.title(NONE_OF_THESE_CHOICE_ID).to_owned(),
        policy: rule.to_owned(),
        source: expected.policies.get(PolicyKey::Rel04).level,
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

fn titles_where<'a>(details: &'a Details, policy: &str, result: Check) -> Vec<&'a str> {
    details
        .best_practices
        .iter()
        .filter(|c| c.result == result && (policy.is_empty() || c.policy == policy))
        .map(|c| c.title.as_str())
        .collect()
}

fn problems(expected: &Expected, details: &Details, applicable_ok: bool) -> Vec<String> {
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

fn ok_reason(expected: &Expected, details: &Details) -> String {
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

mod bounds;
pub use bounds::MAX_DETAILS_BYTES;

#[cfg(test)]
mod tests;
