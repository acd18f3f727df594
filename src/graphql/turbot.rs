//! Guardrails' shapes of a control, its type and its resource, so queries saved
//! for Guardrails' `controls` resolver run here unchanged.
//!
//! Ids: a resource's `turbot.id` is the workload id and its `akas` the workload
//! ARN; a control's `turbot.id` is REL 04's workload id, or for any other
//! question `<workload id>/<lens>/<question id>` ([`super::control_id`]). Timestamps:
//! `stateChangeTimestamp` is when the state, reason or details last changed,
//! `updateTimestamp` the last evaluation.

use std::collections::BTreeMap;

use async_graphql::{Context, Json, Object, SimpleObject};

use crate::control::policy::LENS_ALIAS;
use crate::control::question::{CUSTOM_LENS_TYPE_PREFIX, FRAMEWORK_TYPE_PREFIX};
use crate::filter::scope::{ACCOUNT_TYPE, REGION_TYPE};
use crate::filter::{GUARDRAILS_CONTROL_TYPE, GUARDRAILS_RESOURCE_TYPE, Scope};
use crate::store::ControlRow;
use crate::workload::Workload;

/// The control type's trunk, as Guardrails' catalogue places REL 04.
const CONTROL_TYPE_TRUNK: [&str; 5] = [
    "AWS",
    "Well-Architected Tool",
    "AWS Well-Architected Framework",
    "Reliability",
    "REL 04 How do you design interactions in a distributed system to prevent failures?",
];
const CONTROL_TYPE_MOD: &str = "tmod:@turbot/aws-wellarchitected-framework";
const IDENTITY_TYPE: &str = "tmod:@turbot/turbot-iam#/resource/types/turbotIdentity";

/// A title, as trunk items carry it: `{ turbot { title } }`.
#[derive(SimpleObject, Clone)]
pub struct Titled {
    pub turbot: TitleOnly,
}

#[derive(SimpleObject, Clone)]
pub struct TitleOnly {
    pub title: String,
}

/// A path from the root, Guardrails' `trunk { title items { turbot { title } } }`.
#[derive(SimpleObject, Clone)]
pub struct Trunk {
    /// The titles joined with ` > `.
    pub title: String,
    pub items: Vec<Titled>,
}

impl Trunk {
    pub fn of<S: AsRef<str>>(titles: &[S]) -> Trunk {
        Trunk {
            title: titles
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(" > "),
            items: titles
                .iter()
                .map(|t| Titled {
                    turbot: TitleOnly {
                        title: t.as_ref().to_owned(),
                    },
                })
                .collect(),
        }
    }
}

#[derive(SimpleObject)]
pub struct ControlTurbot {
    pub id: String,
    pub resource_id: String,
    pub control_type_id: String,
    /// When rel04d first recorded the control.
    pub create_timestamp: String,
    pub state_change_timestamp: String,
    /// When it was last evaluated.
    pub update_timestamp: Option<String>,
    /// The latest of the above (what `timestamp:` filters and sorts on).
    pub timestamp: String,
    /// rel04d, which records every control.
    pub actor_identity_id: String,
}

impl ControlTurbot {
    pub fn of(row: &ControlRow) -> ControlTurbot {
        ControlTurbot {
            id: super::control_id::of(row),
            resource_id: row.workload_id.clone(),
            control_type_id: type_uri(&row.lens, &row.control_type),
            create_timestamp: row.created_at.clone(),
            state_change_timestamp: row.updated_at.clone(),
            update_timestamp: row.evaluated_at.clone(),
            timestamp: row.evaluated_at.clone().unwrap_or(row.updated_at.clone()),
            actor_identity_id: crate::store::ACTOR.to_owned(),
        }
    }
}

/// The control type URI of a control of `lens` recorded with `control_type`
/// (Guardrails' for the Framework's questions, rel04d's custom-lens one else).
pub fn type_uri(lens: &str, control_type: &str) -> String {
    let prefix = if lens == LENS_ALIAS {
        FRAMEWORK_TYPE_PREFIX
    } else {
        CUSTOM_LENS_TYPE_PREFIX
    };
    format!("{prefix}{control_type}")
}

/// A control type: REL 04's with Guardrails' catalogue place, or another
/// question's, named by its control type under its lens and question.
pub struct ControlType {
    uri: String,
    title: String,
    trunk: Vec<String>,
}

