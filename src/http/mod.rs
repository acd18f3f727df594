//! The daemon's HTTP listener (loopback by default): health, readiness,
//! Prometheus metrics, `POST /events` for EventBridge API destinations,
//! `POST /graphql`, which reads every control, and the status page ([`web`]).

mod access;
mod admission;
mod body;
mod graphql;
mod server;
pub use server::listen;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::{Level, Span};

pub use access::Access;

use crate::config::HttpSettings;
use crate::events::{EventHandler, Handled, Intake, Triage};
use crate::graphql::Rel04Schema;
use crate::shutdown::CancellationToken;
use crate::status::Status;
use crate::store::Store;

/// EventBridge events are at most 256 KiB.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;
/// GraphQL queries are small; this bounds what a client can make us parse.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// What the HTTP handlers use, and nothing more.
#[derive(Clone)]
pub struct HttpState {
    pub settings: Arc<HttpSettings>,
    pub store: Store,
    /// Liveness, readiness and the gauges read at scrape time.
    pub status: Arc<Status>,
    pub graphql: Rel04Schema,
    pub events_token: Option<SecretString>,
    /// Stores pushed events (group commits) and wakes the inbox processor.
    pub pushed: Arc<crate::events::push::PushedEvents>,
    /// Reads and routes pushed events, and counts and logs what is not evaluated.
    pub events: Arc<EventHandler>,
    /// The status page's reads and live updates.
    pub web: Arc<web::Web>,
}

/// The routes, for a listener bound to `listening_on` (a name `Host` may carry).
pub fn router(state: HttpState, listening_on: SocketAddr) -> Router {
    let http = &*state.settings;
    let access = Access::new(http, listening_on);
    // GraphQL and the status page read everything: without a token they are
    // served on loopback only.
    let open_beyond_loopback = http.graphql_token.is_none() && !listening_on.ip().is_loopback();
    let off = |what: &str| {
        open_beyond_loopback.then(|| {
            format!(
                "{what} is off: {listening_on} is not a loopback address and http.graphql_token is not set"
            )
        })
    };
    let endpoint = Arc::new(graphql::Endpoint {
        schema: state.graphql.clone(),
        access: access.clone(),
        token: http.graphql_token.clone(),
        off: off("GraphQL"),
        body_read_timeout: http.body_read_timeout,
        admission: admission::Admission::new(graphql::MAX_CONCURRENT, http.request_timeout),
    });
    let pages = web::routes(
        state.web.clone(),
        web::Gate {
            access: access.clone(),
            token: http.graphql_token.clone(),
            off: off("The status page"),
            body_read_timeout: http.body_read_timeout,
            throttle: web::LoginThrottle::default(),
        },
    );
    let events = EventsEndpoint {
        state: state.clone(),
        access,
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
        .merge(pages)
        .route("/events", post(post_event).with_state(Arc::new(events)))
        // Guardrails' path too, so its scripts need only a new host and key.
        .route(
            "/api/latest/graphql",
            post(graphql::graphql).with_state(endpoint.clone()),
        )
        .route("/graphql", post(graphql::graphql).with_state(endpoint))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // Handlers log their own errors; a 503 from a probe is not one.
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
}

/// One span per request, named `http` with its method and path: INFO for the
/// API, DEBUG for probes and scrapes, which come every few seconds. Request and
/// response lines themselves are DEBUG (tower-http's defaults).
fn request_span(request: &Request) -> Span {
    let (method, path) = (request.method(), request.uri().path());
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        tracing::debug_span!("http", %method, path)
    } else {
        tracing::info_span!("http", %method, path)
    }
}

/// Serves until shutdown; in-flight requests get `http.shutdown_timeout` to finish.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listening_on = listener.local_addr()?;
    let limits = server::Limits::from(&*state.settings);
    server::serve(listener, router(state, listening_on), limits, shutdown).await
}

/// The client's IP address as the accept loop recorded it ([`server`]); the
/// unspecified address for a request that did not come through it.
fn client_ip(extensions: &axum::http::Extensions) -> std::net::IpAddr {
    extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |info| info.0.ip())
}

/// Whether `headers` carry `Authorization: Bearer <token>`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials)
        .unwrap_or("");
    presented
        .as_bytes()
        .ct_eq(token.expose_secret().as_bytes())
        .into()
}

/// Whether `headers` carry the GraphQL token: as a bearer token, or as the
/// password of `Authorization: Basic base64(key:secret)`, the way Guardrails'
/// scripts send an access key and secret (the key, the user part, is ignored).
fn token_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_password);
    match basic {
        Some(password) => password
            .as_bytes()
            .ct_eq(token.expose_secret().as_bytes())
            .into(),
        None => bearer_matches(headers, token),
    }
}

/// The password of an `Authorization: Basic base64(user:password)` value.
fn basic_password(value: &str) -> Option<String> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = data_encoding::BASE64
        .decode(credentials.trim().as_bytes())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.1.to_owned())
}

