//! ListTagsForResource, TagResource and UntagResource on workload ARNs.
//!
//! The model lists only InternalServerException and ResourceNotFoundException for
//! these; like every AWS API they also answer throttling, access denial and, for
//! input that breaks the model's TagMap/TagKeyList constraints, ValidationException
//! (the SDK surfaces those as unmodelled errors with the right code).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::api::{call, json_bytes, parse_body};
use super::edit;
use super::errors::ApiError;
use super::sim::Simulator;
use super::stats::Op;
use super::store::Store;
use super::wire::{TagResourceIn, TagsOut};
use super::workloads::query_values;

/// The workload id inside `arn:aws:wellarchitected:<region>:<owner>:workload/<id>`.
fn arn_workload_id(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .rsplit_once(":workload/")
        .map(|(_, id)| id)
}

/// The id of the workload whose ARN is exactly `arn`. Any ARN that names no
/// workload of this simulator (another region or owner, a lens, garbage) is a 404:
/// the model lists no ValidationException for a bad ARN. Faults (denials) apply to
/// the workload id inside the ARN.
fn workload_with_arn(store: &Store, arn: &str) -> Result<String, ApiError> {
    arn_workload_id(arn)
        .and_then(|id| store.get(id))
        .filter(|w| w.arn == arn)
        .map(|w| w.id.clone())
        .ok_or_else(|| {
            ApiError::not_found(
                "WORKLOAD",
                arn,
                format!("[ResourceNotFound] No resource with ARN {arn}"),
            )
        })
}

pub(super) async fn list_tags_for_resource(
    State(sim): State<Simulator>,
    Path(arn): Path<String>,
) -> Response {
    call(
        &sim,
        Op::ListTagsForResource,
        arn_workload_id(&arn),
        |inner| {
            let store = inner.read();
            let id = workload_with_arn(&store, &arn)?;
            let tags: &BTreeMap<_, _> = &store.get(&id).expect("found above").tags;
            Ok(json_bytes(&TagsOut { tags }))
        },
    )
    .await
}

/// Adds tags, replacing values of existing keys; the answer has an empty body.
pub(super) async fn tag_resource(
    State(sim): State<Simulator>,
    Path(arn): Path<String>,
    body: Bytes,
) -> Response {
    call(&sim, Op::TagResource, arn_workload_id(&arn), |inner| {
        let req: TagResourceIn = parse_body(&body)?;
        let tags = req
            .tags
            .ok_or_else(|| ApiError::field("Tags", "Tags is required"))?;
        let mut store = inner.write();
        let id = workload_with_arn(&store, &arn)?;
        edit::add_tags(&mut store, &id, &tags)?;
        Ok(Vec::new())
    })
    .await
}

/// Removes the tags named by the repeated `tagKeys` query parameter; the answer has
/// an empty body.
pub(super) async fn untag_resource(
    State(sim): State<Simulator>,
    Path(arn): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::UntagResource, arn_workload_id(&arn), |inner| {
        let keys: Vec<String> = query_values(query.as_deref(), "tagKeys").collect();
        let mut store = inner.write();
        let id = workload_with_arn(&store, &arn)?;
        edit::remove_tags(&mut store, &id, &keys)?;
        Ok(Vec::new())
    })
    .await
}