impl ControlType {
    pub fn rel04() -> ControlType {
        ControlType {
            uri: GUARDRAILS_CONTROL_TYPE.to_owned(),
            title: "REL 04".to_owned(),
            trunk: CONTROL_TYPE_TRUNK.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// The type of the control of `question_id` of `lens`, recorded as `control_type`.
    pub fn of(lens: &str, question_id: &str, control_type: &str) -> ControlType {
        if crate::store::is_rel04(lens, question_id) {
            return ControlType::rel04();
        }
        ControlType {
            uri: type_uri(lens, control_type),
            title: control_type.to_owned(),
            trunk: ["AWS", "Well-Architected Tool", lens, question_id]
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
        }
    }

    /// What `sort:<field>` orders control types by (`title`, `uri`, `path`).
    pub fn sort_key(&self, field: &str) -> String {
        match field {
            "title" => self.title.clone(),
            "uri" => self.uri.clone(),
            _ => self.trunk.join(" > "),
        }
    }
}

#[Object]
impl ControlType {
    async fn uri(&self) -> &str {
        &self.uri
    }
    async fn title(&self) -> &str {
        &self.title
    }
    async fn mod_uri(&self) -> &str {
        self.uri.split('#').next().unwrap_or(CONTROL_TYPE_MOD)
    }
    async fn trunk(&self) -> Trunk {
        Trunk::of(&self.trunk)
    }
    /// The resource types the control type runs on: the workload.
    async fn targets(&self) -> Vec<&str> {
        vec![GUARDRAILS_RESOURCE_TYPE]
    }
    async fn turbot(&self) -> ControlTypeTurbot {
        ControlTypeTurbot {
            id: self.uri.clone(),
            title: self.title.clone(),
            akas: vec![self.uri.clone()],
        }
    }
}

#[derive(SimpleObject)]
pub struct ControlTypeTurbot {
    pub id: String,
    pub title: String,
    pub akas: Vec<String>,
}

/// A workload as Guardrails shows a resource.
#[derive(Clone, Debug)]
pub struct Resource {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    /// The workload as the Tool described it, when it was described.
    pub data: Option<serde_json::Value>,
    pub level: Level,
}

/// Where a resource sits in Guardrails' hierarchy (the root, Turbot, is no
/// resource here: `resourceId:tmod:@turbot/turbot#/` scopes to everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Account,
    Region,
    Workload,
    /// rel04d itself, as Guardrails' `turbot://identity/turbot`.
    Identity,
}

impl Resource {
    /// From a stored control: data and tags as of its last evaluation.
    pub fn of_control(row: &ControlRow) -> Resource {
        let details = row.details.value();
        let data = details.get("resource").cloned();
        let tags = data
            .as_ref()
            .and_then(|d| d.get("Tags"))
            .or_else(|| details.get("policy_tags"))
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default();
        Resource {
            id: row.workload_id.clone(),
            arn: row.workload_arn.clone(),
            name: row.workload_name.clone(),
            account_id: row.account_id.clone(),
            region: row.region.clone(),
            tags,
            data,
            level: Level::Workload,
        }
    }

    /// An AWS account, as Guardrails names it: `arn:aws:::<account>`.
    pub fn account(account: &str) -> Resource {
        let id = format!("arn:aws:::{account}");
        Resource {
            arn: id.clone(),
            id,
            name: account.to_owned(),
            account_id: account.to_owned(),
            region: String::new(),
            tags: BTreeMap::new(),
            data: None,
            level: Level::Account,
        }
    }

    /// A region of an account: `arn:aws::<region>:<account>`.
    pub fn region(account: &str, region: &str) -> Resource {
        let id = format!("arn:aws::{region}:{account}");
        Resource {
            arn: id.clone(),
            id,
            name: region.to_owned(),
            account_id: account.to_owned(),
            region: region.to_owned(),
            tags: BTreeMap::new(),
            data: None,
            level: Level::Region,
        }
    }

    /// rel04d's own identity, the actor of every notification.
    pub fn automation() -> Resource {
        Resource {
            id: crate::store::ACTOR.to_owned(),
            arn: crate::filter::scope::AUTOMATION_IDENTITY.to_owned(),
            name: crate::store::ACTOR.to_owned(),
            account_id: String::new(),
            region: String::new(),
            tags: BTreeMap::new(),
            data: None,
            level: Level::Identity,
        }
    }

    /// What this resource and everything below it is, as a filter scope.
    pub fn scope(&self) -> Scope {
        match self.level {
            Level::Account => Scope::Account(self.account_id.clone()),
            Level::Region => Scope::Region {
                account: self.account_id.clone(),
                region: self.region.clone(),
            },
            Level::Workload => Scope::Workload(self.arn.clone()),
            Level::Identity => Scope::Actor,
        }
    }

