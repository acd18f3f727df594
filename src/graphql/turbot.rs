//! Guardrails' shapes of a control, its type and its resource, so queries saved
//! for Guardrails' `controls` resolver run here unchanged.
//!
//! Ids: a control's `turbot.id` and its resource's are the workload id (rel04d
//! has one control per workload); `akas` holds the workload ARN. Timestamps:
//! `stateChangeTimestamp` is when the state, reason or details last changed,
//! `updateTimestamp` the last evaluation.

use std::collections::BTreeMap;

use async_graphql::{Json, Object, SimpleObject};

use crate::filter::{GUARDRAILS_CONTROL_TYPE, GUARDRAILS_RESOURCE_TYPE};
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
            id: row.workload_id.clone(),
            resource_id: row.workload_id.clone(),
            control_type_id: GUARDRAILS_CONTROL_TYPE.to_owned(),
            create_timestamp: row.created_at.clone(),
            state_change_timestamp: row.updated_at.clone(),
            update_timestamp: row.evaluated_at.clone(),
            timestamp: row.evaluated_at.clone().unwrap_or(row.updated_at.clone()),
            actor_identity_id: crate::store::ACTOR.to_owned(),
        }
    }
}

/// The one control type rel04d evaluates.
pub struct ControlType;

#[Object]
impl ControlType {
    async fn uri(&self) -> &str {
        GUARDRAILS_CONTROL_TYPE
    }
    async fn title(&self) -> &str {
        "REL 04"
    }
    async fn mod_uri(&self) -> &str {
        CONTROL_TYPE_MOD
    }
    async fn trunk(&self) -> Trunk {
        Trunk::of(&CONTROL_TYPE_TRUNK)
    }
    /// The resource types the control type runs on: the workload.
    async fn targets(&self) -> Vec<&str> {
        vec![GUARDRAILS_RESOURCE_TYPE]
    }
    async fn turbot(&self) -> ControlTypeTurbot {
        ControlTypeTurbot {
            id: GUARDRAILS_CONTROL_TYPE.to_owned(),
            title: "REL 04".to_owned(),
            akas: vec![GUARDRAILS_CONTROL_TYPE.to_owned()],
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
        }
    }
}

#[Object]
impl Resource {
    async fn turbot(&self) -> ResourceTurbot {
        ResourceTurbot {
            id: self.id.clone(),
            title: self.name.clone(),
            akas: vec![self.arn.clone()],
            tags: Json(self.tags.clone()),
            resource_type_id: GUARDRAILS_RESOURCE_TYPE.to_owned(),
            create_timestamp: None,
            update_timestamp: self.tool_updated_at(),
            timestamp: self.tool_updated_at(),
            actor_identity_id: None,
        }
    }
    /// Account > region > workload.
    async fn trunk(&self) -> Trunk {
        Trunk::of(&[&self.account_id, &self.region, &self.name])
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
        ResourceType {
            uri: GUARDRAILS_RESOURCE_TYPE.to_owned(),
            title: "Workload".to_owned(),
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
