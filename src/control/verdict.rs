//! What one evaluation decided, before anything is written: the value the
//! evaluator's decision table returns and the store's one `apply` writes.

use super::Outcome;

/// The decision of one evaluation of a control.
// One per evaluation, moved once into `apply`: boxing the outcome would only
// add an allocation to every evaluation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Record this outcome (creating or reviving the control if need be);
    /// `enforced`: the choices rel04d just wrote to the answer, if it did.
    Record {
        outcome: Outcome,
        enforced: Option<Vec<String>>,
    },
    /// The workload or its lens is gone: mark the control removed, saying why.
    Remove { reason: String },
    /// Nothing to write: no active control, and none is due.
    Ignore,
    /// Another replica is evaluating this control now; its result will stand.
    Busy,
}

impl Verdict {
    /// Record `outcome`, with nothing enforced.
    pub fn record(outcome: Outcome) -> Self {
        Verdict::Record {
            outcome,
            enforced: None,
        }
    }

    pub fn remove(reason: impl Into<String>) -> Self {
        Verdict::Remove {
            reason: reason.into(),
        }
    }
}