    fn type_uri(&self) -> (&'static str, &'static str) {
        match self.level {
            Level::Account => (ACCOUNT_TYPE, "Account"),
            Level::Region => (REGION_TYPE, "Region"),
            Level::Workload => (GUARDRAILS_RESOURCE_TYPE, "Workload"),
            Level::Identity => (IDENTITY_TYPE, "Turbot Identity"),
        }
    }

    /// The Tool's `UpdatedAt` of the workload, as described (RFC 3339 text or
    /// epoch seconds, as the SDK's JSON gives it).
    fn tool_updated_at(&self) -> Option<String> {
        let at = self.data.as_ref()?.get("UpdatedAt")?;
        match at {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(n) => chrono::DateTime::from_timestamp(n.as_f64()? as i64, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            _ => None,
        }
    }

    /// The workload under evaluation, as just read from the Tool.
    pub fn of_workload(workload: &Workload) -> Resource {
        Resource {
            id: workload.id.clone(),
            arn: workload.arn.clone(),
            name: workload.name.clone(),
            account_id: workload.account_id.clone(),
            region: workload.region.clone(),
            tags: workload.tags.clone().unwrap_or_default(),
            data: workload.data.clone(),
            level: Level::Workload,
        }
    }
}

#[Object(serial)]
impl Resource {
    async fn turbot(&self) -> ResourceTurbot {
        ResourceTurbot {
            id: self.id.clone(),
            title: self.name.clone(),
            akas: vec![self.arn.clone()],
            tags: Json(self.tags.clone()),
            resource_type_id: self.type_uri().0.to_owned(),
            create_timestamp: None,
            update_timestamp: self.tool_updated_at(),
            timestamp: self.tool_updated_at(),
            actor_identity_id: None,
        }
    }
    /// Account > region > workload.
    async fn trunk(&self) -> Trunk {
        match self.level {
            Level::Account => Trunk::of(&[&self.account_id]),
            Level::Region => Trunk::of(&[&self.account_id, &self.region]),
            Level::Workload => Trunk::of(&[&self.account_id, &self.region, &self.name]),
            Level::Identity => Trunk::of(&[&self.name]),
        }
    }
    /// Guardrails' top-level copy of `turbot.title`.
    async fn title(&self) -> &str {
        &self.name
    }
    /// Guardrails' top-level copy of `turbot.akas`.
    async fn akas(&self) -> Vec<String> {
        vec![self.arn.clone()]
    }
    /// Guardrails' resource metadata: rel04d keeps none, so null.
    async fn metadata(&self) -> Option<Json<serde_json::Value>> {
        None
    }
    /// The controls on this resource and below it, filtered and paged like
    /// the root `controls`.
    #[graphql(complexity = "super::budget::item_cost(child_complexity)")]
    async fn controls(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        paging: Option<String>,
    ) -> async_graphql::Result<super::ControlPage> {
        super::controls_page(
            ctx,
            filter,
            super::Cursor::paging(paging.as_deref()),
            Some(self.scope()),
        )
        .await
    }
    /// The workload as GetWorkload describes it (AWS's field names); null when
    /// rel04d has not described it (it describes workloads when tag or
    /// calculated policies are configured).
    #[graphql(complexity = "crate::graphql::limits::DOCUMENT")]
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.data.clone().unwrap_or_default())
    }
    #[graphql(name = "type")]
    async fn type_(&self) -> ResourceType {
        let (uri, title) = self.type_uri();
        ResourceType {
            uri: uri.to_owned(),
            title: title.to_owned(),
        }
    }
}

#[derive(SimpleObject)]
pub struct ResourceTurbot {
    pub id: String,
    pub title: String,
    pub akas: Vec<String>,
    pub tags: Json<BTreeMap<String, String>>,
    pub resource_type_id: String,
    /// Null: the Tool does not say when a workload was created.
    pub create_timestamp: Option<String>,
    /// The Tool's `UpdatedAt`, when rel04d has described the workload.
    pub update_timestamp: Option<String>,
    pub timestamp: Option<String>,
    /// Null: who changed a workload is CloudTrail's to say, not the Tool's.
    pub actor_identity_id: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct ResourceType {
    pub uri: String,
    pub title: String,
}

/// Guardrails' `metadata { stats { total } }` of a list.
#[derive(SimpleObject)]
pub struct Metadata {
    pub stats: Stats,
}

#[derive(SimpleObject)]
pub struct Stats {
    /// Items matching the filter, whatever `limit:` says.
    pub total: i64,
}

impl Metadata {
    pub fn total(total: usize) -> Metadata {
        Metadata {
            stats: Stats {
                total: total as i64,
            },
        }
    }
}
