//! Stores events pushed to `POST /events` in the durable inbox, many requests
//! to a commit: a group commit without a writer task of its own.
//!
//! Each request queues its body and then takes the writer's turn; whoever holds
//! the turn writes everything queued by then (its own body, or none if an
//! earlier turn took it) in one transaction and answers each request it wrote.
//! So a lone request commits at once, and under load the requests that arrived
//! during one commit share the next. A request is answered only after the
//! commit that holds its body, so a 202 still means the event is stored.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use tokio::sync::{Notify, OwnedMutexGuard, oneshot};

use crate::store::Store;

/// A stored event's inbox id, or why the commit failed (the request is told
/// to retry).
type Stored = Result<i64, String>;

/// Most bodies one commit writes (each at most 256 KiB, the request limit).
const MAX_PER_COMMIT: usize = 64;

pub struct PushedEvents {
    store: Store,
    /// Rung after each commit, so the inbox processor picks the events up.
    wake: Arc<Notify>,
    queued: Mutex<Vec<(String, oneshot::Sender<Stored>)>>,
    /// The writer's turn.
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl PushedEvents {
    pub fn new(store: Store, wake: Arc<Notify>) -> Self {
        PushedEvents {
            store,
            wake,
            queued: Mutex::default(),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Stores `body`; once this returns `Ok`, the event will be handled.
    pub async fn store(self: &Arc<Self>, body: String) -> anyhow::Result<i64> {
        let (answer, mut stored) = oneshot::channel();
        self.queued
            .lock()
            .expect("the queue lock is never poisoned")
            .push((body, answer));
        loop {
            tokio::select! {
                biased;
                answer = &mut stored => return match answer {
                    Ok(Ok(id)) => Ok(id),
                    Ok(Err(why)) => Err(anyhow::anyhow!(why)),
                    Err(_) => Err(anyhow::anyhow!("the commit of this event was abandoned")),
                },
                turn = self.turn.clone().lock_owned() => {
                    // On a task of its own, so a request that goes away
                    // mid-write does not abandon the others' bodies.
                    let this = self.clone();
                    let _ = tokio::spawn(async move { this.write_queued(turn).await }).await;
                }
            }
        }
    }

    /// With the writer's turn, writes up to [`MAX_PER_COMMIT`] queued bodies,
    /// oldest first, in one commit, and answers their requests.
    async fn write_queued(&self, _turn: OwnedMutexGuard<()>) {
        let batch: Vec<_> = {
            let mut queued = self
                .queued
                .lock()
                .expect("the queue lock is never poisoned");
            let take = queued.len().min(MAX_PER_COMMIT);
            queued.drain(..take).collect()
        };
        if batch.is_empty() {
            return;
        }
        let bodies: Vec<&str> = batch.iter().map(|(body, _)| body.as_str()).collect();
        let written = self.store.inbox_insert_many(&bodies, Utc::now()).await;
        match written {
            Ok(ids) => {
                self.wake.notify_one();
                for ((_, answer), id) in batch.into_iter().zip(ids) {
                    let _ = answer.send(Ok(id));
                }
            }
            Err(error) => {
                self.store.write_health().observe(false);
                let why = crate::display::chain(&error).to_string();
                for (_, answer) in batch {
                    let _ = answer.send(Err(why.clone()));
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
        let ids =
            futures::future::join_all((0..200).map(|n| pushed.store(format!("{{\"n\": {n}}}"))))
                .await;
        let ids: Vec<i64> = ids.into_iter().map(Result::unwrap).collect();
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 200);
        let pending = store.inbox_pending(1000, Utc::now()).await.unwrap();
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
}