/// The credentials of an `Authorization: Bearer <token>` value. Auth schemes are
/// case-insensitive (RFC 9110 §11.1), so `bearer` and `BEARER` count too.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start())
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Alive unless wedged: when every write to the state database has failed for
/// a while, a restart is the supervisor's best remedy.
async fn healthz(State(state): State<HttpState>) -> Response {
    match state.status.unhealthy() {
        Some(why) => error(StatusCode::SERVICE_UNAVAILABLE, why),
        None => (StatusCode::OK, "ok\n").into_response(),
    }
}

/// Ready when healthy, the database answers and every scope was swept
/// completely recently ([`Status::ready`]).
async fn readyz(State(state): State<HttpState>) -> Response {
    match state.status.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => error(StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

async fn metrics(State(state): State<HttpState>) -> Response {
    state.status.refresh_gauges().await;
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.status.metrics().render(),
    )
        .into_response()
}

struct EventsEndpoint {
    state: HttpState,
    access: Access,
}

/// Accepts one EventBridge event: 202 once stored durably, 200 when valid but
/// irrelevant, 4xx with a reason otherwise.
async fn post_event(State(endpoint): State<Arc<EventsEndpoint>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    // EventBridge sends application/json; a client that sends no type is let
    // through, because the bearer token already keeps web pages out.
    let checks = endpoint
        .access
        .check_origin(headers)
        .and_then(|()| access::check_json(headers, false));
    if let Err((status, message)) = checks {
        return error(status, message);
    }
    let state = &endpoint.state;
    let Some(token) = &state.events_token else {
        return error(
            StatusCode::NOT_FOUND,
            "POST /events is off (set http.events_token)",
        );
    };
    if !bearer_matches(headers, token) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    let timeout = state.settings.body_read_timeout;
    let body = match body::read(body, MAX_EVENT_BYTES, timeout).await {
        Ok(bytes) => match String::from_utf8(bytes.to_vec()) {
            Ok(text) => text,
            Err(_) => return error(StatusCode::BAD_REQUEST, "the body is not UTF-8 text"),
        },
        Err((status, message)) => return error(status, message),
    };
    let event = match state.events.triage(&body) {
        Triage::Evaluate(event, _) => event,
        Triage::Settled {
            event_id,
            event_name,
            handled,
        } => {
            state.events.record(
                Intake::Http,
                event_id.as_deref(),
                event_name.as_deref(),
                &handled,
            );
            let reason = handled.reason().unwrap_or_default().to_owned();
            if let Handled::Malformed(_) = handled {
                // The parser's words, as the 400 has always said them.
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("malformed event: {reason}"),
                );
            }
            let body = json!({
                "status": "ignored",
                "outcome": handled.outcome().as_str(),
                "id": event_id,
                "reason": format!("ignored: {reason}"),
            });
            return (StatusCode::OK, Json(body)).into_response();
        }
    };
    // An event stored now could not be evaluated: let the sender keep it.
    if let Some(why) = state.status.unhealthy() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("cannot handle events now ({why}); retry"),
        );
    }
    let event_id = event.event_id.clone();
    match state.pushed.store(body, Some(event)).await {
        Ok(_) => {
            let body = json!({ "status": "accepted", "id": event_id });
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
        Err(e) => {
            tracing::error!(
                error = crate::display::chain(&e).to_string(),
                "cannot store a pushed event"
            );
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the event; retry",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{basic_password, bearer_credentials, token_matches};
    use axum::http::{HeaderMap, HeaderValue, header};
    use secrecy::SecretString;

    #[test]
    fn guardrails_basic_credentials_carry_the_token_as_password() {
        // base64("AKIAEXAMPLEKEY:s3cr3t-token")
        let basic = format!(
            "Basic {}",
            data_encoding::BASE64.encode(b"AKIAEXAMPLEKEY:s3cr3t-token")
        );
        assert_eq!(basic_password(&basic).as_deref(), Some("s3cr3t-token"));
        let token = SecretString::from("s3cr3t-token");
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            token_matches(&headers, &token)
        };
        assert!(with(&basic));
        assert!(with("Bearer s3cr3t-token"));
        let wrong = format!("Basic {}", data_encoding::BASE64.encode(b"s3cr3t-token:x"));
        for value in [
            wrong.as_str(),
            "Basic !!!",
            "Basic czNjcjN0LXRva2Vu",
            "Bearer x",
        ] {
            assert!(!with(value), "{value}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in [
            "Bearer t0k3n",
            "bearer t0k3n",
            "BEARER t0k3n",
            "bEaReR  t0k3n",
        ] {
            assert_eq!(bearer_credentials(value), Some("t0k3n"), "{value}");
        }
        for value in ["Basic t0k3n", "Bearert0k3n", "t0k3n", ""] {
            assert_eq!(bearer_credentials(value), None, "{value}");
        }
    }
}
