//! JSON bodies of the operations, member names exactly as in the botocore model
//! (`wellarchitected/2020-03-31/service-2.json`). Output structs borrow from the store
//! so a response is serialized under the read lock without cloning the workload.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::answer_wire::{AnswerEnvelope, AnswerSummaryOut, AnswerView, ListAnswersOut};
use super::catalog::QuestionDef;
use super::store::{Store, Workload};
use super::types::WorkloadUpdate;

// ---- requests -------------------------------------------------------------------

/// ListWorkloadsInput (all members in the body).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ListWorkloadsIn {
    pub workload_name_prefix: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

/// The body members of UpdateAnswerInput (the ids travel in the URI).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAnswerIn {
    pub selected_choices: Option<Vec<String>>,
    pub choice_updates: Option<HashMap<String, ChoiceUpdateIn>>,
    pub notes: Option<String>,
    pub is_applicable: Option<bool>,
    pub reason: Option<String>,
}

/// TagResourceInput's body; `Tags` is required, checked by the handler.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceIn {
    pub tags: Option<BTreeMap<String, String>>,
}

/// UpdateWorkloadInput's body. The members the simulator keeps become a
/// [`WorkloadUpdate`]; the others are only type-checked (see the module docs).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateWorkloadIn {
    workload_name: Option<String>,
    description: Option<String>,
    environment: Option<String>,
    review_owner: Option<String>,
    notes: Option<String>,
    improvement_status: Option<String>,
    #[serde(flatten)]
    _not_kept: UpdateWorkloadNotKept,
}

/// Parsed so a wrongly typed member is a 400 as on AWS, then dropped.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)] // read by nobody on purpose
struct UpdateWorkloadNotKept {
    account_ids: Option<Vec<String>>,
    aws_regions: Option<Vec<String>>,
    non_aws_regions: Option<Vec<String>>,
    pillar_priorities: Option<Vec<String>>,
    architectural_design: Option<String>,
    is_review_owner_update_acknowledged: Option<bool>,
    industry_type: Option<String>,
    industry: Option<String>,
    discovery_config: Option<Map<String, Value>>,
    applications: Option<Vec<String>>,
    jira_configuration: Option<Map<String, Value>>,
}

impl UpdateWorkloadIn {
    pub fn into_update(self) -> WorkloadUpdate {
        WorkloadUpdate {
            name: self.workload_name,
            description: self.description,
            environment: self.environment,
            review_owner: self.review_owner,
            notes: self.notes,
            improvement_status: self.improvement_status,
        }
    }
}

/// ChoiceUpdate; `Status` is required by the model, checked by the handler so the
/// client gets a ValidationException rather than a parse error.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceUpdateIn {
    pub status: Option<String>,
    pub reason: Option<String>,
    pub notes: Option<String>,
}

// ---- responses ------------------------------------------------------------------

/// RiskCounts: a map keyed by the Risk enum, counting questions.
#[derive(Serialize, Default)]
pub struct RiskCounts {
    #[serde(rename = "UNANSWERED")]
    unanswered: u32,
    #[serde(rename = "HIGH")]
    high: u32,
    #[serde(rename = "MEDIUM")]
    medium: u32,
    #[serde(rename = "NONE")]
    none: u32,
    #[serde(rename = "NOT_APPLICABLE")]
    not_applicable: u32,
}

impl RiskCounts {
    /// The risks of `questions` (lens key, question) in `w`'s answers.
    pub fn of<'q>(
        w: &Workload,
        questions: impl Iterator<Item = (&'q str, &'q QuestionDef)>,
    ) -> Self {
        let mut counts = Self::default();
        for (lens, q) in questions {
            let slot = match w.answer(lens, q).risk(q) {
                "UNANSWERED" => &mut counts.unanswered,
                "HIGH" => &mut counts.high,
                "MEDIUM" => &mut counts.medium,
                "NONE" => &mut counts.none,
                _ => &mut counts.not_applicable,
            };
            *slot += 1;
        }
        counts
    }

    /// Every question of every lens the workload lists (and the simulator knows).
    pub fn of_workload(store: &Store, w: &Workload) -> Self {
        Self::of(
            w,
            w.lenses
                .iter()
                .filter_map(|key| store.lens(key))
                .flat_map(|lens| lens.questions().map(|(_, q)| (lens.alias.as_str(), q))),
        )
    }

    fn open(&self) -> bool {
        self.high + self.medium > 0
    }
}

