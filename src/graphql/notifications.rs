//! Control history as Guardrails' notifications: each recorded transition is a
//! `control_created` (the first state) or `control_updated` notification, with
//! the control as it became (`control`), as it was (`oldControl`) and who acted.

use async_graphql::{Context, Json, Object, SimpleObject};

use super::limits::DOCUMENT;
use super::turbot::{ControlType, Metadata, Resource};
use super::{Paging, internal};
use crate::filter::Filter;
use crate::store::ACTOR;
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
        match (&self.0.from_state, self.0.to_state.as_str()) {
            (None, _) => "control_created",
            (Some(_), "removed") => "control_deleted",
            (Some(_), _) => "control_updated",
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
                title: title.clone(),
                turbot: IdentityTurbot {
                    id: ACTOR.to_owned(),
                    title,
                },
            },
        }
    }
    async fn turbot(&self) -> NotificationTurbot {
        NotificationTurbot {
            id: self.0.id.to_string(),
            create_timestamp: self.0.occurred_at.clone(),
            update_timestamp: self.0.occurred_at.clone(),
            timestamp: self.0.occurred_at.clone(),
            actor_identity_id: ACTOR.to_owned(),
            control_id: super::control_id::id(
                &self.0.workload_id,
                &self.0.lens,
                &self.0.question_id,
            ),
            resource_id: self.0.workload_id.clone(),
            control_type_id: super::turbot::type_uri(&self.0.lens, &self.0.control_type),
        }
    }
    /// The control as this change left it.
    async fn control(&self) -> NotificationControl {
        NotificationControl {
            state: self.0.to_state.clone(),
            reason: Some(self.0.reason.clone()),
            details: Some(Json(self.0.details.clone())),
            type_: Some(ControlType::of(
                &self.0.lens,
                &self.0.question_id,
                &self.0.control_type,
            )),
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
    /// Guardrails: the policy setting a `policy_setting_*` notification is
    /// about. Every rel04d notification is a control's, so always null.
    async fn policy_setting(&self) -> Option<PolicySetting> {
        None
    }
    /// The workload, as the state database holds it now.
    #[graphql(complexity = "DOCUMENT + child_complexity")]
    async fn resource(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Resource>> {
        let store = ctx.data::<Store>()?;
        let control = store.control_of(&self.0.key()).await.map_err(internal)?;
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
    pub title: String,
    pub turbot: IdentityTurbot,
}

/// The shape of Guardrails' `policySetting` (never present here).
#[derive(SimpleObject)]
pub struct PolicySetting {
    pub value: Option<String>,
    pub actor: Option<NotificationActor>,
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
    /// A notification is one instant: all its timestamps are when it happened.
    pub update_timestamp: String,
    pub timestamp: String,
    pub actor_identity_id: String,
    pub control_id: String,
    pub resource_id: String,
    pub control_type_id: String,
}
