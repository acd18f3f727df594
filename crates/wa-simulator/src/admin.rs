//! The `/_sim/` HTTP admin API: the in-process admin methods as JSON, for
//! out-of-process users (the demo, benchmark scripts). Errors are `{"error": "..."}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::catalog::LensDef;
use super::sim::Simulator;
use super::types::{AnswerSpec, Faults, WorkloadSpec};

pub fn router() -> Router<Simulator> {
    Router::new()
        .route("/_sim/workloads", get(list).post(create))
        .route("/_sim/workloads/{id}", get(show).delete(delete))
        .route("/_sim/workloads/{id}/answer", put(set_answer))
        .route("/_sim/workloads/{id}/tags", put(set_tags))
        .route("/_sim/workloads/{id}/lenses", put(set_lenses))
        .route(
            "/_sim/workloads/{id}/lenses/{lens}/status",
            put(set_lens_status),
        )
        .route(
            "/_sim/workloads/{id}/answers/{lens}/{question}",
            put(set_question_answer),
        )
        .route("/_sim/lenses", post(add_lens))
        .route("/_sim/calls/workloads/{id}", get(workload_calls))
        .route("/_sim/faults", get(get_faults).put(set_faults))
        .route("/_sim/calls", get(calls))
        .route("/_sim/calls/reset", post(reset_calls))
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({"error": message.to_string()}))).into_response()
}

/// Parses a JSON body; the error is the ready 400 answer, boxed to keep `Result` small.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| Box::new(error(StatusCode::BAD_REQUEST, e)))
}

/// Unknown workload → 404, anything else the admin call rejects → 400.
fn updated(sim: &Simulator, id: &str, result: anyhow::Result<()>) -> Response {
    match (result, sim.workload(id)) {
        (Ok(()), Some(info)) => Json(info).into_response(),
        (_, None) => error(StatusCode::NOT_FOUND, format!("no workload {id}")),
        (Err(e), Some(_)) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn list(State(sim): State<Simulator>) -> Response {
    Json(sim.workloads()).into_response()
}

async fn show(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    match sim.workload(&id) {
        Some(info) => Json(info).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no workload {id}")),
    }
}

async fn create(State(sim): State<Simulator>, body: Bytes) -> Response {
    let spec: WorkloadSpec = match parse(&body) {
        Ok(spec) => spec,
        Err(r) => return *r,
    };
    match sim.try_add_workload(spec) {
        Ok(info) => (StatusCode::CREATED, Json(info)).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn delete(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    match sim.delete_workload(&id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, format!("{e:#}")),
    }
}

async fn set_answer(State(sim): State<Simulator>, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<AnswerSpec>(&body) {
        Ok(answer) => updated(&sim, &id, sim.set_answer(&id, answer)),
        Err(r) => *r,
    }
}

async fn set_tags(State(sim): State<Simulator>, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<BTreeMap<String, String>>(&body) {
        Ok(tags) => updated(&sim, &id, sim.set_tags(&id, tags)),
        Err(r) => *r,
    }
}

async fn set_lenses(State(sim): State<Simulator>, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<Vec<String>>(&body) {
        Ok(lenses) => updated(&sim, &id, sim.set_lenses(&id, lenses)),
        Err(r) => *r,
    }
}

async fn get_faults(State(sim): State<Simulator>) -> Response {
    Json(sim.faults()).into_response()
}

async fn set_faults(State(sim): State<Simulator>, body: Bytes) -> Response {
    let faults: Faults = match parse(&body) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if let Err(e) = faults.validate() {
        return error(StatusCode::BAD_REQUEST, e);
    }
    sim.set_faults(faults);
    Json(sim.faults()).into_response()
}

async fn calls(State(sim): State<Simulator>) -> Response {
    Json(sim.calls()).into_response()
}

async fn reset_calls(State(sim): State<Simulator>) -> Response {
    sim.reset_calls();
    StatusCode::NO_CONTENT.into_response()
}

/// Body: `{"status": "NOT_CURRENT"}`.
async fn set_lens_status(
    State(sim): State<Simulator>,
    Path((id, lens)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Status {
        status: String,
    }
    match parse::<Status>(&body) {
        Ok(s) => updated(&sim, &id, sim.set_lens_status(&id, &lens, &s.status)),
        Err(r) => *r,
    }
}

async fn set_question_answer(
    State(sim): State<Simulator>,
    Path((id, lens, question)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    match parse::<AnswerSpec>(&body) {
        Ok(answer) => updated(
            &sim,
            &id,
            sim.set_question_answer(&id, &lens, &question, answer),
        ),
        Err(r) => *r,
    }
}

async fn add_lens(State(sim): State<Simulator>, body: Bytes) -> Response {
    let lens: LensDef = match parse(&body) {
        Ok(lens) => lens,
        Err(r) => return *r,
    };
    let alias = lens.alias.clone();
    match sim.add_lens(lens) {
        Ok(()) => (StatusCode::CREATED, Json(json!({"alias": alias}))).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn workload_calls(State(sim): State<Simulator>, Path(id): Path<String>) -> Response {
    Json(sim.workload_calls(&id)).into_response()
}
