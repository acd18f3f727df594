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

use super::pace::ArrivalRate;
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

/// While events arrive at [`PACE_FROM`](super::pace::PACE_FROM) or faster, the
/// inbox is read at most once per window, so the events of a window share one
/// read, one duplicate lookup, their evaluations' commits and one finishing
/// commit. Each of those costs about as much for one event as for fifty: at 500
/// events/s this cut the daemon's CPU per event by a tenth to a fifth
/// (BENCHMARKS.md, "Sixth pass"), for at most this much more latency.
const GATHER: Duration = Duration::from_millis(10);

/// How often the inbox is read from the start: rows whose retry has come
/// due, and any stored out of id order (by another replica) after a read
/// had passed their id.
const READ_ALL_EVERY: Duration = Duration::from_secs(2);

/// When the inbox is read next, and from where: at once while events come
/// slower than [`PACE_FROM`](super::pace::PACE_FROM), at most once per
/// [`GATHER`] while they come faster, and at once again while full batches say
/// more are waiting; only rows stored after the last one seen, but from the
/// start at least once per [`READ_ALL_EVERY`].
#[derive(Debug)]
struct ReadSchedule {
    /// When the next read is due; `None`: none asked for.
    due: Option<Instant>,
    /// The last read that found events.
    last_read: Option<Instant>,
    /// The highest inbox id read so far.
    seen: i64,
    /// When the next read is from the start.
    read_all_at: Instant,
    /// Events found by recent reads.
    found: ArrivalRate,
}

impl ReadSchedule {
    /// A read at once, from the start: what a previous run left pending.
    fn new(now: Instant) -> Self {
        ReadSchedule {
            due: Some(now),
            last_read: None,
            seen: 0,
            read_all_at: now,
            found: ArrivalRate::default(),
        }
    }

    fn due(&self) -> Option<Instant> {
        self.due
    }

    fn ready(&self, now: Instant) -> bool {
        self.due.is_some_and(|at| at <= now)
    }

    /// The id a read at `now` starts after: 0 (from the start) when one is
    /// due, else the last id seen.
    fn after(&self, now: Instant) -> i64 {
        if now >= self.read_all_at {
            0
        } else {
            self.seen
        }
    }

    /// When the next read from the start is due.
    fn read_all_at(&self) -> Instant {
        self.read_all_at
    }

    /// A read at `now` after id `after` found the ids `found` (ascending);
    /// `full`: more may be waiting.
    fn read(&mut self, now: Instant, after: i64, found: &[i64], full: bool) {
        self.due = full.then_some(now);
        if after == 0 {
            self.read_all_at = now + READ_ALL_EVERY;
        }
        if let Some(&last) = found.last() {
            self.found.arrived(now, found.len());
            self.last_read = Some(now);
            self.seen = self.seen.max(last);
        }
    }

    /// Whether events have been arriving at
    /// [`PACE_FROM`](super::pace::PACE_FROM) or faster.
    fn busy(&self, now: Instant) -> bool {
        self.found.busy(now)
    }

    /// Intake stored events: read them, within the window of the last read.
    fn stored(&mut self, now: Instant) {
        let at = self.paced(now);
        self.due = Some(self.due.map_or(at, |due| due.min(at)));
    }

    /// Time for a read from the start (rows whose retry has come due).
    fn read_all(&mut self, now: Instant) {
        self.due.get_or_insert(now);
    }

