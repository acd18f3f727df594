//! `rel04d enforce --plan` and the GraphQL `enforcePlan`: what Enforce would
//! write to one workload's answer, without writing it.

use serde::Serialize;

use super::answer::{ChoiceStatus, ObservedAnswer};
use super::defer::Deferral;
use super::enforce::plan_update;
use super::evaluate::Plan;
use super::policy::Mode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Enforce would write the changes listed.
    WouldWrite,
    /// The answer already matches: nothing to write.
    Matches,
    /// The changes listed wait for someone else's recent change to age
    /// (`enforce.defer_after_human_change`).
    Deferred,
    /// The policies do not ask to enforce (Check mode, Skip, or invalid).
    NotEnforced,
    /// The answer could not be read.
    Unreadable,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::WouldWrite => "would_write",
            PlanStatus::Matches => "matches",
            PlanStatus::Deferred => "deferred",
            PlanStatus::NotEnforced => "not_enforced",
            PlanStatus::Unreadable => "unreadable",
        }
    }
}

/// What Enforce would do to one answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EnforcePlan {
    pub status: PlanStatus,
    /// Choice ids Enforce would select.
    pub select: Vec<String>,
    /// Choice ids Enforce would unselect.
    pub unselect: Vec<String>,
    /// `IsApplicable` as Enforce would set it, when it changes.
    pub set_applicable: Option<bool>,
    /// RFC 3339, when `Deferred`.
    pub deferred_until: Option<String>,
    /// Why, in words.
    pub note: String,
}

impl EnforcePlan {
    /// A plan that writes nothing, for `status`, with why.
    pub fn nothing(status: PlanStatus, note: impl Into<String>) -> Self {
        EnforcePlan {
            status,
            select: Vec::new(),
            unselect: Vec::new(),
            set_applicable: None,
            deferred_until: None,
            note: note.into(),
        }
    }
}

/// The plan for `plan` (the policies' verdict) against `observed` (the answer,
/// or why it could not be read), given any deferral in force.
pub fn enforce_plan(
    plan: &Plan,
    observed: Result<&ObservedAnswer, &str>,
    deferral: Option<Deferral>,
) -> EnforcePlan {
    let expected = match plan {
        Plan::Decided(outcome) => {
            return EnforcePlan::nothing(
                PlanStatus::NotEnforced,
                format!(
                    "the policies decide the state ({}): {}",
                    outcome.state, outcome.reason
                ),
            );
        }
        Plan::Check(expected) if expected.mode == Mode::Check => {
            return EnforcePlan::nothing(PlanStatus::NotEnforced, "rel04 is in Check mode");
        }
        Plan::Check(expected) => expected,
    };
    let observed = match observed {
        Ok(observed) => observed,
        Err(why) => return EnforcePlan::nothing(PlanStatus::Unreadable, why),
    };
    let Some(update) = plan_update(expected, observed) else {
        return EnforcePlan::nothing(PlanStatus::Matches, "the answer matches the policies");
    };
    let with = |status: ChoiceStatus| -> Vec<String> {
        update
            .choice_updates
            .iter()
            .filter(|(_, s)| **s == status)
            .map(|(id, _)| id.clone())
            .collect()
    };
    let (status, deferred_until, note) = match deferral {
        Some(d) => (
            PlanStatus::Deferred,
            Some(d.resumes_at.to_rfc3339()),
            d.reason("Enforce would write these changes"),
        ),
        None => (PlanStatus::WouldWrite, None, update.changes.join("; ")),
    };
    EnforcePlan {
        status,
        select: with(ChoiceStatus::Selected),
        unselect: with(ChoiceStatus::Unselected),
        set_applicable: update.is_applicable,
        deferred_until,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::evaluate::plan;
    use crate::control::testing::{answer, policies};
    use chrono::{DateTime, Duration, Utc};

    const ENFORCE: (&str, &str) = ("rel04", "Enforce: Choices based on sub policies");

    #[test]
    fn lists_the_choices_enforce_would_select_and_unselect() {
        let plan = plan(policies(&[
            ENFORCE,
            ("identify", "True"),
            ("loosely_coupled", "False"),
        ]));
        let observed = answer(true, &["loosely_coupled", "no"], &[]);
        let got = enforce_plan(&plan, Ok(&observed), None);
        assert_eq!(got.status, PlanStatus::WouldWrite);
        assert_eq!(got.select, ["rel_prevent_interaction_failure_identify"]);
        assert_eq!(
            got.unselect,
            [
                "rel_prevent_interaction_failure_loosely_coupled_system",
                "rel_prevent_interaction_failure_no"
            ]
        );
        assert_eq!(got.set_applicable, None);
    }

    #[test]
    fn a_matching_answer_or_check_mode_writes_nothing() {
        let enforce = plan(policies(&[ENFORCE, ("identify", "True")]));
        let observed = answer(true, &["identify"], &[]);
        assert_eq!(
            enforce_plan(&enforce, Ok(&observed), None).status,
            PlanStatus::Matches
        );
        let check = plan(policies(&[
            ("rel04", "Check: Choices based on sub policies"),
            ("identify", "True"),
        ]));
        let mismatch = answer(true, &[], &[]);
        let got = enforce_plan(&check, Ok(&mismatch), None);
        assert_eq!((got.status, got.select.len()), (PlanStatus::NotEnforced, 0));
    }

    #[test]
    fn a_deferral_keeps_the_changes_and_says_until_when() {
        let enforce = plan(policies(&[ENFORCE, ("identify", "True")]));
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let deferral = Deferral {
            changed_at: at,
            resumes_at: at + Duration::hours(24),
        };
        let got = enforce_plan(&enforce, Ok(&answer(true, &[], &[])), Some(deferral));
        assert_eq!(got.status, PlanStatus::Deferred);
        assert_eq!(got.select, ["rel_prevent_interaction_failure_identify"]);
        assert_eq!(
            got.deferred_until.as_deref(),
            Some("1970-01-02T00:00:00+00:00")
        );
    }

    #[test]
    fn an_unreadable_answer_is_said_so() {
        let enforce = plan(policies(&[ENFORCE, ("identify", "True")]));
        let got = enforce_plan(&enforce, Err("GetAnswer failed: throttled"), None);
        assert_eq!(got.status, PlanStatus::Unreadable);
        assert!(got.note.contains("throttled"));
    }
}
