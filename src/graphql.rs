//! GraphQL over the state database, as Guardrails users reach controls:
//! `controls(filter)`, `control(workloadId)`, `transitions(filter)`,
//! `policyValues(workloadId)` and `explain(workloadId)`. Filters are the same
//! grammar, parser and query builder as `rel04d controls` — one of each.
//!
//! Costs are bounded per request (see [`limits`]). Objects with fields that wait
//! on the database resolve serially: async-graphql puts the fields of a parallel
//! object into the response in completion order, which put aliases out of query
//! order. The root is always parallel; [`execute`] reorders it.

pub mod limits;
mod order;
mod plan;

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, ErrorExtensions, Json, Object, Schema, SimpleObject,
};
use chrono::Utc;

use crate::control::PolicySet;
use crate::explain::{self, PolicyExplanation};
use crate::filter::{Filter, GUARDRAILS_CONTROL_TYPE};
use crate::store::{ControlRow, MuteEvent, Store, TransitionRow};
use limits::{DOCUMENT, RegexBudget};

pub type Rel04Schema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Items per page when the filter sets no `limit:`, and at most: per-item fields
/// (policy values, mute history) cost a query each, so pages are bounded; `after`
/// walks the rest.
pub const MAX_PAGE: u32 = 1000;

/// The schema, reading `store` and resolving policies with `policies`.
pub fn schema(store: Store, policies: PolicySet) -> Rel04Schema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(store)
        .data(policies)
        .limit_depth(12)
        // List fields cost their page size times their selection, and per-item
        // resolvers (mute history) a query each: bound what one request may ask for.
        .limit_complexity(limits::MAX_COMPLEXITY)
        .finish()
}

/// Executes `request`, with the response's top-level keys in query order.
pub async fn execute(
    schema: &Rel04Schema,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let (query, operation) = (request.query.clone(), request.operation_name.clone());
    let mut response = schema.execute(request).await;
    if let Some(keys) = order::root_keys(&query, operation.as_deref()) {
        order::reorder(&mut response.data, &keys);
    }
    response
}

fn bad_filter(error: impl std::fmt::Display) -> async_graphql::Error {
    async_graphql::Error::new(error.to_string()).extend_with(|_, e| e.set("code", "BAD_FILTER"))
}

fn internal(error: anyhow::Error) -> async_graphql::Error {
    // Query errors from a filter that parses but does not fit (e.g. a sort field)
    // are the caller's; anything else is ours.
    match error.downcast_ref::<crate::store::QueryError>() {
        Some(query) => bad_filter(query),
        None => async_graphql::Error::new(format!("{error:#}"))
            .extend_with(|_, e| e.set("code", "INTERNAL")),
    }
}

/// Parses a filter and a cursor into the filter to run (one extra row, to learn
/// whether there is a next page), the page size and the offset. Regexes are
/// counted against the request's budget before they are compiled, and compiled on
/// a blocking thread: even bounded, compilation is CPU the async workers owe to
/// other requests (and `/healthz`).
async fn page(
    ctx: &Context<'_>,
    filter: Option<String>,
    after: Option<&str>,
) -> async_graphql::Result<(Filter, usize, usize)> {
    let text = filter.unwrap_or_default();
    if let Some(budget) = ctx.data_opt::<RegexBudget>() {
        budget
            .spend(Filter::count_regexes(&text))
            .map_err(bad_filter)?;
    }
    let parsed = tokio::task::spawn_blocking(move || Filter::parse(&text))
        .await
        .map_err(|e| internal(anyhow::anyhow!("filter parsing failed: {e}")))?;
    let mut filter = parsed.map_err(|e| {
        bad_filter(&e).extend_with(|_, x| {
            x.set("position", e.position);
            x.set("term", e.term.clone());
        })
    })?;
    let offset = match after {
        None => 0,
        Some(cursor) => limits::parse_cursor(cursor).map_err(bad_filter)?,
    };
    let limit = filter.limit.unwrap_or(MAX_PAGE).min(MAX_PAGE) as usize;
    filter.limit = Some(limit as u32 + 1);
    Ok((filter, limit, offset))
}

/// Where the next page starts, if there is one.
#[derive(SimpleObject)]
pub struct Paging {
    /// Pass as `after` for the next page; null on the last page.
    pub next: Option<String>,
    pub limit: i32,
}

fn paged<T>(mut rows: Vec<T>, limit: usize, offset: usize) -> (Vec<T>, Paging) {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more.then(|| format!("{:x}", offset + limit));
    (
        rows,
        Paging {
            next,
            limit: limit as i32,
        },
    )
}

#[derive(SimpleObject)]
pub struct ControlPage {
    pub items: Vec<Control>,
    pub paging: Paging,
}

#[derive(SimpleObject)]
pub struct TransitionPage {
    pub items: Vec<Transition>,
    pub paging: Paging,
}

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

