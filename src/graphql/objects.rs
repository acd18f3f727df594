//! The objects of rel04d's own dialect (`workloadId`, `fromState`, …) with the
//! Guardrails-shaped fields of a control (`turbot`, `type`, `resource`) beside
//! them (see [`super::turbot`]).

use async_graphql::{Context, Json, Object, SimpleObject};
use chrono::Utc;

use super::internal;
use super::limits::DOCUMENT;
use super::turbot::{ControlTurbot, ControlType, Resource};
use crate::control::PolicySet;
use crate::explain::{self, PolicyExplanation};
use crate::store::{ControlRow, MuteEvent, Store, TransitionRow};

#[derive(SimpleObject)]
pub struct Workload {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
}

#[derive(SimpleObject)]
pub struct Mute {
    pub since: String,
    pub until: Option<String>,
    pub until_state: Option<String>,
    pub by: String,
    pub reason: String,
    /// Guardrails' name of `reason`.
    pub note: String,
    /// Guardrails' name of `until`.
    pub to_timestamp: Option<String>,
    /// Guardrails' name of `untilState`, as a list.
    pub until_states: Vec<String>,
}

impl From<crate::store::Mute> for Mute {
    fn from(m: crate::store::Mute) -> Self {
        Mute {
            note: m.reason.clone(),
            to_timestamp: m.until.clone(),
            until_states: m.until_state.iter().cloned().collect(),
            since: m.since,
            until: m.until,
            until_state: m.until_state,
            by: m.by,
            reason: m.reason,
        }
    }
}

#[derive(SimpleObject)]
pub struct PassedOver {
    pub value: String,
    pub level: String,
    pub origin: String,
    pub why: String,
}

/// A policy's value for a workload, the level and setting that supplied it, and
/// the settings passed over on the way.
#[derive(SimpleObject)]
pub struct PolicyValue {
    pub key: String,
    pub value: String,
    pub level: String,
    pub origin: String,
    pub passed_over: Vec<PassedOver>,
    pub last_evaluated_value: Option<String>,
    /// A calculated value's template, input digest (`$`) and output, from the last evaluation.
    pub calculation: Option<Json<crate::control::CalculationTrace>>,
    /// Why the setting that supplied the value exists, its ticket and its owner.
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub owner: Option<String>,
    /// When the setting that supplied the value expires (RFC 3339), if it does.
    pub expires: Option<String>,
}

impl From<PolicyExplanation> for PolicyValue {
    fn from(p: PolicyExplanation) -> Self {
        PolicyValue {
            key: p.key.as_str().to_owned(),
            value: p.value,
            level: p.level.as_str().to_owned(),
            origin: p.origin,
            passed_over: p
                .passed_over
                .into_iter()
                .map(|s| PassedOver {
                    value: s.value,
                    level: s.level.as_str().to_owned(),
                    origin: s.origin,
                    why: s.why,
                })
                .collect(),
            last_evaluated_value: p.last_evaluated_value,
            calculation: p.calculation.map(Json),
            reason: p.accountability.as_ref().and_then(|a| a.reason.clone()),
            ticket: p.accountability.as_ref().and_then(|a| a.ticket.clone()),
            owner: p.accountability.and_then(|a| a.owner),
            expires: p.expires,
        }
    }
}

#[derive(SimpleObject)]
pub struct MuteChange {
    pub action: String,
    pub until: Option<String>,
    pub until_state: Option<String>,
    pub actor: String,
    pub reason: String,
    pub occurred_at: String,
}

impl From<MuteEvent> for MuteChange {
    fn from(m: MuteEvent) -> Self {
        MuteChange {
            action: m.action,
            until: m.until,
            until_state: m.until_state,
            actor: m.actor,
            reason: m.reason,
            occurred_at: m.occurred_at,
        }
    }
}

/// Why a control is in its state.
#[derive(SimpleObject)]
pub struct Explanation {
    pub workload: Workload,
    pub state: String,
    pub reason: String,
    pub evaluated_at: Option<String>,
    pub muted: bool,
    pub policies: Vec<PolicyValue>,
    /// IsApplicable, Risk and lens of the answer as last read.
    pub question: Json<serde_json::Value>,
    /// Per best practice: policy, observed status and verdict.
    pub best_practices: Json<serde_json::Value>,
    pub none_of_these: Json<serde_json::Value>,
}

pub struct Control(pub ControlRow);