/// WorkloadImprovementStatus: as UpdateWorkload set it, else pending only while a
/// risk is open.
fn improvement_status(w: &Workload, risks: &RiskCounts) -> &'static str {
    if let Some(status) = w.profile.improvement_status {
        return status;
    }
    if risks.open() {
        "NOT_STARTED"
    } else {
        "NOT_APPLICABLE"
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkloadSummaryOut<'a> {
    workload_id: &'a str,
    workload_arn: &'a str,
    workload_name: &'a str,
    owner: &'a str,
    updated_at: f64,
    lenses: &'a [String],
    risk_counts: RiskCounts,
    improvement_status: &'static str,
}

impl<'a> WorkloadSummaryOut<'a> {
    pub fn new(store: &Store, w: &'a Workload) -> Self {
        let risks = RiskCounts::of_workload(store, w);
        Self {
            workload_id: &w.id,
            workload_arn: &w.arn,
            workload_name: &w.name,
            owner: &w.owner,
            updated_at: w.updated_at,
            lenses: &w.lenses,
            improvement_status: improvement_status(w, &risks),
            risk_counts: risks,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListWorkloadsOut<'a> {
    pub workload_summaries: Vec<WorkloadSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkloadOut<'a> {
    workload_id: &'a str,
    workload_arn: &'a str,
    workload_name: &'a str,
    description: String,
    environment: &'static str,
    updated_at: f64,
    account_ids: [&'a str; 1],
    aws_regions: [&'a str; 1],
    review_owner: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    improvement_status: &'static str,
    risk_counts: RiskCounts,
    lenses: &'a [String],
    owner: &'a str,
    /// The model's TagMap has min 1, so an untagged workload omits the member.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: &'a BTreeMap<String, String>,
}

/// GetWorkloadOutput and UpdateWorkloadOutput.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetWorkloadOut<'a> {
    workload: WorkloadOut<'a>,
}

impl<'a> WorkloadOut<'a> {
    pub fn new(store: &Store, w: &'a Workload) -> Self {
        let risks = RiskCounts::of_workload(store, w);
        // Unless UpdateWorkload set it, a workload tagged env=prod* (or untagged) is
        // PRODUCTION, one with another env tag is not.
        let environment = match (w.profile.environment, w.tags.get("env")) {
            (Some(set), _) => set,
            (None, Some(env)) if !env.starts_with("prod") => "PREPRODUCTION",
            (None, _) => "PRODUCTION",
        };
        let p = &w.profile;
        Self {
            workload_id: &w.id,
            workload_arn: &w.arn,
            workload_name: &w.name,
            description: p
                .description
                .clone()
                .unwrap_or_else(|| format!("Simulated workload {}", w.name)),
            environment,
            updated_at: w.updated_at,
            account_ids: [&w.owner],
            aws_regions: [&w.region],
            review_owner: p
                .review_owner
                .clone()
                .unwrap_or_else(|| format!("owner-{}@example.com", w.owner)),
            notes: p.notes.as_deref(),
            improvement_status: improvement_status(w, &risks),
            risk_counts: risks,
            lenses: &w.lenses,
            owner: &w.owner,
            tags: &w.tags,
        }
    }
}

impl<'a> GetWorkloadOut<'a> {
    pub fn new(store: &Store, w: &'a Workload) -> Self {
        Self {
            workload: WorkloadOut::new(store, w),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut<'a> {
    pub tags: &'a BTreeMap<String, String>,
}
