//! Control history as Guardrails' notifications: each recorded transition is a
//! `control_created` (the first state) or `control_updated` notification, with
//! the control as it became (`control`), as it was (`oldControl`) and who acted.

use async_graphql::{Context, Json, Object, SimpleObject};

use super::limits::DOCUMENT;
use super::turbot::{ControlType, Metadata, Resource};
use super::{Paging, internal};
use crate::filter::{Filter, GUARDRAILS_CONTROL_TYPE};
use crate::store::{Store, TransitionRow};

pub struct NotificationPage {
    pub items: Vec<TransitionRow>,
    pub paging: Paging,
    pub filter: Filter,
}

#[Object(serial)]
impl NotificationPage {
    async fn items(&self) -> Vec<Notification<'_>> {
        self.items.iter().map(Notification).collect()
    }
    async fn paging(&self) -> &Paging {
        &self.paging
    }
    /// `stats { total }`: every notification the filter matches.
    async fn metadata(&self, ctx: &Context<'_>) -> async_graphql::Result<Metadata> {
        let store = ctx.data::<Store>()?;
        let total = store
            .list_transitions(&self.filter)
            .await
            .map_err(internal)?
            .len();
        Ok(Metadata::total(total))
    }
}

pub struct Notification<'a>(&'a TransitionRow);

#[Object(serial)]
impl Notification<'_> {
    async fn id(&self) -> String {
        self.0.id.to_string()
    }
    async fn notification_type(&self) -> &str {
        match self.0.from_state {
            None => "control_created",
            Some(_) => "control_updated",
        }
    }
    async fn timestamp(&self) -> &str {
        &self.0.occurred_at
    }
    /// rel04d, and why it evaluated (sweep, event or manual).
    async fn actor(&self) -> NotificationActor {
        let title = match &self.0.event_id {
            Some(event) => format!("rel04d ({}, event {event})", self.0.trigger),
            None => format!("rel04d ({})", self.0.trigger),
        };
        NotificationActor {
            identity: Identity {
                turbot: IdentityTurbot {
                    id: "rel04d".to_owned(),
                    title,
                },
            },
        }
    }
    async fn turbot(&self) -> NotificationTurbot {
        NotificationTurbot {
            id: self.0.id.to_string(),
            create_timestamp: self.0.occurred_at.clone(),
            control_id: self.0.workload_id.clone(),
            resource_id: self.0.workload_id.clone(),
            control_type_id: GUARDRAILS_CONTROL_TYPE.to_owned(),
        }
    }
    /// The control as this change left it.
    async fn control(&self) -> NotificationControl {
        NotificationControl {
            state: self.0.to_state.clone(),
            reason: Some(self.0.reason.clone()),
            details: Some(Json(self.0.details.clone())),
            type_: Some(ControlType),
        }
    }
    /// The control before this change; null for the first state.
    async fn old_control(&self) -> Option<NotificationControl> {
        self.0.from_state.clone().map(|state| NotificationControl {
            state,
            reason: None,
            details: None,
            type_: None,
        })
    }
    /// The workload, as the state database holds it now.
    #[graphql(complexity = "DOCUMENT + child_complexity")]
    async fn resource(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Resource>> {
        let store = ctx.data::<Store>()?;
        let control = store
            .control(&self.0.workload_arn)
            .await
            .map_err(internal)?;
        Ok(control.as_ref().map(Resource::of_control))
    }
}

#[derive(SimpleObject)]
pub struct NotificationControl {
    pub state: String,
    pub reason: Option<String>,
    pub details: Option<Json<serde_json::Value>>,
    #[graphql(name = "type")]
    pub type_: Option<ControlType>,
}

#[derive(SimpleObject)]
pub struct NotificationActor {
    pub identity: Identity,
}

#[derive(SimpleObject)]
pub struct Identity {
    pub turbot: IdentityTurbot,
}

#[derive(SimpleObject)]
pub struct IdentityTurbot {
    pub id: String,
    pub title: String,
}

#[derive(SimpleObject)]
pub struct NotificationTurbot {
    pub id: String,
    pub create_timestamp: String,
    pub control_id: String,
    pub resource_id: String,
    pub control_type_id: String,
}
