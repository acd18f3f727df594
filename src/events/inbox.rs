//! Handles events pushed to `POST /events` from the durable inbox table, so an
//! event accepted with 202 survives a crash before it is evaluated.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, broadcast};

use super::{EventHandler, Handled};
use crate::store::Store;

/// Attempts before a pushed event is given up on (its error stays in the inbox).
const MAX_ATTEMPTS: i64 = 20;
const BATCH: i64 = 50;

pub struct InboxProcessor {
    pub store: Store,
    pub handler: Arc<EventHandler>,
    /// Rung by the HTTP endpoint after it stores an event.
    pub wake: Arc<Notify>,
}

impl InboxProcessor {
    pub async fn run(self, mut shutdown: broadcast::Receiver<()>) {
        loop {
            let more_waiting = match self.process_batch().await {
                Ok(full) => full,
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
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
                _ = shutdown.recv() => return,
            }
        }
    }

    /// Handles pending events concurrently (so bursts coalesce in the work queue).
    /// Returns whether the batch was full, i.e. more may be waiting.
    async fn process_batch(&self) -> anyhow::Result<bool> {
        let pending = self.store.inbox_pending(BATCH).await?;
        let count = pending.len();
        let results = futures::future::join_all(
            pending
                .iter()
                .map(|row| self.handler.handle("http", &row.body)),
        )
        .await;
        for (row, result) in pending.iter().zip(results) {
            let (error, finished) = match result {
                Ok(Handled::Malformed(reason)) => (Some(reason), true),
                Ok(_) => (None, true),
                Err(error) => (Some(format!("{error:#}")), row.attempts + 1 >= MAX_ATTEMPTS),
            };
            if let (Some(error), true) = (&error, finished) {
                tracing::warn!(inbox_id = row.id, error = %error, "pushed event set aside");
            }
            self.store
                .inbox_done(row.id, error.as_deref(), finished, Utc::now())
                .await?;
        }
        Ok(count == BATCH as usize)
    }
}