pub struct Control(ControlRow);

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
    /// The Guardrails control type URI.
    async fn control_type_id(&self) -> &str {
        GUARDRAILS_CONTROL_TYPE
    }
    async fn state(&self) -> &str {
        self.0.state.as_str()
    }
    async fn reason(&self) -> &str {
        &self.0.reason
    }
    #[graphql(complexity = "DOCUMENT")]
    async fn details(&self) -> Json<&serde_json::Value> {
        Json(&self.0.details)
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
        self.0.mute.clone().map(|m| Mute {
            since: m.since,
            until: m.until,
            until_state: m.until_state,
            by: m.by,
            reason: m.reason,
        })
    }
    #[graphql(complexity = "DOCUMENT + DOCUMENT * child_complexity")]
    async fn mute_history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MuteChange>> {
        let store = ctx.data::<Store>()?;
        let history = store
            .mute_history(&self.0.workload_arn)
            .await
            .map_err(internal)?;
        Ok(history.into_iter().map(MuteChange::from).collect())
    }
    /// The five policies as they resolve for this workload now.
    #[graphql(complexity = "5 + 5 * child_complexity")]
    async fn policy_values(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PolicyValue>> {
        let policies = ctx.data::<PolicySet>()?;
        Ok(explain::policy_values(&self.0, policies, Utc::now())
            .into_iter()
            .map(PolicyValue::from)
            .collect())
    }
    /// What Enforce would select and unselect in this answer, judged on the
    /// answer as last read and the policies as they resolve now.
    async fn enforce_plan(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<plan::EnforcePlanView> {
        let policies = ctx.data::<PolicySet>()?;
        let plan = explain::plan::stored_enforce_plan(&self.0, policies, Utc::now());
        Ok(plan::EnforcePlanView::new(
            plan,
            self.0.evaluated_at.clone(),
        ))
    }
}

pub struct Transition(TransitionRow);

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

pub struct Query;

#[Object(serial)]
impl Query {
    /// Controls matching `filter` (the `rel04d controls` grammar), one page at a time.
    #[graphql(complexity = "limits::page_cost(filter.as_deref(), child_complexity)")]
    async fn controls(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        after: Option<String>,
    ) -> async_graphql::Result<ControlPage> {
        let (filter, limit, offset) = page(ctx, filter, after.as_deref()).await?;
        let rows = ctx
            .data::<Store>()?
            .list_controls_from(&filter, offset)
            .await
            .map_err(internal)?;
        let (rows, paging) = paged(rows, limit, offset);
        Ok(ControlPage {
            items: rows.into_iter().map(Control).collect(),
            paging,
        })
    }

    /// The control of one workload (removed ones included).
    async fn control(
        &self,
        ctx: &Context<'_>,
        workload_id: String,
    ) -> async_graphql::Result<Option<Control>> {
        let store = ctx.data::<Store>()?;
        Ok(store
            .control_by_workload_id(&workload_id)
            .await
            .map_err(internal)?
            .map(Control))
    }

    /// Transitions matching `filter`, newest first unless sorted otherwise.
    #[graphql(complexity = "limits::page_cost(filter.as_deref(), child_complexity)")]
    async fn transitions(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        after: Option<String>,
    ) -> async_graphql::Result<TransitionPage> {
        let (filter, limit, offset) = page(ctx, filter, after.as_deref()).await?;
        let rows = ctx
            .data::<Store>()?
            .list_transitions_from(&filter, offset)
            .await
            .map_err(internal)?;
        let (rows, paging) = paged(rows, limit, offset);
        Ok(TransitionPage {
            items: rows.into_iter().map(Transition).collect(),
            paging,
        })
    }

    /// The five policies as they resolve for a workload now.
    #[graphql(complexity = "5 + 5 * child_complexity")]
    async fn policy_values(
        &self,
        ctx: &Context<'_>,
        workload_id: String,
    ) -> async_graphql::Result<Vec<PolicyValue>> {
        let Some(control) = self.control(ctx, workload_id).await? else {
            return Ok(Vec::new());
        };
        control.policy_values(ctx).await
    }

    /// Why a workload's control is in its state.
    #[graphql(complexity = "DOCUMENT * 3 + child_complexity")]
    async fn explain(
        &self,
        ctx: &Context<'_>,
        workload_id: String,
    ) -> async_graphql::Result<Option<Explanation>> {
        let store = ctx.data::<Store>()?;
        let Some(control) = store
            .control_by_workload_id(&workload_id)
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        let e = explain::explain(&control, ctx.data::<PolicySet>()?, Utc::now());
        Ok(Some(Explanation {
            workload: Workload {
                id: e.workload_id,
                arn: e.workload_arn,
                name: e.workload_name,
                account: e.account_id,
                region: e.region,
            },
            state: e.state,
            reason: e.reason,
            evaluated_at: e.evaluated_at,
            muted: e.muted,
            policies: e.policies.into_iter().map(PolicyValue::from).collect(),
            question: Json(e.question),
            best_practices: Json(e.best_practices),
            none_of_these: Json(e.none_of_these),
        }))
    }
}
