//! GraphQL over the state database, as Guardrails users reach controls. One
//! schema, two dialects side by side:
//!
//! - rel04d's own: `controls(filter)` items with `workloadId`, `state`, …,
//!   `control(workloadId, lens, questionId)`, `transitions(filter)`,
//!   `policyValues(workloadId, lens, questionId)` and
//!   `explain(workloadId, lens, questionId)` (without `lens` and `questionId`:
//!   REL 04's control);
//! - Guardrails': on the same `controls` items `turbot`, `type` and `resource`,
//!   `metadata { stats { total } }` and a `paging` argument; `resource(id)`,
//!   `notifications(filter)`, `controlSummariesByControlType(filter)`,
//!   `controlSummariesByResource(filter)` ([`guardrails`]); and the mutations
//!   `runControl`, `muteControl`, `unmuteControl` ([`mutation`]).
//!
//! Filters are the same grammar, parser and query builder as `rel04d controls` —
//! one of each.
//!
//! Costs are bounded per request (see [`limits`]), manual runs in flight per
//! caller and per daemon ([`runs`]). Objects with fields that wait
//! on the database resolve serially: async-graphql puts the fields of a parallel
//! object into the response in completion order, which put aliases out of query
//! order. The root is always parallel; [`execute`] reorders it.

pub mod budget;
mod catalogue;
pub mod control_id;
mod guardrails;
pub mod limits;
pub mod mutation;
mod notifications;
mod objects;
mod order;
mod paging;
mod plan;
pub mod runs;
mod summary;
pub mod turbot;

use std::sync::Arc;

use async_graphql::{
    Context, EmptySubscription, ErrorExtensions, Json, MergedObject, Object, Schema, SimpleObject,
};
use chrono::Utc;

use crate::config::controls::Controls;
use crate::control::{ControlDef, PolicySet};
use crate::explain;
use crate::filter::Filter;
use crate::store::{ControlRow, Store};
pub use guardrails::EvaluatedResource;
use limits::DOCUMENT;
pub use mutation::{Actor, Mutation, RunControl};
use objects::{Control, Explanation, PolicyValue, Transition, Workload};
pub use paging::{Cursor, Paging};
use paging::{fetch_page, fetch_transitions, paged, parse_filter, unpaged};
pub use runs::Caller;
use turbot::Metadata;

pub type Rel04Schema = Schema<Root, Mutation, EmptySubscription>;

/// The query root: rel04d's own fields and Guardrails' side by side.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Root(
    Query,
    guardrails::GuardrailsQuery,
    catalogue::CatalogueQuery,
);

/// Items per page when the filter sets no `limit:`, and at most: per-item fields
/// (policy values, mute history) cost a query each, so pages are bounded; `after`
/// walks the rest.
pub const MAX_PAGE: u32 = 1000;

/// The schema, reading `store` and resolving policies with `policies`, without a
/// daemon to run controls (`runControl` says so), for REL 04 alone.
pub fn schema(store: Store, policies: PolicySet) -> Rel04Schema {
    schema_with_runner(store, policies, &Controls::default(), None)
}

/// The schema of the questions `controls` governs (their policy names): a
/// running daemon's `runControl` evaluates through `runner`.
pub fn schema_with_runner(
    store: Store,
    policies: PolicySet,
    controls: &Controls,
    runner: Option<Arc<dyn RunControl>>,
) -> Rel04Schema {
    Schema::build(Root::default(), Mutation, EmptySubscription)
        .data(store)
        .data(policies)
        .data(Arc::new(controls.clone()))
        .data(runner)
        .data(Arc::new(runs::RunSlots::default()))
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
    if let Err(message) = limits::check_mutations(&query, operation.as_deref()) {
        let mut code = async_graphql::ErrorExtensionValues::default();
        code.set("code", "TOO_MANY_MUTATIONS");
        let mut error = async_graphql::ServerError::new(message, None);
        error.extensions = Some(code);
        return async_graphql::Response::from_errors(vec![error]);
    }
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
        None => async_graphql::Error::new(crate::display::chain(&error).to_string())
            .extend_with(|_, e| e.set("code", "INTERNAL")),
    }
}

/// The definition of the question `control` is about, as configured.
fn definition(ctx: &Context<'_>, control: &ControlRow) -> async_graphql::Result<Arc<ControlDef>> {
    Ok(ctx
        .data::<Arc<Controls>>()?
        .definition_of(&control.lens, &control.question_id))
}

/// The control the root fields' (workloadId, lens, questionId) name (REL 04's
/// by workload id, or by workload ARN, when neither lens nor question is given).
async fn named_control(
    ctx: &Context<'_>,
    workload_id: &str,
    lens: Option<&str>,
    question_id: Option<&str>,
) -> async_graphql::Result<Option<ControlRow>> {
    let store = ctx.data::<Store>()?;
    let id = control_id::ControlId::of_arguments(workload_id, lens, question_id);
    if let control_id::ControlId::Question { question_id, .. } = id
        && question_id.len() > crate::config::controls::MAX_NAME
    {
        let message = format!(
            "questionId is at most {} characters",
            crate::config::controls::MAX_NAME
        );
        return Err(
            async_graphql::Error::new(message).extend_with(|_, e| e.set("code", "BAD_INPUT"))
        );
    }
    id.find(store).await.map_err(internal)
}

