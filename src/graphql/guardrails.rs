//! Guardrails' root fields: `resource`, `notifications` and the two control
//! summaries. (`controls` is shared with rel04d's dialect; see the module root.)

use async_graphql::{Context, Object};

use super::control_id::ControlId;
use super::notifications::NotificationPage;
use super::summary::{self, SummaryPage};
use super::turbot::Resource;
use super::{Cursor, fetch_transitions, internal, limits, parse_filter, unpaged};

/// Notifications per page at most: each item's `resource` is a query of its own.
pub const NOTIFICATION_PAGE: u32 = 200;
use crate::store::{ControlRow, Store};

/// The workload under evaluation, put into the request's data when a calculated
/// policy's `template_input` runs: the root field `resource` returns it.
#[derive(Clone, Debug)]
pub struct EvaluatedResource(pub Resource);

#[derive(Default)]
pub struct GuardrailsQuery;

#[Object(serial)]
impl GuardrailsQuery {
    /// A workload as a Guardrails resource. In a calculated policy's
    /// `template_input` it is the workload under evaluation (no `id` needed);
    /// otherwise `id` is a workload id or ARN, read from the state database.
    #[graphql(complexity = "limits::DOCUMENT + child_complexity")]
    async fn resource(
        &self,
        ctx: &Context<'_>,
        id: Option<String>,
    ) -> async_graphql::Result<Option<Resource>> {
        if let Some(EvaluatedResource(resource)) = ctx.data_opt::<EvaluatedResource>()
            && id
                .as_deref()
                .is_none_or(|id| id == resource.id || id == resource.arn)
        {
            return Ok(Some(resource.clone()));
        }
        let Some(id) = id else {
            return Err(
                "resource needs an id (a workload id or ARN) outside a calculated policy".into(),
            );
        };
        let store = ctx.data::<Store>()?;
        // REL 04's control describes the workload when it has one; else any
        // other question's (a workload governed by other questions alone).
        let control = match ControlId::Rel04(&id).find(store).await.map_err(internal)? {
            Some(control) => Some(control),
            None => store.any_control_of_workload(&id).await.map_err(internal)?,
        };
        Ok(control.as_ref().map(Resource::of_control))
    }

    /// Control history as Guardrails' notifications, newest first unless sorted
    /// otherwise: `notifications(filter: "notificationType:control controlTypeId:… sort:-timestamp")`.
    #[graphql(complexity = "super::budget::item_cost(child_complexity)")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        paging: Option<String>,
    ) -> async_graphql::Result<NotificationPage> {
        let page = fetch_transitions(
            ctx,
            filter,
            Cursor::paging(paging.as_deref()),
            NOTIFICATION_PAGE,
        )
        .await?;
        Ok(NotificationPage {
            items: page.rows,
            paging: page.paging,
            filter: page.filter,
        })
    }

    /// Control counts by state for the control type; muted controls are left
    /// out, as Guardrails does.
    async fn control_summaries_by_control_type(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
    ) -> async_graphql::Result<SummaryPage> {
        Ok(summary::by_control_type(&summarised(ctx, filter).await?))
    }

    /// Control counts by state per account and per account-region (muted
    /// controls left out).
    async fn control_summaries_by_resource(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
    ) -> async_graphql::Result<SummaryPage> {
        Ok(summary::by_resource(&summarised(ctx, filter).await?))
    }
}

/// Every control a summary's filter matches (`limit:` and `sort:` ignored).
async fn summarised(
    ctx: &Context<'_>,
    filter: Option<String>,
) -> async_graphql::Result<Vec<ControlRow>> {
    let filter = unpaged(&parse_filter(ctx, filter).await?);
    ctx.data::<Store>()?
        .list_controls(&filter)
        .await
        .map_err(internal)
}
