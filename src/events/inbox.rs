//! Handles events pushed to `POST /events` from the durable inbox table, so an
//! event accepted with 202 survives a crash or a restart before it is evaluated.
//!
//! A failed attempt (the evaluation could not be recorded) waits longer each
//! time before the next; a deferred one (the daemon is stopping, another replica
//! is evaluating the workload) waits briefly and is not counted. Only
//! [`MAX_INBOX_ATTEMPTS`] real failures set an event aside.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;

use crate::shutdown::CancellationToken;

use super::{EventHandler, Handled, Incoming, Intake, NotHandled};
use crate::store::{AttemptEnd, InboxAttempt, InboxRow, Store};

/// Failed attempts before a pushed event is given up on (its error stays in the
/// inbox). With [`backoff`], that is about an hour of failures.
const MAX_INBOX_ATTEMPTS: i64 = 20;
const INBOX_BATCH: i64 = 50;
/// How long a deferred event waits before it is tried again.
const DEFER: chrono::Duration = chrono::Duration::seconds(5);

/// The wait after `failures` failed attempts: 2 s, doubling, at most 5 minutes.
fn backoff(failures: i64) -> chrono::Duration {
    let doublings = failures.clamp(1, 16) - 1;
    chrono::Duration::seconds((2_i64 << doublings).min(300))
}

pub struct InboxProcessor {
    pub store: Store,
    pub handler: Arc<EventHandler>,
    /// Rung by the HTTP endpoint after it stores an event.
    pub wake: Arc<Notify>,
    /// What the HTTP endpoint parsed of the events it stored.
    pub learnt: Arc<super::push::Learnt>,
}

/// Batches handled at once: the next one is read and started while a slow
/// evaluation holds up the last, so one slow call does not stall the events
/// behind it.
const BATCHES_IN_FLIGHT: usize = 2;

impl InboxProcessor {
    pub async fn run(self, shutdown: CancellationToken) {
        // Inbox ids of the batches being handled: a read while they run must
        // not hand out their rows again.
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut running = FuturesUnordered::new();
        loop {
            // A stop signal ends the loop once the running batches are
            // recorded: what is still pending stays in the inbox for the next start.
            if shutdown.is_cancelled() {
                while running.next().await.is_some() {}
                return;
            }
            let mut more_waiting = false;
            if running.len() < BATCHES_IN_FLIGHT {
                match self.next_batch(&in_flight).await {
                    Ok((batch, full)) => {
                        more_waiting = full;
                        if !batch.is_empty() {
                            in_flight.extend(batch.iter().map(|row| row.id));
                            running.push(self.process_batch(batch));
                        }
                    }
                    Err(error) => tracing::warn!(
                        error = crate::display::chain(&error).to_string(),
                        "reading the event inbox failed"
                    ),
                }
            }
            if more_waiting && running.len() < BATCHES_IN_FLIGHT {
                continue;
            }
            tokio::select! {
                Some(ids) = running.next() => {
                    for id in ids {
                        in_flight.remove(&id);
                    }
                }
                _ = self.wake.notified(), if running.len() < BATCHES_IN_FLIGHT => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }

    /// The pending events that are due and not already being handled, oldest
    /// first, at most [`INBOX_BATCH`]; and whether more may be waiting.
    async fn next_batch(&self, in_flight: &HashSet<i64>) -> anyhow::Result<(Vec<InboxRow>, bool)> {
        let limit = INBOX_BATCH + in_flight.len() as i64;
        let pending = self.store.inbox_pending(limit, Utc::now()).await?;
        let full = pending.len() as i64 == limit;
        let batch: Vec<InboxRow> = pending
            .into_iter()
            .filter(|row| !in_flight.contains(&row.id))
            .take(INBOX_BATCH as usize)
            .collect();
        Ok((batch, full))
    }

    /// Handles a batch of pending events concurrently (so bursts coalesce in
    /// the work queue) and records how each ended. Returns the batch's inbox
    /// ids, handled or not (a failure leaves them pending for a later read).
    async fn process_batch(&self, pending: Vec<InboxRow>) -> Vec<i64> {
        let ids = pending.iter().map(|row| row.id).collect();
        if let Err(error) = self.handle_and_finish(&pending).await {
            tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "handling a batch of pushed events failed; they stay pending"
            );
        }
        ids
    }

    async fn handle_and_finish(&self, pending: &[InboxRow]) -> anyhow::Result<()> {
        let mut events: Vec<Incoming<'_>> = pending
            .iter()
            .map(|row| Incoming {
                body: &row.body,
                parsed: self.learnt.take(row.id),
                queued_at: None,
                span: tracing::Span::none(),
            })
            .collect();
        let results = self.handler.handle_batch(Intake::Http, &mut events).await?;
        let now = Utc::now();
        let attempts: Vec<InboxAttempt> = pending
            .iter()
            .zip(results)
            .map(|(row, result)| attempt(row, result, now))
            .collect();
        // One commit for the batch: each event's evaluation has committed by
        // now; until this does, the events stay pending and a crash only
        // evaluates them again.
        self.store.inbox_finish(&attempts, now).await
    }
}

/// How one attempt at `row` ends, from its handling's `result`.
fn attempt(
    row: &InboxRow,
    result: Result<(Handled, Option<String>), NotHandled>,
    now: DateTime<Utc>,
) -> InboxAttempt {
    let (processed, end) = match result {
        Ok((Handled::Malformed(reason), _)) => {
            tracing::warn!(inbox_id = row.id, error = %reason, "pushed event set aside");
            (None, AttemptEnd::Done(Some(reason)))
        }
        Ok((handled, remembered)) => (
            remembered.map(|id| (id, handled.outcome().as_str())),
            AttemptEnd::Done(None),
        ),
        Err(NotHandled::Deferred(why)) => (
            None,
            AttemptEnd::Retry {
                error: why,
                at: now + DEFER,
                counted: false,
            },
        ),
        Err(NotHandled::Failed(error)) => {
            let error = crate::display::chain(&error).to_string();
            let failures = row.attempts + 1;
            if failures >= MAX_INBOX_ATTEMPTS {
                tracing::warn!(inbox_id = row.id, error = %error, "pushed event set aside");
                (None, AttemptEnd::Done(Some(error)))
            } else {
                let at = now + backoff(failures);
                (
                    None,
                    AttemptEnd::Retry {
                        error,
                        at,
                        counted: true,
                    },
                )
            }
        }
    };
    InboxAttempt {
        id: row.id,
        processed,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_from_two_seconds_to_five_minutes() {
        let waits: Vec<i64> = (1..MAX_INBOX_ATTEMPTS)
            .map(|n| backoff(n).num_seconds())
            .collect();
        assert_eq!(&waits[..6], &[2, 4, 8, 16, 32, 64]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), 300);
        let total: i64 = waits.iter().sum();
        assert!(
            total > 30 * 60,
            "failures span more than half an hour: {total} s"
        );
    }
}
