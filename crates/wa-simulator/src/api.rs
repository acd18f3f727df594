//! The REST-JSON plumbing of the operations: routing from [`OPERATIONS`], faults,
//! latency, counting and the response envelope (handlers are in `workloads.rs`,
//! `answers.rs` and `tags.rs`).

use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};

use super::answers::{get_answer, list_answers, update_answer};
use super::errors::ApiError;
use super::faults::Injected;
use super::lens::{LENS_ALIAS, QUESTION_ID};
use super::lenses::{get_lens, list_lenses};
use super::milestones::{create_milestone, get_milestone, list_milestones};
use super::notifications::list_notifications;
use super::reviews::{
    associate_lenses, disassociate_lenses, get_lens_review, list_lens_reviews, update_lens_review,
    upgrade_lens_review,
};
use super::routes::{OPERATIONS, OperationRoute, UNSUPPORTED};
use super::sim::{Inner, Simulator};
use super::stats::{Op, Outcome};
use super::tags::{list_tags_for_resource, tag_resource, untag_resource};
use super::workloads::{
    create_workload, delete_workload, get_workload, list_workloads, update_workload,
};

/// ListWorkloads' page size when MaxResults is absent (the model's maximum; AWS
/// documents no default).
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// A body's `MaxResults` (1-50, default [`DEFAULT_PAGE_SIZE`]).
pub(super) fn body_max_results(max_results: Option<i64>) -> Result<usize, ApiError> {
    match max_results {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n @ 1..=50) => Ok(n as usize),
        Some(n) => Err(ApiError::field(
            "MaxResults",
            format!("MaxResults {n} must be between 1 and 50"),
        )),
    }
}

/// Operations sharing a URI (GET/PATCH/DELETE `/workloads/{WorkloadId}`) are merged
/// into one route by axum; a method no operation has is answered by the server's
/// unknown-operation handler.
pub fn router() -> Router<Simulator> {
    let implemented = OPERATIONS.iter().fold(Router::new(), |router, route| {
        let filter = method_filter(route);
        let handler: MethodRouter<Simulator> = match route.name {
            "ListWorkloads" => on(filter, list_workloads),
            "GetWorkload" => on(filter, get_workload),
            "CreateWorkload" => on(filter, create_workload),
            "GetAnswer" => on(filter, get_answer),
            "UpdateAnswer" => on(filter, update_answer),
            "ListAnswers" => on(filter, list_answers),
            "ListTagsForResource" => on(filter, list_tags_for_resource),
            "TagResource" => on(filter, tag_resource),
            "UntagResource" => on(filter, untag_resource),
            "UpdateWorkload" => on(filter, update_workload),
            "DeleteWorkload" => on(filter, delete_workload),
            "ListLensReviews" => on(filter, list_lens_reviews),
            "GetLensReview" => on(filter, get_lens_review),
            "UpdateLensReview" => on(filter, update_lens_review),
            "UpgradeLensReview" => on(filter, upgrade_lens_review),
            "AssociateLenses" => on(filter, associate_lenses),
            "DisassociateLenses" => on(filter, disassociate_lenses),
            "ListLenses" => on(filter, list_lenses),
            "GetLens" => on(filter, get_lens),
            "CreateMilestone" => on(filter, create_milestone),
            "ListMilestones" => on(filter, list_milestones),
            "GetMilestone" => on(filter, get_milestone),
            "ListNotifications" => on(filter, list_notifications),
            other => unreachable!("no handler for {other}"),
        };
        serve(router, route.uri, handler)
    });
    UNSUPPORTED.iter().fold(implemented, |router, route| {
        let name = route.name;
        let handler = on(
            method_filter(route),
            move |State(sim): State<Simulator>| async move {
                respond(&sim.inner, Err(ApiError::unsupported(name)))
            },
        );
        serve(router, route.uri, handler)
    })
}

/// Routes `uri`, and, for a URI with a trailing slash, also the same URI without
/// it: botocore's model has changed a trailing slash between versions
/// (`ListProfileNotifications`: `/profileNotifications/` in 1.35,
/// `/profileNotifications` in 1.44), and SDKs built from either call it.
fn serve(
    router: Router<Simulator>,
    uri: &'static str,
    handler: MethodRouter<Simulator>,
) -> Router<Simulator> {
    match uri.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => {
            router.route(uri, handler.clone()).route(trimmed, handler)
        }
        _ => router.route(uri, handler),
    }
}

fn method_filter(route: &OperationRoute) -> MethodFilter {
    let method = Method::from_bytes(route.method.as_bytes()).expect("valid method");
    MethodFilter::try_from(method).expect("routable method")
}

/// Runs one call: fault decision at arrival, latency, the operation, counting.
pub(super) async fn call(
    sim: &Simulator,
    op: Op,
    workload: Option<&str>,
    run: impl FnOnce(&Inner) -> Result<Vec<u8>, ApiError>,
) -> Response {
    let inner = &*sim.inner;
    let decision = inner
        .faults
        .decide(op.name(), workload, op.can_conflict(), Instant::now());
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let result = match decision.fault {
        Some(fault) => Err(injected_error(fault, op, workload.unwrap_or_default())),
        None => run(inner),
    };
    let outcome = result
        .as_ref()
        .map_or_else(ApiError::outcome, |_| Outcome::Ok);
    inner.stats.record(op, outcome, workload);
    respond(inner, result)
}

fn injected_error(fault: Injected, op: Op, workload: &str) -> ApiError {
    match fault {
        Injected::Denied => ApiError::AccessDenied(format!(
            "User is not authorized to perform: wellarchitected:{} on resource {}",
            op.name(),
            if workload.is_empty() { "*" } else { workload }
        )),
        Injected::RateLimited => ApiError::Throttling("Rate exceeded".into()),
        Injected::Throttled => ApiError::Throttling("Rate exceeded (injected)".into()),
        Injected::Internal => ApiError::Internal("Internal server error (injected)".into()),
        Injected::Conflict => ApiError::Conflict {
            message: format!("Workload {workload} is being updated by another request"),
            resource_id: workload.to_string(),
        },
        Injected::QuestionMissing => ApiError::not_found(
            "QUESTION",
            QUESTION_ID,
            format!("[ResourceNotFound] No question {QUESTION_ID} in lens {LENS_ALIAS}"),
        ),
    }
}

/// The response envelope: status, `Content-Type`, `x-amzn-RequestId`, and for errors
/// `X-Amzn-Errortype`. A success with no output member has an empty body.
pub(super) fn respond(inner: &Inner, result: Result<Vec<u8>, ApiError>) -> Response {
    let (status, body, code) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(e) => (e.status(), json_bytes(&e.body()), Some(e.code())),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    // From the String itself: `from_str` would copy it.
    if let Ok(id) = HeaderValue::try_from(inner.next_request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    if let Some(code) = code {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    response
}

pub(super) fn json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("response types always serialize")
}

pub(super) fn parse_body<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::cannot_parse(format!("Invalid request body: {e}")))
}
