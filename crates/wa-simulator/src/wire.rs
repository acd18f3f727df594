//! JSON bodies of the operations, member names exactly as in the botocore model
//! (`wellarchitected/2020-03-31/service-2.json`). Output structs borrow from the store
//! so a response is serialized under the read lock without cloning the workload.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lens::{
    AnswerState, CHOICES, ChoiceDef, ChoiceStatus, LENS_ALIAS, PILLAR_ID, QUESTION_DESCRIPTION,
    QUESTION_ID, QUESTION_TITLE,
};
use super::store::Workload;
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

/// RiskCounts: a map keyed by the Risk enum. Counts cover the one simulated question.
#[derive(Serialize)]
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

fn risk_counts(w: &Workload) -> RiskCounts {
    let risk = if w.has_wellarchitected() {
        w.answer.risk()
    } else {
        ""
    };
    let is = |r: &str| u32::from(risk == r);
    RiskCounts {
        unanswered: is("UNANSWERED"),
        high: is("HIGH"),
        medium: is("MEDIUM"),
        none: is("NONE"),
        not_applicable: is("NOT_APPLICABLE"),
    }
}

/// WorkloadImprovementStatus: as UpdateWorkload set it, else pending only while a
/// risk is open.
fn improvement_status(w: &Workload) -> &'static str {
    if let Some(status) = w.profile.improvement_status {
        return status;
    }
    match (w.has_wellarchitected(), w.answer.risk()) {
        (true, "HIGH" | "MEDIUM") => "NOT_STARTED",
        _ => "NOT_APPLICABLE",
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
    pub fn new(w: &'a Workload) -> Self {
        Self {
            workload_id: &w.id,
            workload_arn: &w.arn,
            workload_name: &w.name,
            owner: &w.owner,
            updated_at: w.updated_at,
            lenses: &w.lenses,
            risk_counts: risk_counts(w),
            improvement_status: improvement_status(w),
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

impl<'a> GetWorkloadOut<'a> {
    pub fn new(w: &'a Workload) -> Self {
        // Unless UpdateWorkload set it, a workload tagged env=prod* (or untagged) is
        // PRODUCTION, one with another env tag is not.
        let environment = match (w.profile.environment, w.tags.get("env")) {
            (Some(set), _) => set,
            (None, Some(env)) if !env.starts_with("prod") => "PREPRODUCTION",
            (None, _) => "PRODUCTION",
        };
        let p = &w.profile;
        let workload = WorkloadOut {
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
            improvement_status: improvement_status(w),
            risk_counts: risk_counts(w),
            lenses: &w.lenses,
            owner: &w.owner,
            tags: &w.tags,
        };
        Self { workload }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut<'a> {
    pub tags: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChoiceOut {
    choice_id: &'static str,
    title: &'static str,
    description: &'static str,
}

impl From<&ChoiceDef> for ChoiceOut {
    fn from(c: &ChoiceDef) -> Self {
        Self {
            choice_id: c.id,
            title: c.title,
            description: c.description,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChoiceAnswerOut<'a> {
    choice_id: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AnswerOut<'a> {
    question_id: &'static str,
    pillar_id: &'static str,
    question_title: &'static str,
    question_description: &'static str,
    choices: Vec<ChoiceOut>,
    selected_choices: Vec<&'static str>,
    choice_answers: Vec<ChoiceAnswerOut<'a>>,
    is_applicable: bool,
    risk: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// GetAnswerOutput and UpdateAnswerOutput (the same members; GetAnswer may add
/// MilestoneNumber, which the simulator never has).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnswerEnvelope<'a> {
    workload_id: &'a str,
    lens_alias: &'static str,
    lens_arn: String,
    answer: AnswerOut<'a>,
}

impl<'a> AnswerEnvelope<'a> {
    pub fn new(w: &'a Workload) -> Self {
        let a: &'a AnswerState = &w.answer;
        // ChoiceAnswers lists the choices that carry a status other than the default
        // UNSELECTED (or notes/reason); clients must treat a missing choice as
        // UNSELECTED, which is also safe against the real Tool.
        let choice_answers = CHOICES
            .iter()
            .zip(&a.choices)
            .filter(|(_, c)| {
                c.status != ChoiceStatus::Unselected || c.reason.is_some() || c.notes.is_some()
            })
            .map(|(def, c)| ChoiceAnswerOut {
                choice_id: def.id,
                status: c.status.as_str(),
                reason: c.reason,
                notes: c.notes.as_deref(),
            })
            .collect();
        Self {
            workload_id: &w.id,
            lens_alias: LENS_ALIAS,
            lens_arn: format!("arn:aws:wellarchitected:{}::lens/{LENS_ALIAS}", w.region),
            answer: AnswerOut {
                question_id: QUESTION_ID,
                pillar_id: PILLAR_ID,
                question_title: QUESTION_TITLE,
                question_description: QUESTION_DESCRIPTION,
                choices: CHOICES.iter().map(ChoiceOut::from).collect(),
                selected_choices: a.ids_with(ChoiceStatus::Selected).collect(),
                choice_answers,
                is_applicable: a.is_applicable,
                risk: a.risk(),
                notes: a.notes.as_deref(),
                reason: a.reason,
            },
        }
    }
}
