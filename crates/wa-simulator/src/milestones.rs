//! Milestones: CreateMilestone freezes a copy of the workload (name, lenses, lens
//! reviews, answers); ListMilestones, GetMilestone, and GetAnswer/ListAnswers/
//! GetLensReview/ListLensReviews with `MilestoneNumber` read that copy.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::api::{body_max_results, call, json_bytes, parse_body};
use super::errors::ApiError;
use super::paging::{decode_token, encode_token};
use super::sim::Simulator;
use super::stats::Op;
use super::store::{Milestone, Workload, now_epoch_seconds};
use super::wire::{WorkloadOut, WorkloadSummaryOut};
use super::workloads::{check_workload_id, find};

/// The model's MilestoneNumber range: a workload has at most 100 milestones.
pub const MAX_MILESTONES: usize = 100;

/// `w` itself, or its milestone `number` (404 MILESTONE when it has none).
pub(super) fn at_milestone(w: &Workload, number: Option<u32>) -> Result<&Workload, ApiError> {
    let Some(n) = number else { return Ok(w) };
    w.milestones
        .get((n as usize).wrapping_sub(1))
        .map(|m| &*m.workload)
        .ok_or_else(|| {
            ApiError::not_found(
                "MILESTONE",
                &n.to_string(),
                format!("[ResourceNotFound] No milestone {n} for workload {}", w.id),
            )
        })
}

/// Freezes `w` as milestone `name` and returns its number. A retry with the token
/// that made the milestone of that name answers it again; another milestone of the
/// same name is a 409; a 101st milestone is a 402.
pub(super) fn record_milestone(
    w: &mut Workload,
    name: String,
    token: String,
) -> Result<usize, ApiError> {
    match w.milestones.iter().position(|m| m.name == name) {
        Some(i) if w.milestones[i].token == token => Ok(i + 1),
        Some(_) => Err(ApiError::Conflict {
            message: format!("Workload {} already has a milestone named {name}", w.id),
            resource_id: w.id.clone(),
        }),
        None if w.milestones.len() >= MAX_MILESTONES => Err(ApiError::QuotaExceeded(format!(
            "Workload {} already has {MAX_MILESTONES} milestones",
            w.id
        ))),
        None => {
            let mut frozen = w.clone();
            frozen.milestones.clear();
            w.milestones.push(Milestone {
                name,
                token,
                recorded_at: now_epoch_seconds(),
                workload: Box::new(frozen),
            });
            Ok(w.milestones.len())
        }
    }
}

/// MilestoneName: 3-100 characters.
pub(super) fn milestone_name(name: Option<String>) -> Result<String, ApiError> {
    name.filter(|n| (3..=100).contains(&n.chars().count()))
        .ok_or_else(|| ApiError::field("MilestoneName", "MilestoneName must be 3-100 characters"))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct CreateMilestoneIn {
    milestone_name: Option<String>,
    client_request_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateMilestoneOut<'a> {
    workload_id: &'a str,
    milestone_number: usize,
}

pub(super) async fn create_milestone(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call(&sim, Op::CreateMilestone, Some(&id), |inner| {
        check_workload_id(&id)?;
        let req: CreateMilestoneIn = parse_body(&body)?;
        let name = milestone_name(req.milestone_name)?;
        let token = req
            .client_request_token
            .filter(|t| (1..=2048).contains(&t.len()))
            .ok_or_else(|| {
                ApiError::field(
                    "ClientRequestToken",
                    "ClientRequestToken must be 1-2048 characters",
                )
            })?;
        let mut store = inner.write();
        find(&store, &id)?;
        let w = store.get_mut(&id).expect("found above under the same lock");
        let number = record_milestone(w, name, token)?;
        Ok(json_bytes(&CreateMilestoneOut {
            workload_id: &id,
            milestone_number: number,
        }))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListMilestonesIn {
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MilestoneSummaryOut<'a> {
    milestone_number: usize,
    milestone_name: &'a str,
    recorded_at: f64,
    workload_summary: WorkloadSummaryOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListMilestonesOut<'a> {
    workload_id: &'a str,
    milestone_summaries: Vec<MilestoneSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub(super) async fn list_milestones(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call(&sim, Op::ListMilestones, Some(&id), |inner| {
        check_workload_id(&id)?;
        let req: ListMilestonesIn = parse_body(&body)?;
        let limit = body_max_results(req.max_results)?;
        let start = match req.next_token.as_deref() {
            None => 0,
            Some(t) => decode_token(t)
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| ApiError::field("NextToken", "Invalid NextToken"))?,
        };
        let store = inner.read();
        let w = find(&store, &id)?;
        let end = w.milestones.len().min(start.saturating_add(limit));
        let summaries = w
            .milestones
            .iter()
            .enumerate()
            .take(end)
            .skip(start)
            .map(|(i, m)| MilestoneSummaryOut {
                milestone_number: i + 1,
                milestone_name: &m.name,
                recorded_at: m.recorded_at,
                workload_summary: WorkloadSummaryOut::new(&store, &m.workload),
            })
            .collect();
        Ok(json_bytes(&ListMilestonesOut {
            workload_id: &w.id,
            milestone_summaries: summaries,
            next_token: (end < w.milestones.len()).then(|| encode_token(&end.to_string())),
        }))
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MilestoneOut<'a> {
    milestone_number: u32,
    milestone_name: &'a str,
    recorded_at: f64,
    workload: WorkloadOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetMilestoneOut<'a> {
    workload_id: &'a str,
    milestone: MilestoneOut<'a>,
}

pub(super) async fn get_milestone(
    State(sim): State<Simulator>,
    Path((id, number)): Path<(String, String)>,
) -> Response {
    call(&sim, Op::GetMilestone, Some(&id), |inner| {
        check_workload_id(&id)?;
        let number = match number.parse::<u32>() {
            Ok(n @ 1..=100) => n,
            _ => {
                return Err(ApiError::field(
                    "MilestoneNumber",
                    format!("MilestoneNumber {number} must be between 1 and 100"),
                ));
            }
        };
        let store = inner.read();
        let w = find(&store, &id)?;
        let frozen = at_milestone(w, Some(number))?;
        let m = &w.milestones[number as usize - 1];
        Ok(json_bytes(&GetMilestoneOut {
            workload_id: &w.id,
            milestone: MilestoneOut {
                milestone_number: number,
                milestone_name: &m.name,
                recorded_at: m.recorded_at,
                workload: WorkloadOut::new(&store, frozen),
            },
        }))
    })
    .await
}
