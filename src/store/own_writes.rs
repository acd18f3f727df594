//! rel04d's own answer writes (`enforce_writes`), for deferred enforcement.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::key::ControlKey;
use super::{Store, timestamp};

impl Store {
    /// Records that rel04d writes (or just wrote) the answer of the control `key`
    /// at `at`.
    pub async fn record_own_write(
        &self,
        key: &ControlKey,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO enforce_writes (workload_arn, lens, question_id, written_at) \
             VALUES ($1, $3, $4, $2) ON CONFLICT (workload_arn, lens, question_id) \
             DO UPDATE SET written_at = excluded.written_at",
        )
        .bind(&key.workload_arn)
        .bind(timestamp(at))
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&self.writer)
        .await
        .context("record an answer write of rel04d's")?;
        Ok(())
    }

    /// When rel04d last wrote the answer of the control `key`, if ever.
    pub async fn last_own_write(&self, key: &ControlKey) -> anyhow::Result<Option<DateTime<Utc>>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT written_at FROM enforce_writes \
             WHERE workload_arn = $1 AND lens = $2 AND question_id = $3",
        )
        .bind(&key.workload_arn)
        .bind(&key.lens)
        .bind(&key.question_id)
        .fetch_optional(&self.pool)
        .await
        .context("read rel04d's last answer write")?;
        row.map(|(at,)| super::settle::parse_at(&at)).transpose()
    }
}
