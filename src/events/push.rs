//! Stores events pushed to `POST /events` in the durable inbox, many requests
//! to a commit ([`GroupCommit`]): a request is answered only after the commit
//! that holds its body, so a 202 still means the event is stored.
//!
//! What intake learnt by parsing a body is kept in memory by inbox id
//! ([`Learnt`]), so the inbox processor of this daemon does not parse it
//! again; the stored body stays the record (after a restart, or for a row
//! another replica picks up, the processor parses it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::pace::ArrivalRate;
use super::parse::WorkloadEvent;
use crate::store::{GroupCommit, Store};

/// A stored event's inbox id, or why the commit failed (the request is told
/// to retry).
type Stored = Result<i64, String>;

/// Most bodies one commit writes (each at most 256 KiB, the request limit).
const MAX_PER_COMMIT: usize = 64;

/// While requests come at the pacing rate or faster
/// ([`PACE_FROM`](super::pace::PACE_FROM)), a commit starts at most once per
/// this long, so the requests of a window share it. A commit costs about as
/// much for one body as for ten (its pages written whole to the WAL, a round
/// trip): at 500 events/s gathering cut the daemon's CPU per event by ~4 %,
/// for at most this much more latency (the p50 rose ~3 ms; BENCHMARKS.md,
/// "Ninth pass"). Slower, each request commits at once.
const GATHER: Duration = Duration::from_millis(4);

/// Most parsed events kept for the processor; past it the oldest (lowest
/// inbox id, the likeliest to have been handled by another replica) go.
const MAX_LEARNT: usize = 4096;

/// Parsed events by inbox id, stored and not yet handled by this daemon.
#[derive(Default)]
pub struct Learnt(Mutex<BTreeMap<i64, WorkloadEvent>>);

impl Learnt {
    fn keep(&self, id: i64, event: WorkloadEvent) {
        let mut learnt = self.0.lock().expect("the learnt lock is never poisoned");
        learnt.insert(id, event);
        while learnt.len() > MAX_LEARNT {
            learnt.pop_first();
        }
    }

    /// The event stored as `id`, as intake parsed it, if still kept (once).
    pub fn take(&self, id: i64) -> Option<WorkloadEvent> {
        self.0
            .lock()
            .expect("the learnt lock is never poisoned")
            .remove(&id)
    }
}

/// A body waiting for its commit: what intake parsed, and whom to answer.
struct Queued {
    body: String,
    event: Option<WorkloadEvent>,
    answer: oneshot::Sender<Stored>,
}

pub struct PushedEvents {
    store: Store,
    /// Rung after each commit, so the inbox processor picks the events up.
    wake: Arc<Notify>,
    queued: GroupCommit<Queued>,
    learnt: Arc<Learnt>,
    pace: Mutex<Pace>,
}

/// How fast requests come, and when the last commit started.
#[derive(Debug, Default)]
struct Pace {
    requests: ArrivalRate,
    last_commit: Option<Instant>,
}

impl Pace {
    /// When a commit taking its turn at `now` starts: at once, or, while
    /// requests come fast, [`GATHER`] after the last one.
    fn start_at(&self, now: Instant) -> Option<Instant> {
        match self.last_commit {
            Some(last) if self.requests.busy(now) && last + GATHER > now => Some(last + GATHER),
            _ => None,
        }
    }
}

impl PushedEvents {
    pub fn new(store: Store, wake: Arc<Notify>) -> Self {
        PushedEvents {
            store,
            wake,
            queued: GroupCommit::new(MAX_PER_COMMIT),
            learnt: Arc::default(),
            pace: Mutex::default(),
        }
    }

    /// What intake parsed of the events it stored, for the inbox processor.
    pub fn learnt(&self) -> Arc<Learnt> {
        self.learnt.clone()
    }

    /// Stores `body`, which parsed as `event` (kept for the processor); once
    /// this returns `Ok`, the event will be handled.
    pub async fn store(
        self: &Arc<Self>,
        body: String,
        event: Option<WorkloadEvent>,
    ) -> anyhow::Result<i64> {
        let (answer, stored) = oneshot::channel();
        let queued = Queued {
            body,
            event,
            answer,
        };
        // On a task of its own, so a request that goes away mid-write does
        // not abandon the others' bodies.
        let write = |batch| {
            let this = self.clone();
            async move {
                let _ = tokio::spawn(async move { this.write(batch).await }).await;
            }
        };
        self.pace().requests.arrived(Instant::now(), 1);
        let gather = || self.pace().start_at(Instant::now());
        match self
            .queued
            .submit_gathered(queued, stored, gather, write)
            .await?
        {
            Ok(id) => Ok(id),
            Err(why) => Err(anyhow::anyhow!(why)),
        }
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().expect("the pace lock is never poisoned")
    }

