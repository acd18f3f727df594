//! The five operations' handlers: input validation, lookups, and output bodies.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::api::{DEFAULT_PAGE_SIZE, call, json_bytes, parse_body};
use super::errors::ApiError;
use super::lens::{LENS_ALIAS, QUESTION_ID};
use super::paging::{decode_token, encode_token, page};
use super::sim::Simulator;
use super::stats::Op;
use super::store::{Store, Workload, is_workload_id};
use super::update;
use super::wire::{
    AnswerEnvelope, GetWorkloadOut, ListWorkloadsIn, ListWorkloadsOut, TagsOut, UpdateAnswerIn,
    WorkloadSummaryOut,
};

fn check_workload_id(id: &str) -> Result<(), ApiError> {
    if is_workload_id(id) {
        Ok(())
    } else {
        Err(ApiError::field(
            "WorkloadId",
            format!("Invalid WorkloadId {id}: must match [0-9a-f]{{32}}"),
        ))
    }
}

fn find<'a>(store: &'a Store, id: &str) -> Result<&'a Workload, ApiError> {
    store.get(id).ok_or_else(|| workload_not_found(id))
}

fn workload_not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "WORKLOAD",
        id,
        format!("[ResourceNotFound] No workload with ID {id}"),
    )
}

pub(super) async fn list_workloads(State(sim): State<Simulator>, body: Bytes) -> Response {
    call(&sim, Op::ListWorkloads, None, |inner| {
        let req: ListWorkloadsIn = parse_body(&body)?;
        let limit = match req.max_results {
            None => DEFAULT_PAGE_SIZE,
            Some(n @ 1..=50) => n as usize,
            Some(n) => {
                return Err(ApiError::field(
                    "MaxResults",
                    format!("MaxResults {n} must be between 1 and 50"),
                ));
            }
        };
        let prefix = req.workload_name_prefix.unwrap_or_default();
        if prefix.chars().count() > 100 {
            return Err(ApiError::field(
                "WorkloadNamePrefix",
                "WorkloadNamePrefix exceeds 100 characters",
            ));
        }
        let after = match req.next_token.as_deref() {
            None => None,
            Some(t) => Some(
                decode_token(t).ok_or_else(|| ApiError::field("NextToken", "Invalid NextToken"))?,
            ),
        };
        let store = inner.read();
        let (ids, more) = page(store.sorted_ids(), after.as_deref(), limit, |id| {
            store
                .get(id)
                .is_some_and(|w| w.name.starts_with(prefix.as_str()))
        });
        let summaries: Vec<_> = ids
            .iter()
            .filter_map(|id| store.get(id))
            .map(WorkloadSummaryOut::new)
            .collect();
        let next_token = more
            .then(|| ids.last().map(|id| encode_token(id)))
            .flatten();
        Ok(json_bytes(&ListWorkloadsOut {
            workload_summaries: summaries,
            next_token,
        }))
    })
    .await
}

pub(super) async fn get_workload(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    call(&sim, Op::GetWorkload, Some(&id), |inner| {
        check_workload_id(&id)?;
        let store = inner.read();
        Ok(json_bytes(&GetWorkloadOut::new(find(&store, &id)?)))
    })
    .await
}

/// Finds the workload and checks that it has the lens and the lens has the question.
/// A lens that is not applied to the workload is a 404 (ResourceType LENS_REVIEW):
/// the lens review does not exist. Official lenses may be named by ARN.
fn answer_target<'a>(
    store: &'a Store,
    id: &str,
    lens: &str,
    question: &str,
) -> Result<&'a Workload, ApiError> {
    check_workload_id(id)?;
    let w = find(store, id)?;
    let alias = match lens.rsplit_once(":lens/") {
        Some((_, alias)) if lens.starts_with("arn:") => alias,
        _ => lens,
    };
    if !w.has_lens(alias) {
        return Err(ApiError::not_found(
            "LENS_REVIEW",
            lens,
            format!("[ResourceNotFound] Lens {lens} is not associated with workload {id}"),
        ));
    }
    if alias != LENS_ALIAS || question != QUESTION_ID {
        return Err(ApiError::not_found(
            "QUESTION",
            question,
            format!("[ResourceNotFound] No question {question} in lens {lens}"),
        ));
    }
    Ok(w)
}

pub(super) async fn get_answer(
    State(sim): State<Simulator>,
    Path((id, lens, question)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::GetAnswer, Some(&id), |inner| {
        let milestone = query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .find_map(|kv| kv.strip_prefix("MilestoneNumber="));
        let store = inner.read();
        let w = answer_target(&store, &id, &lens, &question)?;
        if let Some(m) = milestone {
            return Err(match m.parse::<u32>() {
                Ok(1..=100) => ApiError::not_found(
                    "MILESTONE",
                    m,
                    format!("[ResourceNotFound] No milestone {m} for workload {id}"),
                ),
                _ => ApiError::field(
                    "MilestoneNumber",
                    format!("MilestoneNumber {m} must be between 1 and 100"),
                ),
            });
        }
        Ok(json_bytes(&AnswerEnvelope::new(w)))
    })
    .await
}

pub(super) async fn update_answer(
    State(sim): State<Simulator>,
    Path((id, lens, question)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    call(&sim, Op::UpdateAnswer, Some(&id), |inner| {
        let req: UpdateAnswerIn = parse_body(&body)?;
        let mut store = inner.write();
        let next = update::apply(&answer_target(&store, &id, &lens, &question)?.answer, &req)?;
        let w = store.get_mut(&id).expect("found above under the same lock");
        if w.answer != next {
            w.answer = next;
            w.touch();
        }
        Ok(json_bytes(&AnswerEnvelope::new(w)))
    })
    .await
}

/// The workload id inside `arn:aws:wellarchitected:<region>:<owner>:workload/<id>`.
fn arn_workload_id(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .rsplit_once(":workload/")
        .map(|(_, id)| id)
}

pub(super) async fn list_tags_for_resource(
    State(sim): State<Simulator>,
    Path(arn): Path<String>,
) -> Response {
    let workload = arn_workload_id(&arn).map(str::to_string);
    call(
        &sim,
        Op::ListTagsForResource,
        workload.as_deref(),
        |inner| {
            // The model lists no ValidationException here: any ARN that names no
            // workload of this simulator is a 404.
            let store = inner.read();
            let w = workload
                .as_deref()
                .and_then(|id| store.get(id))
                .filter(|w| w.arn == arn)
                .ok_or_else(|| {
                    ApiError::not_found(
                        "WORKLOAD",
                        &arn,
                        format!("[ResourceNotFound] No resource with ARN {arn}"),
                    )
                })?;
            Ok(json_bytes(&TagsOut { tags: &w.tags }))
        },
    )
    .await
}
