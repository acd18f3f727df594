//! The decision table of one evaluation: from what was read, the [`Verdict`]
//! to write (or the next thing to read). Pure — no Tool, no database — so its
//! tests assert every branch without either; the evaluator does the reading and
//! hands each verdict to the store's one `apply`.

use crate::control::defer::Deferral;
use crate::control::{
    self, ControlState, Details, Expected, Mode, ObservedAnswer, Outcome, Plan, Verdict,
};
use crate::queue::Stored;
use crate::wellarchitected::{ErrorKind, WaError};

/// The reason of a removal because the lens is gone from the workload.
pub const LENS_NOT_APPLIED: &str = "The wellarchitected lens is not applied to the workload";
/// The reason of a removal because the workload is gone.
pub const WORKLOAD_GONE: &str = "The workload no longer exists";

/// The reason of a removal because `lens` is gone from the workload.
pub fn lens_not_applied(lens: &str) -> String {
    if lens == crate::control::policy::LENS_ALIAS {
        LENS_NOT_APPLIED.to_owned()
    } else {
        format!("The lens {lens} is not applied to the workload")
    }
}

/// A described workload without `lens`, whose control its sweep's page read
/// as `stored`: nothing to do when that read showed no active control;
/// otherwise the control (as it is now) is removed.
pub fn without_lens(stored: &Stored, lens: &str) -> Verdict {
    match stored {
        Stored::Absent => Verdict::Ignore,
        Stored::Control(control) if control.is_removed() => Verdict::Ignore,
        Stored::Controls(controls) if controls.iter().all(|c| c.is_removed()) => Verdict::Ignore,
        Stored::Control(_) | Stored::Controls(_) | Stored::Unread => {
            Verdict::remove(lens_not_applied(lens))
        }
    }
}

/// What the policies say before the answer is read.
#[derive(Clone, Debug, PartialEq)]
// One per evaluation, moved once: boxing the verdict would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Planned {
    /// They decide on their own (`skipped`, `invalid`): record that.
    Apply(Verdict),
    /// Read the answer and check it against this.
    Check(Expected),
}

pub fn of_plan(plan: Plan) -> Planned {
    match plan {
        Plan::Decided(outcome) => Planned::Apply(Verdict::record(outcome)),
        Plan::Check(expected) => Planned::Check(expected),
    }
}

/// What reading the answer says.
#[derive(Clone, Debug, PartialEq)]
pub enum Answered {
    /// Record this (the judgement, or the error reading it).
    Apply(Verdict),
    /// The answer is wrong and the mode is Enforce: record this alarm, then
    /// write the answer (see `Reconciler::enforce`).
    Enforce {
        observed: ObservedAnswer,
        alarm: Outcome,
    },
    /// Not found, although the workload was listed with the lens: describe it
    /// again to tell a removal from a question missing from the lens
    /// ([`of_redescribed`]).
    NotFound(WaError),
}

pub fn of_answer(expected: &Expected, read: Result<ObservedAnswer, WaError>) -> Answered {
    let observed = match read {
        Ok(observed) => observed,
        Err(error) if error.kind == ErrorKind::NotFound => return Answered::NotFound(error),
        Err(error) => {
            let outcome = control::unreadable(expected, &error.to_string());
            return Answered::Apply(Verdict::record(outcome));
        }
    };
    let outcome = control::judge(expected, &observed);
    if expected.mode == Mode::Enforce && outcome.state == ControlState::Alarm {
        return Answered::Enforce {
            observed,
            alarm: outcome,
        };
    }
    Answered::Apply(Verdict::record(outcome))
}

/// After a "not found" answer (`error`), the workload described again: it still
/// has the lens (the question is missing from it: an error, not a removal), or
/// it has lost it since.
pub fn of_redescribed(expected: &Expected, error: &WaError, has_lens: bool) -> Verdict {
    if has_lens {
        let message = format!("the question is not in the lens: {error}");
        Verdict::record(control::unreadable(expected, &message))
    } else {
        Verdict::remove(lens_not_applied(&expected.policies.control().lens))
    }
}

/// A workload that cannot be described: gone (its control is removed), or out
/// of reach (its control, if it has one, is in `error`).
pub fn of_undescribable(error: &WaError) -> Verdict {
    if error.kind == ErrorKind::NotFound {
        return Verdict::remove(WORKLOAD_GONE);
    }
    Verdict::record(Outcome {
        state: ControlState::Error,
        reason: format!("Could not describe the workload: {error}"),
        details: Details {
            error: Some(error.to_string()),
            ..Details::default()
        },
    })
}

/// Whether Enforce goes on to write the answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Enforcing {
    /// Write it (recording this alarm first, unless already settled there).
    Write(Outcome),
    /// Write nothing; record this.
    Hold(Verdict),
}

/// Before Enforce writes (with `enforce.defer_after_human_change` set): a
/// recent change by someone else defers it, the alarm saying until when; not
/// being able to tell (`Err`) holds it back as an error.
pub fn before_enforce(
    expected: &Expected,
    alarm: Outcome,
    deferral: Result<Option<Deferral>, String>,
) -> Enforcing {
    match deferral {
        Ok(None) => Enforcing::Write(alarm),
        Ok(Some(deferral)) => Enforcing::Hold(Verdict::record(Outcome {
            reason: deferral.reason(&alarm.reason),
            ..alarm
        })),
        Err(error) => {
            let message = format!(
                "enforce held back: cannot tell whether someone else just changed the answer: {error}"
            );
            Enforcing::Hold(Verdict::record(control::unreadable(expected, &message)))
        }
    }
}

/// The answer read back after Enforce wrote it: `ok` if it now matches, else
/// `error` (a write the Tool took but does not show is not a success).
pub fn of_read_back(expected: &Expected, read: Result<&ObservedAnswer, &WaError>) -> Outcome {
    let after = match read {
        Ok(after) => after,
        Err(error) => {
            let message = format!("read-back after enforce failed: {error}");
            return control::unreadable(expected, &message);
        }
    };
    let mut judged = control::judge(expected, after);
    if judged.state != ControlState::Ok {
        judged.state = ControlState::Error;
        judged.reason = format!(
            "Enforced, but the answer still does not match: {}",
            judged.reason
        );
    }
    judged
}

#[cfg(test)]
mod tests;
