//! The one seam where an evaluation's decision becomes writes.
//!
//! [`Store::apply`] takes a [`Verdict`] and owns everything it implies: creating
//! or reviving the control, the version-checked update, the transition (with its
//! mute handling, outbox row and Security Hub finding, in the same transaction),
//! the lens review's status (`lens_status`, written with the row when it
//! changed) and, when nothing but the time changed, the batched `evaluated_at`.

use anyhow::Context;
use chrono::Utc;

use super::Store;
use super::key::ControlKey;
use super::rows::{ControlRow, TransitionRow};
use super::write::{Recording, Written};
use crate::control::{ControlState, Verdict};
use crate::workload::{Trigger, Workload};

/// A control as the evaluator holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Known {
    /// In the database, as last read (its `version` is what the write checks).
    Saved(Box<ControlRow>),
    /// Not in the database yet: its sweep's page read showed none. A verdict to
    /// record creates it, in the same transaction.
    New,
}

impl Known {
    /// The control as read, if it is in the database.
    pub fn saved(&self) -> Option<&ControlRow> {
        match self {
            Known::Saved(control) => Some(control),
            Known::New => None,
        }
    }
}

/// What a verdict is about: the workload, the scan that saw it, the cause, and
/// the status of the workload's review of the control's lens when it was read.
#[derive(Clone, Copy, Debug)]
pub struct Evaluation<'a> {
    pub workload: &'a Workload,
    pub scanned_by: &'a str,
    pub trigger: &'a Trigger,
    /// `LensStatus` as read (`None`: not known, the row keeps what it has). A
    /// recorded verdict writes it with the control, in the same statement.
    pub lens_status: Option<&'a str>,
}

/// What applying a verdict did.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// The outcome is recorded; the control is in this state.
    Recorded(ControlState),
    /// The control is (now) removed.
    Removed,
    /// Nothing was written: no active control to remove, or nothing to do.
    Ignored,
    /// Nothing was written: another replica holds the control.
    Busy,
    /// Nothing was written: someone else wrote the control since it was read
    /// (or created it meanwhile); their result stands.
    Conflict,
}

/// The effect of [`Store::apply`] and the transitions it committed, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub effect: Effect,
    pub transitions: Vec<TransitionRow>,
}

impl Applied {
    fn only(effect: Effect) -> Self {
        Applied {
            effect,
            transitions: Vec::new(),
        }
    }

    fn of(effect: Effect, written: Written) -> Self {
        match written {
            Written::Conflict => Applied::only(Effect::Conflict),
            Written::Unchanged => Applied::only(effect),
            Written::Transition(transition) => Applied {
                effect,
                transitions: vec![*transition],
            },
        }
    }
}

impl Store {
    /// Writes `verdict` about `control`: the one way an evaluation changes a
    /// control. A control in the database is written only if its version is
    /// still the one read; a [`Known::New`] control is created with the verdict
    /// it is recorded with (a removal of one that does not exist writes nothing).
    ///
    /// A [`Known::New`] control is REL 04's of the workload; [`Store::apply_of`]
    /// names any.
    pub async fn apply(
        &self,
        control: &Known,
        verdict: Verdict,
        on: &Evaluation<'_>,
    ) -> anyhow::Result<Applied> {
        let key = match control.saved() {
            Some(saved) => saved.key(),
            None => ControlKey::rel04(&on.workload.arn),
        };
        self.apply_of(&key, crate::control::CONTROL_TYPE, control, verdict, on)
            .await
    }

    /// [`Store::apply`] to the control `key` (which a [`Known::New`] control is
    /// created as, of `control_type`; a saved one is written by its own key).
    pub async fn apply_of(
        &self,
        key: &ControlKey,
        control_type: &str,
        control: &Known,
        verdict: Verdict,
        on: &Evaluation<'_>,
    ) -> anyhow::Result<Applied> {
        debug_assert!(control.saved().is_none_or(|saved| saved.key() == *key));
        let at = Utc::now();
        match verdict {
            Verdict::Ignore => Ok(Applied::only(Effect::Ignored)),
            Verdict::Busy => Ok(Applied::only(Effect::Busy)),
            Verdict::Remove { reason } => match control.saved() {
                Some(control) if !control.is_removed() => {
                    let written = self.remove(control, &reason, on.trigger, at).await?;
                    Ok(Applied::of(Effect::Removed, written))
                }
                _ => Ok(Applied::only(Effect::Ignored)),
            },
            Verdict::Record { outcome, enforced } => {
                let details =
                    serde_json::to_value(outcome.details.bounded()).context("serialize details")?;
                let recording = Recording {
                    workload: on.workload,
                    scanned_by: on.scanned_by,
                    state: outcome.state,
                    reason: &outcome.reason,
                    details: &details,
                    trigger: on.trigger,
                    enforced: enforced.as_deref(),
                    lens_status: on.lens_status,
                    at,
                };
                let recorded = Effect::Recorded(outcome.state);
                match control {
                    Known::Saved(control) => {
                        let written = self.record(control, &recording).await?;
                        Ok(Applied::of(recorded, written))
                    }
                    Known::New => match self
                        .create_and_record_of(key, control_type, &recording)
                        .await?
                    {
                        Some((opened, written)) => {
                            let mut applied = Applied::of(recorded, written);
                            applied.transitions.insert(0, opened);
                            Ok(applied)
                        }
                        // Another replica's sweep created it, and records it.
                        None => Ok(Applied::only(Effect::Conflict)),
                    },
                }
            }
        }
    }
}
