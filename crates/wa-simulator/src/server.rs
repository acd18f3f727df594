//! Serving the simulator over HTTP: the Well-Architected API and `/_sim/` on one
//! listener.

use std::net::SocketAddr;

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
    /// Unsigned requests (the `/_sim/` admin API) go to the first simulator.
    pub async fn serve_regions(addr: SocketAddr, sims: &[Simulator]) -> anyhow::Result<SimServer> {
        anyhow::ensure!(
            !sims.is_empty(),
            "serve_regions needs at least one simulator"
        );
        let routes: Vec<(String, Router)> = sims
            .iter()
            .map(|s| (s.region().to_owned(), s.router()))
            .collect();
        let app = Router::new().fallback(move |request: axum::extract::Request| {
            let region = signed_region(request.headers()).map(str::to_owned);
            let router = routes
                .iter()
                .find(|(r, _)| Some(r) == region.as_ref())
                .unwrap_or(&routes[0])
                .1
                .clone();
            async move {
                tower::ServiceExt::oneshot(router, request)
                    .await
                    .into_response()
            }
        });
        serve_app(addr, app).await
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
