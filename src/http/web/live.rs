//! Live updates. One watcher task keeps the newest transition id in a `watch`
//! channel: this process's transitions arrive at once from the reconciler's
//! broadcast (sent after commit); other replicas' and `rel04d evaluate`'s are
//! found by reading `MAX(id)` every [`POLL`], only while a page is watching.
//! Each `GET /live` stream sends the id whenever it grows; the page's script
//! then fetches itself again and swaps the changed parts in.
//!
//! A stream holds a connection for as long as the page is open, so streams are
//! capped (a quarter of `http.max_connections`) and end when the daemon stops.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use futures::stream;
use tokio::sync::{OwnedSemaphorePermit, broadcast, watch};
use tokio::time::MissedTickBehavior;

use super::Web;
use crate::shutdown::CancellationToken;
use crate::store::{Store, TransitionRow};

/// How often the database is asked for transitions other processes recorded.
pub const POLL: Duration = Duration::from_millis(500);

/// Keeps `latest` at the newest transition id until `shutdown`.
pub async fn watch_transitions(
    store: Store,
    mut transitions: broadcast::Receiver<TransitionRow>,
    latest: Arc<watch::Sender<i64>>,
    shutdown: CancellationToken,
) {
    let raise = |id: i64| {
        latest.send_if_modified(|known| {
            let newer = id > *known;
            if newer {
                *known = id;
            }
            newer
        });
    };
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut broadcasting = true;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            received = transitions.recv(), if broadcasting => match received {
                Ok(transition) => raise(transition.id),
                // Missed some: the next poll reads the newest anyway.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => broadcasting = false,
            },
            _ = poll.tick(), if latest.receiver_count() > 0 => {
                match store.latest_transition_id().await {
                    Ok(id) => raise(id),
                    Err(error) => tracing::debug!(error = crate::display::chain(&error).to_string(), "cannot poll for transitions"),
                }
            }
        }
    }
}

/// `GET /live`: `event: transition`, `data: <newest id>` now and whenever it grows.
pub async fn stream(State(web): State<Arc<Web>>) -> Response {
    let Ok(permit) = web.live_streams.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            "too many live pages open; reload later\n",
        )
            .into_response();
    };
    let mut changes = web.latest.subscribe();
    // The first event is the newest id now, so a page rendered before a
    // transition that committed while it loaded refreshes at once.
    let first = match web.store.latest_transition_id().await {
        Ok(id) => id.max(*changes.borrow_and_update()),
        Err(error) => {
            tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "cannot start a live stream"
            );
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot read the state database\n",
            )
                .into_response();
        }
    };
    let open = Open {
        changes,
        shutdown: web.shutdown.clone(),
        _permit: permit,
    };
    let events = stream::once(async move { Ok(event(first)) }).chain(stream::unfold(
        open,
        |mut open| async move {
            tokio::select! {
                _ = open.shutdown.cancelled() => None,
                changed = open.changes.changed() => {
                    changed.ok()?;
                    let id = *open.changes.borrow_and_update();
                    Some((Ok::<Event, Infallible>(event(id)), open))
                }
            }
        },
    ));
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// One open stream: what it waits on, and its slot among the capped streams.
struct Open {
    changes: watch::Receiver<i64>,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
}

fn event(id: i64) -> Event {
    Event::default().event("transition").data(id.to_string())
}
