//! Handles events pushed to `POST /events` from the durable inbox table, so an
//! event accepted with 202 survives a crash or a restart before it is evaluated.
//!
//! A failed attempt (the evaluation could not be recorded) waits longer each
//! time before the next; a deferred one (the daemon is stopping, another replica
//! is evaluating the workload) waits briefly and is not counted. Only
//! [`MAX_INBOX_ATTEMPTS`] real failures set an event aside.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::shutdown::CancellationToken;

use super::{EventHandler, Handled, NotHandled};
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
}

impl InboxProcessor {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            // A stop signal that came during the last batch ends the loop here:
            // what is still pending stays in the inbox for the next start.
            if shutdown.is_cancelled() {
                return;
            }
            let more_waiting = match self.process_batch().await {
                Ok(full) => full,
                Err(error) => {
                    tracing::warn!(
                        error = crate::display::chain(&error).to_string(),
                        "reading the event inbox failed"
                    );
                    false
                }
            };
            if more_waiting {
                continue;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Handles the pending events that are due, concurrently (so bursts coalesce
    /// in the work queue). Returns whether the batch was full, i.e. more may be
    /// waiting.
    async fn process_batch(&self) -> anyhow::Result<bool> {
        let pending = self.store.inbox_pending(INBOX_BATCH, Utc::now()).await?;
        let count = pending.len();
        let results = futures::future::join_all(
            pending
                .iter()
                .map(|row| self.handler.handle_pushed(&row.body)),
        )
        .await;
        let now = Utc::now();
        let attempts: Vec<InboxAttempt> = pending
            .iter()
            .zip(results)
            .map(|(row, result)| attempt(row, result, now))
            .collect();
        // One commit for the batch: each event's evaluation has committed by
        // now; until this does, the events stay pending and a crash only
        // evaluates them again.
        self.store.inbox_finish(&attempts, now).await?;
        Ok(count == INBOX_BATCH as usize)
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
