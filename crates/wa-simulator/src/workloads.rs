//! The workload operations: ListWorkloads, GetWorkload, UpdateWorkload and
//! DeleteWorkload, plus the id checks the other handlers share.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::api::{DEFAULT_PAGE_SIZE, call, json_bytes, parse_body};
use super::edit;
use super::errors::ApiError;
use super::paging::{decode_token, encode_token, page};
use super::sim::Simulator;
use super::stats::Op;
use super::store::{Store, Workload, is_workload_id};
use super::wire::{
    GetWorkloadOut, ListWorkloadsIn, ListWorkloadsOut, UpdateWorkloadIn, WorkloadSummaryOut,
};

pub(super) fn check_workload_id(id: &str) -> Result<(), ApiError> {
    if is_workload_id(id) {
        Ok(())
    } else {
        Err(ApiError::field(
            "WorkloadId",
            format!("Invalid WorkloadId {id}: must match [0-9a-f]{{32}}"),
        ))
    }
}

pub(super) fn find<'a>(store: &'a Store, id: &str) -> Result<&'a Workload, ApiError> {
    store
        .get(id)
        .ok_or_else(|| edit::EditError::NoWorkload(id.to_string()).into())
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

/// Answers with the updated workload, as GetWorkload would show it.
pub(super) async fn update_workload(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call(&sim, Op::UpdateWorkload, Some(&id), |inner| {
        check_workload_id(&id)?;
        let req: UpdateWorkloadIn = parse_body(&body)?;
        let mut store = inner.write();
        edit::update(&mut store, &id, &req.into_update())?;
        Ok(json_bytes(&GetWorkloadOut::new(find(&store, &id)?)))
    })
    .await
}

/// `ClientRequestToken` travels in the query; the SDKs always send one, and the API
/// reference says a request without it fails.
pub(super) async fn delete_workload(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::DeleteWorkload, Some(&id), |inner| {
        check_workload_id(&id)?;
        let token = query_values(query.as_deref(), "ClientRequestToken").next();
        let token = token.ok_or_else(|| {
            ApiError::field("ClientRequestToken", "ClientRequestToken is required")
        })?;
        if !(1..=2048).contains(&token.len()) || !token.is_ascii() {
            return Err(ApiError::field(
                "ClientRequestToken",
                "ClientRequestToken must be 1-2048 ASCII characters",
            ));
        }
        edit::delete(&mut inner.write(), &id, Some(&token))?;
        Ok(Vec::new())
    })
    .await
}

/// The percent-decoded values of query parameter `name`, in order.
pub(super) fn query_values<'a>(
    query: Option<&'a str>,
    name: &'a str,
) -> impl Iterator<Item = String> + 'a {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
