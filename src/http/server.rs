//! The accept loop: HTTP/1.1 with a header read timeout, at most
//! `http.max_connections` connections open, and a deadline on graceful shutdown.
//!
//! `axum::serve` has neither a header timeout nor a connection cap nor a
//! shutdown deadline, so one client sending headers a byte a minute held its
//! connection (and a graceful shutdown) for as long as it liked.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::shutdown::CancellationToken;
use tokio::task::JoinSet;

use crate::config::HttpSettings;

/// What bounds the listener, from `[http]`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub shutdown_timeout: Duration,
}

impl From<&HttpSettings> for Limits {
    fn from(http: &HttpSettings) -> Self {
        Limits {
            max_connections: http.max_connections,
            header_read_timeout: http.header_read_timeout,
            shutdown_timeout: http.shutdown_timeout,
        }
    }
}

/// After a failed accept (e.g. out of file descriptors), wait before the next:
/// retrying at once would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connections that wait in the kernel for the daemon to accept them, beyond
/// the `http.max_connections` it serves: a burst of event senders waits there
/// (costing the daemon nothing) instead of having its connections dropped. The
/// standard library's 128 dropped `POST /events` connections at 1,000 events/s.
const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `address` with [`LISTEN_BACKLOG`] (the kernel may cap it at
/// `net.core.somaxconn`).
pub fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restart may rebind while old connections
    // linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `app` on `listener` until `shutdown`; then lets open connections finish
/// their requests for `limits.shutdown_timeout` and drops what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (drain, draining) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        // At the cap, stop accepting: new clients wait in the kernel's backlog
        // instead of taking file descriptors the daemon needs for its database.
        let slot = tokio::select! {
            _ = shutdown.cancelled() => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let (app, draining) = (app.clone(), draining.clone());
        connections.spawn(async move {
            serve_connection(stream, app, limits.header_read_timeout, draining).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = drain.send(true);
    let finished = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            open = connections.len(),
            "HTTP connections still open after http.shutdown_timeout; dropping them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// One connection: requests until the client leaves, a header read times out
/// (which also closes idle keep-alive connections), or the listener drains.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    header_read_timeout: Duration,
    mut draining: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    // Handlers that bound what one client may do (failed logins, manual runs)
    // read its address as axum's `ConnectInfo`.
    let peer = stream
        .peer_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let app = app.map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
            return;
        }
        _ = draining.wait_for(|draining| *draining) => {}
    }
    // Finish the request in progress, if any, then close.
    connection.as_mut().graceful_shutdown();
    if let Err(error) = connection.await {
        tracing::debug!(%error, "HTTP connection ended with an error while draining");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections beyond the standard library's backlog of 128 wait to be
    /// accepted instead of being dropped: 300 connect while none is accepted.
    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_backlog() {
        let listener = listen(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let address = listener.local_addr().unwrap();
        let connecting = (0..300)
            .map(|_| tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)));
        let connected = futures::future::join_all(connecting).await;
        let failed = connected.iter().filter(|c| !matches!(c, Ok(Ok(_)))).count();
        assert_eq!(failed, 0, "{failed} of 300 connections were not queued");
    }
}
