//! What Enforce would write, judged on the stored control: the answer as last
//! read (its `details`) and the policies as they resolve now. GraphQL's
//! `enforcePlan`; `rel04d enforce --plan` reads the Tool live instead.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{recorded_details, recorded_facts};
use crate::control::defer::Deferral;
use crate::control::enforce_plan::{EnforcePlan, enforce_plan};
use crate::control::{
    Calculated, ControlDef, Details, ObservedAnswer, PolicySet, plan, resolve_control,
};
use crate::store::ControlRow;

/// The answer as the last evaluation read it, if it read one.
fn answer_as_last_read(details: &Details) -> Option<ObservedAnswer> {
    let question = details.question.as_ref()?;
    let choices = details
        .best_practices
        .iter()
        .chain(&details.none_of_these)
        .filter_map(|c| Some((c.choice_id.clone(), c.observed?)))
        .collect();
    Some(ObservedAnswer {
        is_applicable: question.is_applicable,
        risk: question.risk.clone(),
        lens_arn: question.lens_arn.clone(),
        choices,
        titles: details
            .best_practices
            .iter()
            .chain(&details.none_of_these)
            .map(|c| (c.choice_id.clone(), c.title.clone()))
            .collect(),
        lens_status: details.lens_status.clone(),
    })
}

/// `definition` is the question `control` is about, as configured.
pub fn stored_enforce_plan(
    definition: &Arc<ControlDef>,
    control: &ControlRow,
    policies: &PolicySet,
    now: DateTime<Utc>,
) -> EnforcePlan {
    let details = recorded_details(control);
    let facts = recorded_facts(control, &details);
    let resolved = resolve_control(definition, policies, &facts, now, &Calculated::default());
    let plan = plan(resolved);
    let observed = answer_as_last_read(&details);
    let deferral = Deferral::from_reason(&control.reason).filter(|d| d.resumes_at > now);
    enforce_plan(
        &plan,
        observed.as_ref().ok_or("the answer has not been read yet"),
        deferral,
    )
}
