//! The daemon's HTTP listener (loopback by default): health, readiness,
//! Prometheus metrics, and `POST /events` for EventBridge API destinations.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast};

use crate::events::parse::{self, Parsed};
use crate::graphql::Rel04Schema;
use crate::startup::Daemon;

/// EventBridge events are at most 256 KiB.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// GraphQL queries are small; this bounds what a client can make us parse.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct HttpState {
    pub daemon: Arc<Daemon>,
    pub graphql: Rel04Schema,
    pub events_token: Option<SecretString>,
    /// Rung after an event is stored, so the inbox processor picks it up at once.
    pub inbox_wake: Arc<Notify>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/events",
            post(post_event).layer(DefaultBodyLimit::max(MAX_EVENT_BYTES)),
        )
        .route(
            "/graphql",
            post(graphql).layer(DefaultBodyLimit::max(MAX_QUERY_BYTES)),
        )
        .with_state(state)
}

/// Serves until shutdown; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    mut shutdown: broadcast::Receiver<()>,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = shutdown.recv().await;
        })
        .await
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    presented
        .as_bytes()
        .ct_eq(token.expose_secret().as_bytes())
        .into()
}

/// Runs a GraphQL request; errors are GraphQL-shaped so clients show them.
async fn graphql(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let graphql_error = |status: StatusCode, message: String| {
        (status, Json(json!({ "errors": [{ "message": message }] }))).into_response()
    };
    if let Some(token) = &state.daemon.settings.http.graphql_token
        && !bearer_matches(&headers, token)
    {
        return graphql_error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token".to_owned(),
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            let message = format!("the body is not a GraphQL request ({{\"query\": ...}}): {e}");
            return graphql_error(StatusCode::BAD_REQUEST, message);
        }
    };
    Json(state.graphql.execute(request).await).into_response()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Ready when the database answers and every scope was swept completely
/// recently, by this replica or another (or the daemon is young enough that the
/// first sweep may still be running).
async fn readyz(State(state): State<HttpState>) -> Response {
    let daemon = &state.daemon;
    if let Err(e) = daemon.store.ping().await {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unreachable: {e:#}"),
        );
    }
    let schedule = &daemon.settings.schedule;
    let allowance = (schedule.interval + schedule.jitter) * 2;
    if daemon.started_at.elapsed() <= allowance {
        return (StatusCode::OK, "ready\n").into_response();
    }
    let oldest_allowed = Utc::now() - chrono::Duration::from_std(allowance).unwrap_or_default();
    for scope in &daemon.scopes {
        match daemon.store.last_sweep(scope.key()).await {
            Ok(Some(at)) if at >= oldest_allowed => {}
            Ok(_) => {
                let message = format!("no complete sweep of {} recently", scope.key());
                return error(StatusCode::SERVICE_UNAVAILABLE, message);
            }
            Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, format!("{e:#}")),
        }
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    state.daemon.refresh_gauges().await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.daemon.metrics.render(),
    )
        .into_response()
}

/// Accepts one EventBridge event: 202 once stored durably, 200 when valid but
/// irrelevant, 4xx with a reason otherwise.
async fn post_event(State(state): State<HttpState>, headers: HeaderMap, body: String) -> Response {
    let Some(token) = &state.events_token else {
        return error(
            StatusCode::NOT_FOUND,
            "POST /events is off (set http.events_token)",
        );
    };
    if !bearer_matches(&headers, token) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let tags_enabled = state.daemon.settings.policies.tags.enabled;
    match parse::parse(&body, tags_enabled) {
        Err(malformed) => error(StatusCode::BAD_REQUEST, malformed.to_string()),
        Ok(Parsed::Irrelevant { event_id, why }) => {
            state.daemon.metrics.inc(
                "rel04d_events_total",
                &[("intake", "http"), ("outcome", "irrelevant")],
            );
            (
                StatusCode::OK,
                Json(json!({ "status": "ignored", "id": event_id, "reason": why })),
            )
                .into_response()
        }
        Ok(Parsed::Relevant(event)) => {
            match state.daemon.store.inbox_insert(&body, Utc::now()).await {
                Ok(_) => {
                    state.inbox_wake.notify_one();
                    (
                        StatusCode::ACCEPTED,
                        Json(json!({ "status": "accepted", "id": event.event_id })),
                    )
                        .into_response()
                }
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "cannot store a pushed event");
                    error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "cannot store the event; retry",
                    )
                }
            }
        }
    }
}