    fn paced(&self, now: Instant) -> Instant {
        match self.last_read {
            Some(last) if self.busy(now) => now.max(last + GATHER),
            _ => now,
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
                let after = reads.after(now);
                match self.next_batch(after, &in_flight).await {
                    Ok((batch, full)) => {
                        let ids: Vec<i64> = batch.iter().map(|row| row.id).collect();
                        reads.read(now, after, &ids, full);
                        if !batch.is_empty() {
                            in_flight.extend(ids);
                            running.push(self.process_batch(batch));
                        }
                        if full {
                            continue;
                        }
                    }
                    Err(error) => {
                        reads.read(now, after, &[], false);
                        tracing::warn!(
                            error = crate::display::chain(&error).to_string(),
                            "reading the event inbox failed"
                        );
                    }
                }
            }
            let room = running.len() < BATCHES_IN_FLIGHT;
            let due = reads.due();
            // A batch's end needs no read of its own: its rows set aside are
            // found by the next read from the start, and a read asked for
            // while no batch had room is still due.
            tokio::select! {
                Some(ids) = running.next() => {
                    for id in ids {
                        in_flight.remove(&id);
                    }
                }
                _ = self.wake.notified() => reads.stored(Instant::now()),
                _ = tokio::time::sleep_until(due.unwrap_or(now)), if room && due.is_some() => {}
                // Only while no read is due: one due already waits for room.
                _ = tokio::time::sleep_until(reads.read_all_at()), if due.is_none() => reads.read_all(Instant::now()),
                _ = shutdown.cancelled() => {}
            }
        }
    }

    /// The pending events stored after id `after` that are due and not
    /// already being handled, oldest first, at most [`INBOX_BATCH`]; and
    /// whether more may be waiting.
    async fn next_batch(
        &self,
        after: i64,
        in_flight: &HashSet<i64>,
    ) -> anyhow::Result<(Vec<InboxRow>, bool)> {
        let limit = INBOX_BATCH + in_flight.len() as i64;
        let pending = self.store.inbox_pending(after, limit, Utc::now()).await?;
        let read_to_the_limit = pending.len() as i64 == limit;
        let mut batch: Vec<InboxRow> = pending
            .into_iter()
            .filter(|row| !in_flight.contains(&row.id))
            .collect();
        // Rows beyond this batch, or maybe beyond the read: more are waiting.
        let full = read_to_the_limit || batch.len() > INBOX_BATCH as usize;
        batch.truncate(INBOX_BATCH as usize);
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
        reads.read(start, 0, &[], false);
        assert_eq!(reads.due(), None);
        reads.stored(start + MS);
        assert!(reads.ready(start + MS), "nothing found before: no wait");

        reads.read(start + MS, 0, &[7], false);
        let later = start + MS + GATHER * 3;
        reads.stored(later);
        assert!(reads.ready(later), "after a quiet spell: no wait");
    }

    /// One event stored every `gap` from `start` until `until`, each read
    /// when a read is due, with whatever else is waiting; returns the last
    /// read's time and whether every event was read as it was stored.
    fn arrivals(
        reads: &mut ReadSchedule,
        start: Instant,
        gap: Duration,
        until: Instant,
    ) -> (Instant, bool) {
        let (mut at, mut id, mut at_once) = (start, 1, true);
        let (mut waiting, mut last) = (Vec::new(), start);
        let mut read = |reads: &mut ReadSchedule, now, waiting: &mut Vec<i64>| {
            reads.read(now, 0, waiting, false);
            waiting.clear();
            last = now;
        };
        while at <= until {
            if let Some(due) = reads.due()
                && due <= at
                && !waiting.is_empty()
            {
                read(reads, due, &mut waiting);
            }
            reads.stored(at);
            waiting.push(id);
            id += 1;
            if reads.ready(at) {
                read(reads, at, &mut waiting);
            } else {
                at_once = false;
            }
            at += gap;
        }
        if let Some(due) = reads.due()
            && !waiting.is_empty()
        {
            read(reads, due, &mut waiting);
        }
        (last, at_once)
    }

    /// While events come faster than [`PACE_FROM`](super::pace::PACE_FROM),
    /// those of a window share one read: each waits at most the window after
    /// the last read that found any.
    #[test]
    fn events_within_the_window_wait_for_one_read() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        // 500 events/s: read at once until the rate is known, then paced.
        let (last, at_once) = arrivals(&mut reads, start, MS * 2, start + MS * 100);
        assert!(!at_once);
        assert!(reads.busy(last));
        reads.read(last, 0, &[1000], false);
        for n in [2, 4, 6, 8] {
            reads.stored(last + MS * n);
            assert_eq!(reads.due(), Some(last + GATHER), "stored at {n} ms");
        }
        assert!(!reads.ready(last + GATHER - MS));
        assert!(reads.ready(last + GATHER));

        // Five to a window keeps it paced; the read from the start, when
        // due, does not move a read already due sooner.
        let then = last + GATHER;
        reads.read(then, 1, &[1001, 1002, 1003, 1004, 1005], false);
        reads.stored(then + MS);
        reads.read_all(then + MS * 2);
        assert_eq!(reads.due(), Some(then + GATHER));
    }

    /// Slower than [`PACE_FROM`](super::pace::PACE_FROM) every event is read as
    /// it is stored, and pacing ends once the rate falls below it.
    #[test]
    fn events_below_the_pacing_rate_are_read_at_once() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        // 100 events/s for a second: never paced.
        let second = Duration::from_secs(1);
        let (last, at_once) = arrivals(&mut reads, start, MS * 10, start + second);
        assert!(at_once);
        assert!(!reads.busy(last));

        // 1,000/s for 100 ms paces; 50/s for 300 ms ends it.
        let (last, at_once) = arrivals(&mut reads, last + MS, MS, last + MS * 100);
        assert!(!at_once && reads.busy(last));
        let (last, _) = arrivals(&mut reads, last + MS * 20, MS * 20, last + MS * 300);
        assert!(!reads.busy(last));
        reads.stored(last + MS * 20);
        assert!(reads.ready(last + MS * 20));
    }

    /// A full batch says more are waiting: the next read is at once, and a
    /// read already due is not put off by newly stored events.
    #[test]
    fn a_full_batch_is_followed_at_once() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        let ids: Vec<i64> = (1..=INBOX_BATCH).collect();
        reads.read(start, 0, &ids, true);
        assert!(reads.ready(start));
        reads.stored(start + MS);
        assert_eq!(reads.due(), Some(start));
        reads.read_all(start + MS);
        assert_eq!(reads.due(), Some(start));
    }

    /// New events are read after the last id seen (the rows before it are
    /// handled or being handled); from the start first, and again once per
    /// [`READ_ALL_EVERY`], for retries come due and rows stored out of order.
    #[test]
    fn reads_start_after_the_last_id_seen_but_from_the_start_every_so_often() {
        let start = Instant::now();
        let mut reads = ReadSchedule::new(start);
        assert_eq!(reads.after(start), 0, "the first read is from the start");
        reads.read(start, 0, &[3, 4, 9], false);
        assert_eq!(reads.read_all_at(), start + READ_ALL_EVERY);
        assert_eq!(reads.after(start + MS), 9);
        reads.read(start + GATHER, 9, &[], false);
        assert_eq!(reads.after(start + GATHER), 9, "nothing found: as before");
        reads.read(start + GATHER * 2, 9, &[10, 12], false);
        assert_eq!(reads.after(start + GATHER * 2), 12);

        let all = start + READ_ALL_EVERY;
        assert_eq!(reads.after(all), 0);
        // A read from the start that finds only older rows (a retry) keeps
        // the highest id seen, and puts off the next read from the start.
        reads.read(all, 0, &[5], false);
        assert_eq!(reads.after(all + MS), 12);
        assert_eq!(reads.read_all_at(), all + READ_ALL_EVERY);
        // A read after an id does not.
        reads.read(all + GATHER, 12, &[13], false);
        assert_eq!(reads.read_all_at(), all + READ_ALL_EVERY);
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
