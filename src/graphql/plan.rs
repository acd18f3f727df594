//! `Control.enforcePlan`: what Enforce would write, from the stored control.

use async_graphql::SimpleObject;

use crate::control::enforce_plan::EnforcePlan;

/// What Enforce would write to this answer: judged on the answer as last read
/// (`answerReadAt`) and the policies as they resolve now. `rel04d enforce --plan`
/// reads the Tool live instead.
#[derive(SimpleObject)]
pub struct EnforcePlanView {
    /// would_write, matches, deferred, not_enforced or unreadable.
    pub status: String,
    /// Choice ids Enforce would select.
    pub select: Vec<String>,
    /// Choice ids Enforce would unselect.
    pub unselect: Vec<String>,
    /// IsApplicable as Enforce would set it, when it changes.
    pub set_applicable: Option<bool>,
    /// When enforcement resumes (RFC 3339), for `deferred`.
    pub deferred_until: Option<String>,
    pub note: String,
    /// When the answer this plan is judged on was read (the control's evaluatedAt).
    pub answer_read_at: Option<String>,
}

impl EnforcePlanView {
    pub fn new(plan: EnforcePlan, answer_read_at: Option<String>) -> Self {
        EnforcePlanView {
            status: plan.status.as_str().to_owned(),
            select: plan.select,
            unselect: plan.unselect,
            set_applicable: plan.set_applicable,
            deferred_until: plan.deferred_until,
            note: plan.note,
            answer_read_at,
        }
    }
}