    /// Writes a batch of queued bodies in one commit and answers their requests.
    async fn write(&self, batch: Vec<Queued>) {
        self.pace().last_commit = Some(Instant::now());
        let bodies: Vec<&str> = batch.iter().map(|queued| queued.body.as_str()).collect();
        let written = self.store.inbox_insert_many(&bodies, Utc::now()).await;
        match written {
            Ok(ids) => {
                for (queued, id) in batch.into_iter().zip(ids) {
                    if let Some(event) = queued.event {
                        self.learnt.keep(id, event);
                    }
                    let _ = queued.answer.send(Ok(id));
                }
                self.wake.notify_one();
            }
            Err(error) => {
                self.store.write_health().observe(false);
                let why = crate::display::chain(&error).to_string();
                for queued in batch {
                    let _ = queued.answer.send(Err(why.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Concurrent requests each get their own stored row, and share commits:
    /// a commit writes one `received_at` for all its rows.
    #[tokio::test]
    async fn concurrent_pushes_are_each_stored_once_in_shared_commits() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let wake = Arc::new(Notify::new());
        let pushed = Arc::new(PushedEvents::new(store.clone(), wake.clone()));
        let ids = futures::future::join_all(
            (0..200).map(|n| pushed.store(format!("{{\"n\": {n}}}"), None)),
        )
        .await;
        let ids: Vec<i64> = ids.into_iter().map(Result::unwrap).collect();
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 200);
        let pending = store.inbox_pending(0, 1000, Utc::now()).await.unwrap();
        for (n, id) in ids.iter().enumerate() {
            let row = pending.iter().find(|r| r.id == *id).unwrap();
            assert_eq!(
                row.body,
                format!("{{\"n\": {n}}}"),
                "each request its own row"
            );
        }
        assert_eq!(pending.len(), 200);

        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let (commits,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT received_at) FROM inbox")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(
            (200 / MAX_PER_COMMIT as i64..50).contains(&commits),
            "{commits} commits for 200 pushes"
        );
        // The processor was woken.
        tokio::time::timeout(std::time::Duration::from_secs(1), wake.notified())
            .await
            .unwrap();
    }

    /// While requests come slower than the pacing rate a commit starts at
    /// once; faster, at most once per [`GATHER`].
    #[tokio::test(start_paused = true)]
    async fn commits_wait_for_others_only_while_requests_come_fast() {
        let ms = Duration::from_millis(1);
        let start = Instant::now();
        let mut pace = Pace::default();
        // 100 requests/s: a turn taken just after a commit starts at once.
        let mut at = start;
        for _ in 0..100 {
            pace.requests.arrived(at, 1);
            pace.last_commit = Some(at);
            assert_eq!(pace.start_at(at + ms), None, "slow: at once");
            at += ms * 10;
        }
        // 500/s: a commit waits for the window after the last one.
        for _ in 0..50 {
            pace.requests.arrived(at, 1);
            at += ms * 2;
        }
        pace.last_commit = Some(at);
        assert_eq!(pace.start_at(at + ms), Some(at + GATHER));
        assert_eq!(pace.start_at(at + GATHER), None, "the window is over");
        // Quiet for 200 ms: at once again.
        assert_eq!(pace.start_at(at + ms * 200), None);
    }

    /// The processor finds what intake parsed of each stored event, once; the
    /// oldest go past [`MAX_LEARNT`].
    #[tokio::test]
    async fn what_intake_parsed_is_kept_for_the_processor_bounded() {
        let (_dir, store) = crate::store::scratch_store().await;
        let pushed = Arc::new(PushedEvents::new(store, Arc::new(Notify::new())));
        let event = crate::events::sample::parsed_update_answer;
        let first = pushed.store("{}".into(), Some(event(0))).await.unwrap();
        let unparsed = pushed.store("{}".into(), None).await.unwrap();
        let learnt = pushed.learnt();
        assert_eq!(learnt.take(first), Some(event(0)));
        assert_eq!(learnt.take(first), None, "taken once");
        assert_eq!(learnt.take(unparsed), None);

        let mut ids = Vec::new();
        for n in 0..MAX_LEARNT + 1 {
            learnt.keep(n as i64 + 100, event(n));
            ids.push(n as i64 + 100);
        }
        assert_eq!(learnt.take(ids[0]), None, "the oldest went");
        assert_eq!(learnt.take(ids[MAX_LEARNT]), Some(event(MAX_LEARNT)));
    }
}