#[Object(serial)]
impl Control {
    async fn workload_id(&self) -> &str {
        &self.0.workload_id
    }
    async fn workload_arn(&self) -> &str {
        &self.0.workload_arn
    }
    async fn workload_name(&self) -> &str {
        &self.0.workload_name
    }
    async fn account_id(&self) -> &str {
        &self.0.account_id
    }
    async fn region(&self) -> &str {
        &self.0.region
    }
    async fn workload(&self) -> Workload {
        Workload {
            id: self.0.workload_id.clone(),
            arn: self.0.workload_arn.clone(),
            name: self.0.workload_name.clone(),
            account: self.0.account_id.clone(),
            region: self.0.region.clone(),
        }
    }
    async fn control_type(&self) -> &str {
        &self.0.control_type
    }
    /// The lens as configured (the alias `wellarchitected` or a lens ARN); with
    /// `workloadArn` and `questionId`, the control's identity.
    async fn lens(&self) -> &str {
        &self.0.lens
    }
    /// The Tool's QuestionId of the question the control is about.
    async fn question_id(&self) -> &str {
        &self.0.question_id
    }
    /// The lens review's LensStatus as last read (CURRENT, NOT_CURRENT,
    /// DEPRECATED, DELETED, UNSHARED); null until read.
    async fn lens_status(&self) -> Option<&str> {
        self.0.lens_status.as_deref()
    }
    /// Guardrails: the control's id (REL 04's: its workload's id; any other
    /// question's: `<workload id>/<lens>/<question id>`), resource and timestamps.
    async fn turbot(&self) -> ControlTurbot {
        ControlTurbot::of(&self.0)
    }
    /// Guardrails: the control type, its URI and its place in the catalogue.
    /// Built from the row, so it costs one field whatever it selects.
    #[graphql(name = "type", complexity = 1)]
    async fn type_(&self) -> ControlType {
        ControlType::of(&self.0.lens, &self.0.question_id, &self.0.control_type)
    }
    /// Guardrails: the workload the control is on.
    async fn resource(&self) -> Resource {
        Resource::of_control(&self.0)
    }
    /// The Guardrails control type URI.
    async fn control_type_id(&self) -> String {
        super::turbot::type_uri(&self.0.lens, &self.0.control_type)
    }
    async fn state(&self) -> &str {
        self.0.state.as_str()
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    #[graphql(complexity = "DOCUMENT")]
    async fn details(&self) -> Json<serde_json::Value> {
        Json(self.0.details.value())
    }
    async fn created_at(&self) -> &str {
        &self.0.created_at
    }
    async fn updated_at(&self) -> &str {
        &self.0.updated_at
    }
    async fn evaluated_at(&self) -> Option<&str> {
        self.0.evaluated_at.as_deref()
    }
    async fn removed_at(&self) -> Option<&str> {
        self.0.removed_at.as_deref()
    }
    /// A mute is in force now.
    async fn muted(&self) -> bool {
        self.0.muted
    }
    /// The latest mute, also when expired.
    async fn mute(&self) -> Option<Mute> {
        self.0.mute.clone().map(Mute::from)
    }
    #[graphql(complexity = "DOCUMENT + DOCUMENT * child_complexity")]
    async fn mute_history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MuteChange>> {
        let store = ctx.data::<Store>()?;
        let history = store
            .mute_history_of(&self.0.key())
            .await
            .map_err(internal)?;
        Ok(history.into_iter().map(MuteChange::from).collect())
    }
    /// The control's policies (REL 04's five; any other question's question
    /// policy and the best-practice policies set for it) as they resolve now.
    #[graphql(complexity = "5 + 5 * child_complexity")]
    pub async fn policy_values(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<PolicyValue>> {
        let policies = ctx.data::<PolicySet>()?;
        let definition = super::definition(ctx, &self.0)?;
        Ok(
            explain::policy_values(&definition, &self.0, policies, Utc::now())
                .into_iter()
                .map(PolicyValue::from)
                .collect(),
        )
    }
    /// What Enforce would select and unselect in this answer, judged on the
    /// answer as last read and the policies as they resolve now.
    async fn enforce_plan(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<super::plan::EnforcePlanView> {
        let policies = ctx.data::<PolicySet>()?;
        let definition = super::definition(ctx, &self.0)?;
        let plan = explain::plan::stored_enforce_plan(&definition, &self.0, policies, Utc::now());
        Ok(super::plan::EnforcePlanView::new(
            plan,
            self.0.evaluated_at.clone(),
        ))
    }
}

pub struct Transition(pub TransitionRow);

#[Object(serial)]
impl Transition {
    async fn id(&self) -> i64 {
        self.0.id
    }
    async fn workload_id(&self) -> &str {
        &self.0.workload_id
    }
    async fn workload_arn(&self) -> &str {
        &self.0.workload_arn
    }
    async fn account_id(&self) -> &str {
        &self.0.account_id
    }
    async fn region(&self) -> &str {
        &self.0.region
    }
    async fn control_type(&self) -> &str {
        &self.0.control_type
    }
    /// The lens of the transition's control (alias or lens ARN).
    async fn lens(&self) -> &str {
        &self.0.lens
    }
    /// The question of the transition's control (the Tool's QuestionId).
    async fn question_id(&self) -> &str {
        &self.0.question_id
    }
    async fn from_state(&self) -> Option<&str> {
        self.0.from_state.as_deref()
    }
    async fn to_state(&self) -> &str {
        &self.0.to_state
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    #[graphql(complexity = "DOCUMENT")]
    async fn details(&self) -> Json<&serde_json::Value> {
        Json(&self.0.details)
    }
    async fn trigger(&self) -> &str {
        &self.0.trigger
    }
    async fn event_id(&self) -> Option<&str> {
        self.0.event_id.as_deref()
    }
    async fn action(&self) -> Option<&str> {
        self.0.action.as_deref()
    }
    #[graphql(complexity = "DOCUMENT")]
    async fn changes(&self) -> Option<Json<&serde_json::Value>> {
        self.0.changes.as_ref().map(Json)
    }
    async fn muted(&self) -> bool {
        self.0.muted
    }
    async fn occurred_at(&self) -> &str {
        &self.0.occurred_at
    }
}
