//! The outbox publisher: sends `Control State Changed` events to EventBridge
//! (and `Exception Expiring` ones, [`warnings`]).
//!
//! Rows are claimed (so replicas do not send the same one at once), sent with
//! `PutEvents` in batches of at most 10, and marked published only for entries
//! EventBridge accepted; failed entries and throttled calls are retried with
//! backoff. Delivery is at-least-once: consumers dedupe on `transition_id`.
//!
//! Every row is decided once before it is sent (see [`settle`]): announced,
//! from the state last announced, or collapsed. Without `notify.settle` every
//! transition is announced at once, unless its control is flapping
//! ([`flapping`]); with it, a row waits out its window ([`windows`]) first.

pub mod flapping;
pub mod settle;
pub mod warnings;
pub mod windows;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::Utc;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Instrument;

use crate::metrics::{Metrics, NotificationLabels, NotificationResult};
use crate::shutdown::CancellationToken;
use crate::store::{
    EventQueue, OutboxRow, SettleFacts, SettleRule, Settled, Store, TransitionRow, Undecided,
};
use crate::wellarchitected::backoff;
use flapping::Flapping;
use settle::{Decision, SETTLE_GRACE};
use windows::{Clock, Windows};

pub const DETAIL_TYPE: &str = "Control State Changed";
/// PutEvents takes at most 10 entries.
const PUT_EVENTS_BATCH: i64 = 10;
/// How long a claim holds before another publisher may take the rows over: longer
/// than one PutEvents call may take (its attempt timeout), so a slow but live
/// publisher is not doubled; a dead one's rows wait at most this long.
const OUTBOX_CLAIM: chrono::Duration = chrono::Duration::seconds(30);
/// Undecided rows are read (oldest first) this many at a time, and further
/// pages only while none of the rows read is due: rows waiting out a long
/// window (a flapping control's) do not keep newer ones from being decided.
const WATCHED_PAGE: i64 = 1_000;
/// So a publisher watches at most this many pages of undecided rows; the rest
/// are watched as these are decided.
const WATCHED_PAGES: usize = 10;
/// How long a row whose earlier sibling is still undecided waits before it is
/// tried again.
const DEFERRED: Duration = Duration::from_secs(1);

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
    /// `notify.flapping_transitions` within `notify.flapping_window`.
    pub flapping: Flapping,
    pub clock: Clock,
    /// The undecided rows this publisher watches, and since when.
    pub windows: Mutex<Windows>,
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
                    error = crate::display::chain(&error).to_string(),
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

impl Publisher {
    /// Drains the outbox, then the exception expiry warnings, whenever a
    /// transition is recorded and every few seconds (warnings, and rows left by a
    /// crash or another replica), until shutdown.
    pub async fn run(
        self,
        transitions: broadcast::Receiver<TransitionRow>,
        shutdown: CancellationToken,
    ) {
        drain_loop(
            "publishing notifications",
            || async { Ok(self.publish_batch().await? + self.publish_warnings().await?) },
            transitions,
            shutdown,
        )
        .await;
    }

    /// Decides and sends one batch; returns how many rows were done with
    /// (accepted, or decided not to be sent). What is logged while sending
    /// carries a `publish` span with the batch's size (ERROR level so that no
    /// log level drops it; it writes no line of its own).
    pub async fn publish_batch(&self) -> anyhow::Result<usize> {
        let wall = self.clock.wall();
        let now = self.clock.monotonic();
        let mut undecided: Vec<Undecided> = Vec::new();
        let mut due = Vec::new();
        for _ in 0..WATCHED_PAGES {
            let after = undecided.last().map_or(0, |row| row.id);
            let page = self
                .store
                .undecided_notifications(after, WATCHED_PAGE)
                .await?;
            let full = page.len() as i64 == WATCHED_PAGE;
            undecided.extend(page);
            let mut windows = self.windows();
            windows.observe(
                &undecided,
                !full,
                (wall, now),
                self.first_due(),
                self.longest_wait(),
            );
            due = windows.due(&undecided, now, PUT_EVENTS_BATCH as usize);
            if !full || !due.is_empty() {
                break;
            }
        }
        let rows = self
            .store
            .claim_outbox_due(
                &self.owner,
                PUT_EVENTS_BATCH,
                wall,
                wall + OUTBOX_CLAIM,
                &due,
            )
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let (rows, decided) = self.settle(rows, now).await?;
        if rows.is_empty() {
            return Ok(decided);
        }
        let span = tracing::error_span!("publish", batch = rows.len());
        let accepted = self.publish(&rows).instrument(span).await?;
        Ok(accepted + decided)
    }

    /// How long a new row waits before its first decision: its window and the grace.
    fn first_due(&self) -> Duration {
        if self.settle.is_zero() {
            Duration::ZERO
        } else {
            self.settle + SETTLE_GRACE
        }
    }

    /// The longest any row waits: the longer window and the grace.
    fn longest_wait(&self) -> Duration {
        self.settle.max(self.flapping.window) + SETTLE_GRACE
    }

