//! The steady state, where nearly every evaluation changes nothing, writes almost
//! nothing.
//!
//! A sweep reads the controls of a whole listing page in one query
//! ([`Store::controls_by_arn`]) instead of one per workload, and an evaluation that
//! finds its control exactly as recorded only notes when it ran
//! ([`Store::note_evaluated`]): those `evaluated_at` bumps are written together, in
//! one statement, once [`FLUSH_ROWS`] have gathered, a second after the first of
//! them, or when a sweep ends ([`Store::flush_evaluated`]).
//!
//! Nothing that matters waits in a batch: a changed evaluation still commits its
//! control row, transition and outbox row in one version-checked transaction. A
//! crash loses at most the last second's `evaluated_at` bumps, and a bump never
//! overwrites a newer write: it applies only while the control still has the
//! version the evaluation saw, and only moves `evaluated_at` forward.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use tokio::sync::Notify;

use super::key::ControlKey;
use super::rows::{CONTROL_COLUMNS, ControlRow};
use super::{Store, timestamp};
use crate::shutdown::CancellationToken;

/// Bumps written in one statement at most (three parameters each, far below
/// either database's limit).
pub const FLUSH_ROWS: usize = 500;
/// How long a bump waits at most for others to join it.
pub const FLUSH_AFTER: Duration = Duration::from_secs(1);

/// The `evaluated_at` bumps not yet written, by workload ARN.
#[derive(Debug, Default)]
pub struct EvaluatedBatch {
    pending: Mutex<HashMap<ControlKey, Bump>>,
    /// Wakes the flusher when a batch starts.
    started: Notify,
}

#[derive(Clone, Debug)]
struct Bump {
    version: i64,
    at: String,
}

impl Store {
    /// Every control (removed ones too) of these workload ARNs, in one query.
    pub async fn controls_by_arn(
        &self,
        arns: &[&str],
    ) -> anyhow::Result<HashMap<String, Vec<ControlRow>>> {
        if arns.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders: Vec<String> = (1..=arns.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT {CONTROL_COLUMNS} FROM controls WHERE workload_arn IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for arn in arns {
            query = query.bind(*arn);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .context("read the controls of a listing page")?;
        let mut controls: HashMap<String, Vec<ControlRow>> = HashMap::new();
        for row in &rows {
            let control = ControlRow::from_row(row)?;
            controls
                .entry(control.workload_arn.clone())
                .or_default()
                .push(control);
        }
        Ok(controls)
    }

    /// Notes that `control`, as read, was evaluated at `at` and found unchanged.
    /// Written with others; when this bump fills the batch, this call writes it.
    pub async fn note_evaluated(
        &self,
        control: &ControlRow,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let bump = Bump {
            version: control.version,
            at: timestamp(at),
        };
        let full = {
            let mut pending = self.evaluated.pending.lock().unwrap();
            let first = pending.is_empty();
            // The same workload twice in one batch: the later evaluation wins.
            pending
                .entry(control.key())
                .and_modify(|held| {
                    if bump.at > held.at {
                        *held = bump.clone();
                    }
                })
                .or_insert(bump);
            if first {
                self.evaluated.started.notify_one();
            }
            pending.len() >= FLUSH_ROWS
        };
        if full {
            self.flush_evaluated().await?;
        }
        Ok(())
    }

    /// Writes every pending `evaluated_at` bump in one statement; returns how many
    /// controls it updated (those written since by another evaluation are left
    /// alone). A failed write drops the batch: the next sweep evaluates again.
    pub async fn flush_evaluated(&self) -> anyhow::Result<u64> {
        let batch: Vec<(ControlKey, Bump)> = {
            let mut pending = self.evaluated.pending.lock().unwrap();
            if pending.is_empty() {
                return Ok(0);
            }
            pending.drain().collect()
        };
        let sql = bumps_sql(batch.len());
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (key, bump) in batch {
            query = query
                .bind(key.workload_arn)
                .bind(key.lens)
                .bind(key.question_id)
                .bind(bump.version)
                .bind(bump.at);
        }
        let result = query.execute(&self.writer).await;
        self.health.observe(result.is_ok());
        Ok(result
            .context("write a batch of evaluation times")?
            .rows_affected())
    }

    /// Writes each batch a second after it starts, until shutdown; then writes
    /// what is left.
    pub async fn flush_evaluated_every_second(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = self.evaluated.started.notified() => {}
                _ = shutdown.cancelled() => break,
            }
            tokio::select! {
                _ = tokio::time::sleep(FLUSH_AFTER) => {}
                _ = shutdown.cancelled() => break,
            }
            self.flush_logged().await;
        }
        self.flush_logged().await;
    }

    /// [`Store::flush_evaluated`] for callers with no one to report to.
    pub async fn flush_logged(&self) {
        if let Err(error) = self.flush_evaluated().await {
            tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "cannot write evaluation times"
            );
        }
    }
}

/// The statement that writes `rows` evaluation times ([`Store::flush_evaluated`]).
pub(super) fn bumps_sql(rows: usize) -> String {
    let rows: Vec<String> = (0..rows)
        .map(|i| {
            let n = 5 * i;
            format!(
                "(${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            )
        })
        .collect();
    // Portable: a CTE of VALUES and UPDATE … FROM read the same on SQLite
    // (3.33+) and Postgres. Each bump is of a control read as active (see
    // `Store::record`), and a removal bumps the version, so the version
    // check is enough; a `removed_at IS NULL` here let PostgreSQL join
    // each row against a whole partial sort index (as in `update_in`).
    format!(
        "WITH seen (workload_arn, lens, question_id, version, evaluated_at) AS (VALUES {}) \
         UPDATE controls SET evaluated_at = seen.evaluated_at FROM seen \
         WHERE controls.workload_arn = seen.workload_arn AND controls.lens = seen.lens \
         AND controls.question_id = seen.question_id AND controls.version = seen.version \
         AND (controls.evaluated_at IS NULL OR controls.evaluated_at < seen.evaluated_at)",
        rows.join(", ")
    )
}
