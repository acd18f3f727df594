//! The status page: `GET /` (counts by state, last sweeps, outbox backlog and the
//! controls table with the CLI's filter grammar), `GET /controls/{workload_id}`
//! and `GET /controls/{workload_id}?lens=…&question=…` (one control's state,
//! explanation, mute and history: REL 04's, or the question named), and `GET /live`, a Server-Sent Events
//! stream that tells open pages a transition committed so they refresh in place.
//!
//! Server-rendered with maud; the one script (`static/live.js`) and the style
//! sheet are compiled into the binary, so the page works in an isolated network.
//! Who may look is decided in [`auth`]: the same rule and token as `/graphql`.

mod auth;
mod charts;
mod control;
mod layout;
mod live;
mod overview;
mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{Semaphore, watch};

use super::admission::{Admission, Refused};
use crate::config::HttpSettings;
use crate::config::controls::Controls;

use crate::control::PolicySet;
use crate::reconcile::Reconciler;
use crate::shutdown::CancellationToken;
use crate::store::Store;

pub use auth::Gate;
use live::watch_transitions;
pub use throttle::LoginThrottle;

/// What the pages read, built once per daemon.
pub struct Web {
    pub store: Store,
    pub policies: PolicySet,
    /// `[[controls]]` (the reconciler's): each question's policy names, for
    /// its explain view.
    pub controls: Arc<Controls>,
    /// The configured account-regions, so one never swept still shows.
    pub scopes: Vec<String>,
    /// The newest transition id known: fed by [`watch_transitions`].
    latest: Arc<watch::Sender<i64>>,
    /// Open `/live` streams, bounded so they never take every connection slot.
    live_streams: Arc<Semaphore>,
    /// Pages rendering at once, each within `http.request_timeout`.
    pages: Admission,
    shutdown: CancellationToken,
}

/// Pages rendering at once at most. A page reads with one database connection
/// at a time, and pages take at most half of the pool (`database.max_connections`),
/// so sweeps, GraphQL and readiness always find connections.
pub const MAX_CONCURRENT_PAGES: usize = 4;

impl Web {
    /// The pages' state, and the task that keeps [`Web`]'s latest transition id
    /// current (spawn it beside the HTTP server). A quarter of the listener's
    /// `http.max_connections` (at least one) may be live streams; pages render
    /// [`MAX_CONCURRENT_PAGES`] at once, and at most half of `database_connections`.
    pub fn new(
        store: Store,
        policies: PolicySet,
        scopes: Vec<String>,
        reconciler: &Reconciler,
        http: &HttpSettings,
        database_connections: u32,
        shutdown: CancellationToken,
    ) -> (Arc<Web>, impl Future<Output = ()> + Send + 'static) {
        let (latest, _) = watch::channel(0);
        let latest = Arc::new(latest);
        let watcher = watch_transitions(
            store.clone(),
            reconciler.subscribe(),
            latest.clone(),
            shutdown.clone(),
        );
        let web = Web {
            store,
            policies,
            controls: reconciler.controls().clone(),
            scopes,
            latest,
            live_streams: Arc::new(Semaphore::new((http.max_connections / 4).max(1))),
            pages: Admission::new(
                MAX_CONCURRENT_PAGES.min(database_connections as usize / 2),
                http.request_timeout,
            ),
            shutdown,
        };
        (Arc::new(web), watcher)
    }
}

/// The pages' routes, behind `gate`.
pub(super) fn routes(web: Arc<Web>, gate: Gate) -> Router {
    let gate = Arc::new(gate);
    let pages = Router::new()
        .route("/", get(overview::page))
        .route("/controls/{workload_id}", get(control::page))
        .route_layer(axum::middleware::from_fn_with_state(web.clone(), admit))
        .route("/live", get(live::stream))
        .with_state(web)
        .route_layer(axum::middleware::from_fn_with_state(
            gate.clone(),
            auth::require,
        ));
    Router::new()
        .merge(pages)
        .route(
            "/login",
            get(auth::login_form)
                .post(auth::login)
                .with_state(gate.clone()),
        )
        .route("/static/{file}", get(asset))
}

/// Renders a page within the pages' admission, or says which bound it hit.
async fn admit(State(web): State<Arc<Web>>, request: Request, next: Next) -> Response {
    let refused = match web.pages.run(next.run(request)).await {
        Ok(response) => return response,
        Err(refused) => refused,
    };
    let message = match refused {
        Refused::Busy { .. } => refused.message("pages"),
        Refused::Slow { .. } => format!(
            "{}: a narrower filter (value terms such as state:, account:) or an earlier page",
            refused.message("pages")
        ),
    };
    // Not WARN: a flood of page requests would flood the log too.
    tracing::debug!(%message, "status page refused");
    let mut response = layout::message_page(StatusCode::SERVICE_UNAVAILABLE, "Busy", &message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The vendored style sheet and script.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "style.css" => (include_str!("static/style.css"), "text/css; charset=utf-8"),
        "live.js" => (
            include_str!("static/live.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
