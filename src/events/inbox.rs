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
use tokio::time::Instant;

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

/// While events arrive closer together than this, the inbox is read at most
/// once per window, so the events of a window share one read, one duplicate
/// lookup, their evaluations' commits and one finishing commit. Each of those
/// costs about as much for one event as for fifty: at 500 events/s this cut
/// the daemon's CPU per event by about a fifth (BENCHMARKS.md), for at most
/// this much more latency; an event after a quiet spell is read at once.
const GATHER: Duration = Duration::from_millis(10);

/// When the inbox is read next: at once when events come after a quiet
/// spell, at most once per [`GATHER`] while they keep coming, and at once
/// again while full batches say more are waiting.
#[derive(Debug)]
struct ReadSchedule {
    /// When the next read is due; `None`: none asked for.
    due: Option<Instant>,
    /// The last read that found events.
    last_read: Option<Instant>,
}

impl ReadSchedule {
    /// A read at once: what a previous run left pending.
    fn new(now: Instant) -> Self {
        ReadSchedule {
            due: Some(now),
            last_read: None,
        }
    }

    fn due(&self) -> Option<Instant> {
        self.due
    }

    fn ready(&self, now: Instant) -> bool {
        self.due.is_some_and(|at| at <= now)
    }

    /// A read at `now` found `found` events; `full`: more may be waiting.
    fn read(&mut self, now: Instant, found: usize, full: bool) {
        self.due = full.then_some(now);
        if found > 0 {
            self.last_read = Some(now);
        }
    }

    /// Intake stored events: read them, within the window of the last read.
    fn stored(&mut self, now: Instant) {
        let at = self.paced(now);
        self.due = Some(self.due.map_or(at, |due| due.min(at)));
    }

    /// A batch ended: rows set aside while it ran may be due (a retry); one
    /// read for them, paced like new events.
    fn batch_ended(&mut self, now: Instant) {
        let at = self.paced(now);
        self.due.get_or_insert(at);
    }

    /// The periodic look for rows whose retry has come due.
    fn periodic(&mut self, now: Instant) {
        self.due.get_or_insert(now);
    }

    fn paced(&self, now: Instant) -> Instant {
        match self.last_read {
            Some(last) => now.max(last + GATHER),
            None => now,
        }
    }
}

impl InboxProcessor {
    pub async fn run(self, shutdown: CancellationToken) {
        // Inbox ids of the batches being handled: a read while they run must
        // not hand out their rows again.
        let mut in_flight: HashSet<i64> = HashSet::new();
        let mut running = FuturesUnordered::new();
        let mut reads = ReadSchedule::new(Instant::now());
        loop {
            // A stop signal ends the loop once the running batches are
            // recorded: what is still pending stays in the inbox for the next start.
            if shutdown.is_cancelled() {
                while running.next().await.is_some() {}
                return;
            }
            let now = Instant::now();
            if running.len() < BATCHES_IN_FLIGHT && reads.ready(now) {
                match self.next_batch(&in_flight).await {
                    Ok((batch, full)) => {
                        reads.read(now, batch.len(), full);
                        if !batch.is_empty() {
                            in_flight.extend(batch.iter().map(|row| row.id));
                            running.push(self.process_batch(batch));
                        }
                        if full {
                            continue;
                        }
                    }
                    Err(error) => {
                        reads.read(now, 0, false);
                        tracing::warn!(
                            error = crate::display::chain(&error).to_string(),
                            "reading the event inbox failed"
                        );
                    }
                }
            }
            let room = running.len() < BATCHES_IN_FLIGHT;
            let due = reads.due();
            tokio::select! {
                Some(ids) = running.next() => {
                    for id in ids {
                        in_flight.remove(&id);
                    }
                    reads.batch_ended(Instant::now());
                }
                _ = self.wake.notified() => reads.stored(Instant::now()),
                _ = tokio::time::sleep_until(due.unwrap_or(now)), if room && due.is_some() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => reads.periodic(Instant::now()),
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

    const MS: Duration = Duration::from_millis(1);

    /// Events after a quiet spell are read at once; a read that found
    /// nothing holds nothing back.
    #[test]
    fn events_after_a_quiet_spell_are_read_at_once() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        assert!(reads.ready(start), "what a previous run left: at once");
        reads.read(start, 0, false);
        assert_eq!(reads.due(), None);
        reads.stored(start + MS);
        assert!(reads.ready(start + MS), "nothing found before: no wait");

        reads.read(start + MS, 1, false);
        let later = start + MS + GATHER * 3;
        reads.stored(later);
        assert!(reads.ready(later), "after a quiet spell: no wait");
    }

    /// While events keep coming, those of a window share one read: each
    /// waits at most the window after the last read that found any.
    #[test]
    fn events_within_the_window_wait_for_one_read() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        reads.read(start, 1, false);
        for n in [2, 4, 6, 8] {
            reads.stored(start + MS * n);
            assert_eq!(reads.due(), Some(start + GATHER), "stored at {n} ms");
        }
        assert!(!reads.ready(start + GATHER - MS));
        assert!(reads.ready(start + GATHER));

        // A batch that ends asks for one read, paced the same way.
        reads.read(start + GATHER, 4, false);
        reads.batch_ended(start + GATHER + MS);
        assert_eq!(reads.due(), Some(start + GATHER * 2));
        // The periodic look does not move a read already due sooner.
        reads.periodic(start + GATHER * 2 + MS);
        assert_eq!(reads.due(), Some(start + GATHER * 2));
    }

    /// A full batch says more are waiting: the next read is at once, and a
    /// read already due is not put off by newly stored events.
    #[test]
    fn a_full_batch_is_followed_at_once() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        reads.read(start, INBOX_BATCH as usize, true);
        assert!(reads.ready(start));
        reads.stored(start + MS);
        assert_eq!(reads.due(), Some(start));
        reads.periodic(start + MS);
        assert_eq!(reads.due(), Some(start));
    }

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
