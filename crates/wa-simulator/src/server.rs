//! Serving the simulator over HTTP: the Well-Architected API and `/_sim/` on one
//! listener.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::errors::ApiError;
use super::routes::OPERATIONS;
use super::sim::Simulator;
use super::{admin, api};

/// A running simulator server. Dropping it stops the server (gracefully, in the
/// background); [`SimServer::shutdown`] stops it and waits.
pub struct SimServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// `http://<addr>`, ready for an SDK `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Any request that matches no operation (an unknown path, or a known path with
/// another method) gets the REST-JSON routing error of Smithy's servers: 404
/// `UnknownOperationException` in the service's JSON error shape, never a bare 405,
/// so an SDK user sees a clear code and a message naming the request.
async fn unknown_operation(State(sim): State<Simulator>, method: Method, uri: Uri) -> Response {
    let supported: Vec<&str> = OPERATIONS.iter().map(|op| op.name).collect();
    let message = format!(
        "The simulator implements no operation {method} {}; it implements {}",
        uri.path(),
        supported.join(", ")
    );
    api::respond(&sim.inner, Err(ApiError::UnknownOperation(message)))
}

impl Simulator {
    /// The full HTTP application, for embedding in another server or tests.
    pub fn router(&self) -> Router {
        api::router()
            .merge(admin::router())
            .fallback(unknown_operation)
            .method_not_allowed_fallback(unknown_operation)
            .with_state(self.clone())
    }

    /// Binds `addr` (port 0 picks a free port), spawns the server on the current
    /// Tokio runtime and returns at once.
    pub async fn serve(&self, addr: SocketAddr) -> anyhow::Result<SimServer> {
        serve_app(addr, self.router()).await
    }

    /// Serves several regional simulators on one listener, as one endpoint per
    /// region would: each request goes to the simulator of the region in its SigV4
    /// credential scope (`Credential=<key>/<date>/<region>/wellarchitected/…`).
    /// Unsigned requests (the `/_sim/` admin API), and requests signed for a region
    /// no simulator has, go to the first simulator.
    ///
    /// A request costs the same whatever the number of regions: one map lookup, no
    /// copy of the table (axum clones a handler for every request it serves, so
    /// the table is behind an `Arc`).
    pub async fn serve_regions(addr: SocketAddr, sims: &[Simulator]) -> anyhow::Result<SimServer> {
        anyhow::ensure!(
            !sims.is_empty(),
            "serve_regions needs at least one simulator"
        );
        let routes = Arc::new(RegionRoutes::new(sims));
        let app = Router::new().fallback(move |request: axum::extract::Request| {
            let router = routes.for_region(signed_region(request.headers())).clone();
            async move {
                tower::ServiceExt::oneshot(router, request)
                    .await
                    .into_response()
            }
        });
        serve_app(addr, app).await
    }
}

/// Each region's application, and the first simulator's for requests that name
/// no region it serves.
struct RegionRoutes {
    by_region: HashMap<String, Router>,
    first: Router,
}

impl RegionRoutes {
    fn new(sims: &[Simulator]) -> Self {
        let first = sims[0].router();
        let mut by_region = HashMap::with_capacity(sims.len());
        for sim in sims.iter().rev() {
            // In reverse, so that of two simulators of one region the first wins,
            // as it did when the table was searched in order.
            by_region.insert(sim.region().to_owned(), sim.router());
        }
        Self { by_region, first }
    }

    fn for_region(&self, region: Option<&str>) -> &Router {
        region
            .and_then(|r| self.by_region.get(r))
            .unwrap_or(&self.first)
    }
}

/// The region of a SigV4 `Authorization` header's credential scope.
fn signed_region(headers: &axum::http::HeaderMap) -> Option<&str> {
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split('/').nth(2)
}

async fn serve_app(addr: SocketAddr, app: Router) -> anyhow::Result<SimServer> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the simulator to {addr}"))?;
    let addr = listener.local_addr()?;
    // Small request/response pairs: Nagle would add delayed-ACK stalls.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("simulator: TCP_NODELAY failed: {e}");
        }
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            tracing::warn!("simulator server on {addr} failed: {e}");
        }
    });
    tracing::debug!("simulator listening on {addr}");
    Ok(SimServer {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}
