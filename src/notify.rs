//! The outbox publisher: sends `Control State Changed` events to EventBridge.
//!
//! Rows are claimed (so replicas do not send the same one at once), sent with
//! `PutEvents` in batches of at most 10, and marked published only for entries
//! EventBridge accepted; failed entries and throttled calls are retried with
//! backoff. Delivery is at-least-once: consumers dedupe on `transition_id`.
//!
//! With `notify.settle`, a row waits out its window and is then decided once
//! (see [`settle`]): announced, from the state last announced, or collapsed.

pub mod settle;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::Utc;
use tokio::sync::broadcast;
use tracing::Instrument;

use crate::metrics::{Metrics, NotificationLabels, NotificationResult};
use crate::shutdown::CancellationToken;
use crate::store::{OutboxRow, Store, TransitionRow};
use crate::wellarchitected::backoff;

pub const DETAIL_TYPE: &str = "Control State Changed";
/// PutEvents takes at most 10 entries.
const PUT_EVENTS_BATCH: i64 = 10;
/// How long a claim holds before another publisher may take the rows over: longer
/// than one PutEvents call may take (its attempt timeout), so a slow but live
/// publisher is not doubled; a dead one's rows wait at most this long.
const OUTBOX_CLAIM: chrono::Duration = chrono::Duration::seconds(30);

pub struct Publisher {
    pub store: Store,
    pub client: aws_sdk_eventbridge::Client,
    pub event_bus: String,
    pub source: String,
    /// This process's claim name.
    pub owner: String,
    pub metrics: Arc<Metrics>,
    /// `notify.settle`; zero announces every transition at once.
    pub settle: Duration,
}

/// Runs `step` (one batch; how many rows it took, 0 when there was nothing to
/// do) again at once while it finds work, else whenever a transition is recorded
/// and every few seconds (for rows left by a crash or another replica), backing
/// off while it fails, until shutdown.
pub async fn drain_loop<F, Fut>(
    what: &'static str,
    mut step: F,
    mut transitions: broadcast::Receiver<TransitionRow>,
    shutdown: CancellationToken,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    let mut failures = 0;
    loop {
        match step().await {
            Ok(0) => failures = 0,
            Ok(_) => {
                failures = 0;
                continue;
            }
            Err(error) => {
                failures += 1;
                let wait = backoff(
                    failures,
                    Duration::from_millis(200),
                    Duration::from_secs(30),
                );
                tracing::warn!(
                    error = format!("{error:#}"),
                    retry_in_ms = wait.as_millis() as u64,
                    "{what} failed"
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
        }
        tokio::select! {
            _ = transitions.recv() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// How long after its settle window a notification is decided: a transition is
/// stamped before its transaction commits, so one stamped inside the window may
/// become visible a little after it closes.
const SETTLE_GRACE: chrono::Duration = chrono::Duration::seconds(5);

impl Publisher {
    /// Drains the outbox whenever a transition is recorded (and every few seconds,
    /// for rows left by a crash or another replica), until shutdown.
    pub async fn run(
        self,
        transitions: broadcast::Receiver<TransitionRow>,
        shutdown: CancellationToken,
    ) {
        drain_loop(
            "publishing notifications",
            || self.publish_batch(),
            transitions,
            shutdown,
        )
        .await;
    }

    /// Sends one batch; returns how many were accepted. What is logged while
    /// sending carries a `publish` span with the batch's size (ERROR level so
    /// that no log level drops it; it writes no line of its own).
    pub async fn publish_batch(&self) -> anyhow::Result<usize> {
        let now = Utc::now();
        let settle = chrono::Duration::from_std(self.settle).context("notify.settle")?;
        let cutoff = (!settle.is_zero()).then(|| now - settle - SETTLE_GRACE);
        let rows = self
            .store
            .claim_outbox_settling(
                &self.owner,
                PUT_EVENTS_BATCH,
                now,
                now + OUTBOX_CLAIM,
                cutoff,
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let claimed = rows.len();
        let rows = if settle.is_zero() {
            rows
        } else {
            self.settle(rows, settle).await?
        };
        if rows.is_empty() {
            return Ok(claimed);
        }
        let span = tracing::error_span!("publish", batch = rows.len());
        let accepted = self.publish(&rows).instrument(span).await?;
        Ok(accepted + claimed - rows.len())
    }

    /// Decides the rows not yet decided (their window has passed: they were
    /// claimable); returns those to send, payloads as decided.
    async fn settle(
        &self,
        rows: Vec<OutboxRow>,
        settle: chrono::Duration,
    ) -> anyhow::Result<Vec<OutboxRow>> {
        let mut send = Vec::with_capacity(rows.len());
        for mut row in rows {
            if row.settled {
                send.push(row);
                continue;
            }
            let history = self.store.settle_history(row.transition_id).await?;
            match settle::decide(&history, settle) {
                settle::Decision::Collapse => {
                    self.store.mark_collapsed(row.id, Utc::now()).await?;
                    self.count(NotificationResult::Collapsed, 1);
                    tracing::debug!(
                        transition_id = row.transition_id,
                        "notification collapsed by notify.settle"
                    );
                }
                settle::Decision::Announce { from_state } => {
                    let mut payload: serde_json::Value = serde_json::from_str(&row.payload)
                        .context("a queued notification is not JSON")?;
                    payload["from_state"] = from_state.into();
                    row.payload = payload.to_string();
                    self.store
                        .mark_settled(row.id, &row.payload, Utc::now())
                        .await?;
                    row.settled = true;
                    send.push(row);
                }
            }
        }
        Ok(send)
    }

    fn count(&self, result: NotificationResult, n: u64) {
        self.metrics
            .notifications
            .get_or_create(&NotificationLabels { result })
            .inc_by(n);
    }

    async fn publish(&self, rows: &[OutboxRow]) -> anyhow::Result<usize> {
        let entries: Vec<PutEventsRequestEntry> = rows.iter().map(|row| self.entry(row)).collect();
        let output = match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let message = aws_sdk_eventbridge::error::DisplayErrorContext(&error).to_string();
                for row in rows {
                    self.retry_later(row, &message).await?;
                }
                anyhow::bail!("PutEvents failed: {message}");
            }
        };
        let mut accepted = Vec::new();
        for (row, result) in rows.iter().zip(output.entries()) {
            match result.error_code() {
                None => accepted.push(row.id),
                // A refused entry waits its own backoff; the others go on.
                Some(code) => {
                    let message = format!("{code}: {}", result.error_message().unwrap_or(""));
                    tracing::warn!(transition_id = row.transition_id, attempts = row.attempts + 1, error = %message, "EventBridge refused a notification; retrying");
                    self.retry_later(row, &message).await?;
                }
            }
        }
        self.store.mark_published(&accepted, Utc::now()).await?;
        self.count(NotificationResult::Published, accepted.len() as u64);
        Ok(accepted.len())
    }

    /// Records a failed attempt; the row becomes claimable again after a backoff
    /// that grows with its attempts (and is set aside after `MAX_PUBLISH_ATTEMPTS`).
    async fn retry_later(&self, row: &OutboxRow, error: &str) -> anyhow::Result<()> {
        self.count(NotificationResult::Failed, 1);
        let attempt = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
        let wait = backoff(
            attempt,
            Duration::from_millis(500),
            Duration::from_secs(300),
        );
        let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        self.store.mark_failed(row.id, error, retry_at).await
    }

    fn entry(&self, row: &OutboxRow) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source(&self.source)
            .detail_type(DETAIL_TYPE)
            .detail(&row.payload)
            .event_bus_name(&self.event_bus)
            .resources(&row.workload_arn)
            .build()
    }
}