    /// Decides the claimed rows not yet decided; returns those to send (payloads
    /// as decided) and how many were decided not to be sent.
    async fn settle(
        &self,
        rows: Vec<OutboxRow>,
        now: Instant,
    ) -> anyhow::Result<(Vec<OutboxRow>, usize)> {
        let mut send = Vec::with_capacity(rows.len());
        let mut decided = 0;
        for mut row in rows {
            if row.settled {
                send.push(row);
                continue;
            }
            let pending_for = self.windows().pending_for(row.id, now);
            let rule = Watching {
                rule: settle::Rule {
                    settle: self.settle,
                    pending_for,
                    flapping: self.flapping,
                },
                flapping_from: Mutex::new(None),
            };
            let wait = match self.store.settle_notification(&row, &rule).await? {
                Settled::Announced { payload } => {
                    row.payload = payload;
                    row.settled = true;
                    send.push(row);
                    None
                }
                Settled::Collapsed => {
                    self.count(NotificationResult::Collapsed, 1);
                    tracing::debug!(
                        transition_id = row.transition_id,
                        "notification collapsed by notify.settle"
                    );
                    decided += 1;
                    None
                }
                Settled::AlreadyDecided => {
                    decided += 1;
                    continue;
                }
                Settled::Wait(wait) => Some((row.id, wait)),
                Settled::Deferred => Some((row.id, DEFERRED)),
            };
            if let Some((id, wait)) = wait {
                self.windows().wait(id, now, wait);
                self.store.release_claim(&self.owner, id).await?;
            } else if let Some(workload_id) = rule.flapping_from.into_inner().ok().flatten() {
                self.metrics.flapping_controls.inc();
                tracing::warn!(
                    workload_id,
                    transitions = self.flapping.transitions,
                    window_s = self.flapping.window.as_secs(),
                    "control is flapping: its state changed this often while the answer and \
                     tags it read stayed the same; its notifications are held until it keeps \
                     one state for the window"
                );
            }
        }
        Ok((send, decided))
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows
            .lock()
            .expect("the windows lock is never poisoned")
    }

    fn count(&self, result: NotificationResult, n: u64) {
        self.metrics
            .notifications
            .get_or_create(&NotificationLabels { result })
            .inc_by(n);
    }

    /// Sends `rows` in one PutEvents call; marks the accepted ones sent and
    /// the others failed (each waits its own backoff). How many were accepted.
    async fn publish<R: Sendable>(&self, rows: &[R]) -> anyhow::Result<usize> {
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
                None => accepted.push(row.id()),
                // A refused entry waits its own backoff; the others go on.
                Some(code) => {
                    let message = format!("{code}: {}", result.error_message().unwrap_or(""));
                    tracing::warn!(detail_type = R::DETAIL_TYPE, dedupe_id = row.dedupe_id(), attempts = row.attempts() + 1, error = %message, "EventBridge refused a notification; retrying");
                    self.retry_later(row, &message).await?;
                }
            }
        }
        self.store
            .mark_sent(R::QUEUE, &accepted, Utc::now())
            .await?;
        self.count(NotificationResult::Published, accepted.len() as u64);
        Ok(accepted.len())
    }

    /// Records a failed attempt; the row becomes claimable again after a backoff
    /// that grows with its attempts (and is set aside after `MAX_PUBLISH_ATTEMPTS`).
    async fn retry_later<R: Sendable>(&self, row: &R, error: &str) -> anyhow::Result<()> {
        self.count(NotificationResult::Failed, 1);
        let attempt = u32::try_from(row.attempts() + 1).unwrap_or(u32::MAX);
        let wait = backoff(
            attempt,
            Duration::from_millis(500),
            Duration::from_secs(300),
        );
        let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        self.store
            .mark_send_failed(R::QUEUE, row.id(), error, retry_at)
            .await
    }

    fn entry<R: Sendable>(&self, row: &R) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source(&self.source)
            .detail_type(R::DETAIL_TYPE)
            .detail(row.payload())
            .event_bus_name(&self.event_bus)
            .resources(row.workload_arn())
            .build()
    }
}

/// A queued event the publisher sends: a transition's notification or an
/// exception expiry warning.
pub trait Sendable {
    const QUEUE: EventQueue;
    const DETAIL_TYPE: &'static str;
    /// The row's id in its table.
    fn id(&self) -> i64;
    /// What consumers deduplicate on, for the log: the transition id, the warning's row id.
    fn dedupe_id(&self) -> i64;
    fn attempts(&self) -> i64;
    /// The event's `Detail` JSON.
    fn payload(&self) -> &str;
    fn workload_arn(&self) -> &str;
}

/// Implements [`Sendable`] for a row type with `id`, `attempts`, `payload` and
/// `workload_arn` fields, sent from `$queue` as `$detail_type`, deduplicated by
/// consumers on its field `$dedupe`.
macro_rules! sendable {
    ($row:ty, $queue:expr, $detail_type:expr, $dedupe:ident) => {
        impl $crate::notify::Sendable for $row {
            const QUEUE: $crate::store::EventQueue = $queue;
            const DETAIL_TYPE: &'static str = $detail_type;
            fn id(&self) -> i64 {
                self.id
            }
            fn dedupe_id(&self) -> i64 {
                self.$dedupe
            }
            fn attempts(&self) -> i64 {
                self.attempts
            }
            fn payload(&self) -> &str {
                &self.payload
            }
            fn workload_arn(&self) -> &str {
                &self.workload_arn
            }
        }
    };
}
use sendable;

sendable!(OutboxRow, EventQueue::Outbox, DETAIL_TYPE, transition_id);

/// The settle rule, noting the workload whose control starts flapping at the
/// decided transition (warned about once the decision is recorded).
struct Watching {
    rule: settle::Rule,
    flapping_from: Mutex<Option<String>>,
}

impl SettleRule for Watching {
    fn held(&self, at: chrono::DateTime<Utc>, next: chrono::DateTime<Utc>) -> bool {
        self.rule.held(at, next)
    }

    fn recent(&self) -> usize {
        self.rule.recent()
    }

    fn decide(&self, facts: &SettleFacts) -> Decision {
        if self.rule.flapping.starts(&facts.recent)
            && let Ok(mut from) = self.flapping_from.lock()
        {
            *from = Some(facts.workload_id.clone());
        }
        self.rule.decide(facts)
    }
}