pub struct ControlPage {
    pub items: Vec<Control>,
    pub paging: Paging,
    /// The filter without its page, counted only when `metadata` is asked for.
    pub filter: Filter,
}

#[Object(serial)]
impl ControlPage {
    async fn items(&self) -> &[Control] {
        &self.items
    }
    async fn paging(&self) -> &Paging {
        &self.paging
    }
    /// Guardrails: `stats { total }` counts every control the filter matches;
    /// `limit:` caps `items`, not the total.
    async fn metadata(&self, ctx: &Context<'_>) -> async_graphql::Result<Metadata> {
        let store = ctx.data::<Store>()?;
        let total = store
            .list_controls(&self.filter)
            .await
            .map_err(internal)?
            .len();
        Ok(Metadata::total(total))
    }
}

/// A page of controls matching `filter`, within `scope` when given (a
/// resource's own `controls`).
async fn controls_page(
    ctx: &Context<'_>,
    filter: Option<String>,
    after: Cursor<'_>,
    scope: Option<crate::filter::Scope>,
) -> async_graphql::Result<ControlPage> {
    let within = |filter: &Filter| {
        let mut filter = filter.clone();
        if let Some(scope) = &scope {
            filter.terms.push(crate::filter::Term {
                key: crate::filter::Key::Scope,
                negated: false,
                matcher: crate::filter::Matcher::Scopes(vec![scope.clone()]),
                path: Vec::new(),
            });
        }
        filter
    };
    let page = fetch_page(
        ctx,
        filter,
        after,
        MAX_PAGE,
        async |store, filter, offset| store.list_controls_from(&within(filter), offset).await,
    )
    .await?;
    Ok(ControlPage {
        items: page.rows.into_iter().map(Control).collect(),
        paging: page.paging,
        filter: within(&page.filter),
    })
}

#[derive(SimpleObject)]
pub struct TransitionPage {
    pub items: Vec<Transition>,
    pub paging: Paging,
}

#[derive(Default)]
pub struct Query;

#[Object(serial, name = "Rel04dQuery")]
impl Query {
    /// Controls matching `filter` (the `rel04d controls` grammar), one page at a time.
    #[graphql(complexity = "budget::item_cost(child_complexity)")]
    async fn controls(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        after: Option<String>,
        #[graphql(desc = "Guardrails' name of `after`: the `paging.next` of the previous page.")]
        paging: Option<String>,
    ) -> async_graphql::Result<ControlPage> {
        controls_page(
            ctx,
            filter,
            Cursor::either(after.as_deref(), paging.as_deref()),
            None,
        )
        .await
    }

    /// The control of one question of a workload (removed ones included):
    /// REL 04's unless `lens` (an alias or lens ARN) and `questionId` name another.
    async fn control(
        &self,
        ctx: &Context<'_>,
        workload_id: String,
        lens: Option<String>,
        question_id: Option<String>,
    ) -> async_graphql::Result<Option<Control>> {
        let control =
            named_control(ctx, &workload_id, lens.as_deref(), question_id.as_deref()).await?;
        Ok(control.map(Control))
    }

    /// Transitions matching `filter`, newest first unless sorted otherwise.
    #[graphql(complexity = "budget::item_cost(child_complexity)")]
    async fn transitions(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        after: Option<String>,
    ) -> async_graphql::Result<TransitionPage> {
        let page =
            fetch_transitions(ctx, filter, Cursor::after(after.as_deref()), MAX_PAGE).await?;
        Ok(TransitionPage {
            items: page.rows.into_iter().map(Transition).collect(),
            paging: page.paging,
        })
    }

    /// The policies of a workload's control (see `control`) as they resolve now.
    #[graphql(complexity = "5 + 5 * child_complexity")]
    async fn policy_values(
        &self,
        ctx: &Context<'_>,
        workload_id: String,
        lens: Option<String>,
        question_id: Option<String>,
    ) -> async_graphql::Result<Vec<PolicyValue>> {
        let Some(control) = self.control(ctx, workload_id, lens, question_id).await? else {
            return Ok(Vec::new());
        };
        control.policy_values(ctx).await
    }

    /// Why a workload's control (see `control`) is in its state.
    #[graphql(complexity = "DOCUMENT * 3 + child_complexity")]
    async fn explain(
        &self,
        ctx: &Context<'_>,
        workload_id: String,
        lens: Option<String>,
        question_id: Option<String>,
    ) -> async_graphql::Result<Option<Explanation>> {
        let Some(control) =
            named_control(ctx, &workload_id, lens.as_deref(), question_id.as_deref()).await?
        else {
            return Ok(None);
        };
        let definition = definition(ctx, &control)?;
        let e = explain::explain(&definition, &control, ctx.data::<PolicySet>()?, Utc::now());
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
