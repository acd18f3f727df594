//! The queue of Security Hub findings to import (`securityhub_findings`): one row
//! per control, made due in the same transaction as every write that changes what
//! the control's finding says, so the import survives a crash between the commit
//! and the call (at-least-once, like the outbox). A finding is the control's
//! current state, so changes coalesce: the row holds a generation, not a payload.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::key::ControlKey;
use super::rows::{CONTROL_COLUMNS, ControlRow};
use super::{Store, timestamp};

/// A control whose finding is due, as claimed.
#[derive(Clone, Debug, PartialEq)]
pub struct DueFinding {
    pub control: ControlRow,
    /// The generation the control row was read at; marking it sent is
    /// conditional on no change having come since.
    pub generation: i64,
    pub attempts: i64,
}

/// Makes the finding of the control `key` due now, in the caller's transaction.
pub(super) async fn mark_due(
    tx: &mut Transaction<'static, Any>,
    key: &ControlKey,
    now: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO securityhub_findings (workload_arn, lens, question_id, generation, due_at) \
         VALUES ($1, $3, $4, 1, $2) ON CONFLICT (workload_arn, lens, question_id) \
         DO UPDATE SET generation = securityhub_findings.generation + 1, due_at = $2, attempts = 0",
    )
    .bind(&key.workload_arn)
    .bind(now)
    .bind(&key.lens)
    .bind(&key.question_id)
    .execute(&mut **tx)
    .await
    .context("queue a Security Hub finding")?;
    Ok(())
}

impl Store {
    /// Makes every change to a control also queue its Security Hub finding.
    pub fn with_findings(mut self, enabled: bool) -> Store {
        self.findings = enabled;
        self
    }

    /// Queues a finding for every active control that has none queued yet
    /// (controls recorded before `[securityhub]` was enabled). Returns how many.
    pub async fn queue_missing_findings(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut tx = self.begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO securityhub_findings (workload_arn, lens, question_id, generation, due_at) \
             SELECT workload_arn, lens, question_id, 1, $1 FROM controls c \
             WHERE removed_at IS NULL AND NOT EXISTS (SELECT 1 FROM securityhub_findings f \
             WHERE f.workload_arn = c.workload_arn AND f.lens = c.lens \
             AND f.question_id = c.question_id)",
        )
        .bind(timestamp(now))
        .execute(&mut **tx)
        .await
        .context("queue findings of existing controls")?
        .rows_affected();
        self.commit(tx, "queued findings").await?;
        Ok(added)
    }

    /// Claims up to `limit` due findings, most overdue first, for `owner` until
    /// `until`, and reads each control with the generation it is at. A dead
    /// publisher's claims expire; a live one's are left alone.
    pub async fn claim_findings(
        &self,
        owner: &str,
        limit: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<DueFinding>> {
        let now = timestamp(now);
        let mut tx = self.begin_write().await?;
        // As in the outbox: the claimable condition stands in the outer WHERE too,
        // for Postgres' READ COMMITTED re-check.
        sqlx::query(
            "UPDATE securityhub_findings SET claimed_by = $1, claimed_until = $2 \
             WHERE (workload_arn, lens, question_id) IN \
             (SELECT workload_arn, lens, question_id FROM securityhub_findings WHERE due_at <= $3 \
              AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1) \
              ORDER BY due_at LIMIT $4) \
             AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1)",
        )
        .bind(owner)
        .bind(timestamp(until))
        .bind(&now)
        .bind(limit)
        .execute(&mut **tx)
        .await
        .context("claim findings")?;
        let columns = CONTROL_COLUMNS
            .split(',')
            .map(|column| format!("c.{}", column.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns}, f.generation, f.attempts FROM securityhub_findings f \
             JOIN controls c ON c.workload_arn = f.workload_arn AND c.lens = f.lens \
             AND c.question_id = f.question_id \
             WHERE f.claimed_by = $1 AND f.due_at <= $2 ORDER BY f.due_at LIMIT $3"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(&now)
            .bind(limit)
            .fetch_all(&mut **tx)
            .await
            .context("read claimed findings")?;
        self.commit(tx, "finding claims").await?;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                Ok(DueFinding {
                    control: ControlRow::from_row(row)?,
                    generation: row.try_get("generation")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Records an accepted import: due again at `refresh_at`. A change that came
    /// after the control was read leaves the row due (and releases the claim), so
    /// the newer finding is imported next.
    pub async fn mark_finding_sent(
        &self,
        due: &DueFinding,
        owner: &str,
        at: DateTime<Utc>,
        refresh_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let key = due.control.key();
        sqlx::query(
            "UPDATE securityhub_findings SET sent_generation = generation, sent_at = $1, due_at = $2, \
             attempts = 0, last_error = NULL, claimed_by = NULL, claimed_until = NULL \
             WHERE workload_arn = $3 AND lens = $5 AND question_id = $6 AND generation = $4",
        )
        .bind(timestamp(at))
        .bind(timestamp(refresh_at))
        .bind(&key.workload_arn)
        .bind(due.generation)
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&self.writer)
        .await
        .context("mark a finding imported")?;
        self.release_finding(&key, owner).await
    }

    /// Records a failed import: claimable again from `retry_at`.
    pub async fn mark_finding_failed(
        &self,
        due: &DueFinding,
        owner: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let key = due.control.key();
        sqlx::query(
            "UPDATE securityhub_findings SET attempts = attempts + 1, last_error = $1, due_at = $2, \
             claimed_by = NULL, claimed_until = NULL WHERE workload_arn = $3 AND lens = $6 \
             AND question_id = $7 AND claimed_by = $4 AND generation = $5",
        )
        .bind(error)
        .bind(timestamp(retry_at))
        .bind(&key.workload_arn)
        .bind(owner)
        .bind(due.generation)
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&self.writer)
        .await
        .context("record a failed finding")?;
        self.release_finding(&key, owner).await
    }

    async fn release_finding(&self, key: &ControlKey, owner: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE securityhub_findings SET claimed_by = NULL, claimed_until = NULL \
             WHERE workload_arn = $1 AND lens = $3 AND question_id = $4 AND claimed_by = $2",
        )
        .bind(&key.workload_arn)
        .bind(owner)
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&self.writer)
        .await
        .context("release a finding")?;
        Ok(())
    }

    /// Findings changed but not yet accepted by Security Hub.
    pub async fn findings_backlog(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM securityhub_findings \
             WHERE sent_generation IS NULL OR sent_generation < generation",
        )
        .fetch_one(&self.pool)
        .await
        .context("count the findings backlog")?;
        Ok(n)
    }
}
