//! The workload operations: ListWorkloads, GetWorkload, CreateWorkload,
//! UpdateWorkload and DeleteWorkload, plus the id checks the other handlers share.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::answers::lens_key;
use super::api::{body_max_results, call, json_bytes, parse_body};
use super::edit;
use super::errors::ApiError;
use super::paging::{decode_token, encode_token, page};
use super::sim::Simulator;
use super::sim::random_workload_id;
use super::stats::Op;
use super::store::{Store, Workload, is_workload_id, now_epoch_seconds};
use super::types::{WorkloadSpec, WorkloadUpdate};
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
        let limit = body_max_results(req.max_results)?;
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
            .map(|w| WorkloadSummaryOut::new(&store, w))
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
        Ok(json_bytes(&GetWorkloadOut::new(&store, find(&store, &id)?)))
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
        Ok(json_bytes(&GetWorkloadOut::new(&store, find(&store, &id)?)))
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

/// The members of CreateWorkloadInput the simulator keeps; the others are ignored.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateWorkloadIn {
    workload_name: Option<String>,
    description: Option<String>,
    environment: Option<String>,
    account_ids: Option<Vec<String>>,
    review_owner: Option<String>,
    lenses: Option<Vec<String>>,
    notes: Option<String>,
    client_request_token: Option<String>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateWorkloadOut<'a> {
    workload_id: &'a str,
    workload_arn: &'a str,
}

/// CreateWorkload: the owner is the first of `AccountIds` (the simulator has no
/// caller identity), else 111122223333; every lens must be one the simulator knows
/// (404 otherwise); the name is unique per owner as for UpdateWorkload. A retry
/// with the ClientRequestToken of a create that succeeded answers that workload.
pub(super) async fn create_workload(State(sim): State<Simulator>, body: Bytes) -> Response {
    call(&sim, Op::CreateWorkload, None, |inner| {
        let req: CreateWorkloadIn = parse_body(&body)?;
        let required = |field: &'static str| ApiError::field(field, format!("{field} is required"));
        let name = req.workload_name.ok_or_else(|| required("WorkloadName"))?;
        let description = req.description.ok_or_else(|| required("Description"))?;
        let environment = req.environment.ok_or_else(|| required("Environment"))?;
        let labels = req.lenses.ok_or_else(|| required("Lenses"))?;
        let token = req
            .client_request_token
            .filter(|t| (1..=2048).contains(&t.len()))
            .ok_or_else(|| required("ClientRequestToken"))?;
        let mut store = inner.write();
        if let Some(w) = store.created_by(&token).and_then(|id| store.get(id)) {
            return Ok(json_bytes(&CreateWorkloadOut {
                workload_id: &w.id,
                workload_arn: &w.arn,
            }));
        }
        let mut lenses = Vec::new();
        for label in &labels {
            let key = lens_key(label, &inner.region)?;
            let lens = store.lens(key).ok_or_else(|| {
                ApiError::not_found("LENS", label, format!("[ResourceNotFound] No lens {label}"))
            })?;
            if !lenses.contains(&lens.alias) {
                lenses.push(lens.alias.clone());
            }
        }
        let owner = req
            .account_ids
            .and_then(|ids| ids.into_iter().next())
            .unwrap_or_else(|| "111122223333".to_owned());
        let spec = WorkloadSpec {
            owner,
            lenses,
            tags: req.tags.unwrap_or_default(),
            ..WorkloadSpec::default()
        };
        let id = random_workload_id(&mut rand::rng());
        let w = Workload::from_spec(&spec, &inner.region, id.clone(), now_epoch_seconds())
            .map_err(|e| ApiError::field("Tags", e))?;
        store.insert(w).map_err(ApiError::Internal)?;
        let update = WorkloadUpdate {
            name: Some(name),
            description: Some(description),
            environment: Some(environment),
            review_owner: req.review_owner,
            notes: req.notes,
            improvement_status: None,
        };
        if let Err(e) = edit::update(&mut store, &id, &update) {
            store.remove(&id);
            return Err(e.into());
        }
        store.remember_create(&token, &id);
        let w = find(&store, &id)?;
        Ok(json_bytes(&CreateWorkloadOut {
            workload_id: &w.id,
            workload_arn: &w.arn,
        }))
    })
    .await
}
