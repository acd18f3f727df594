//! rel04d's own answer writes (`enforce_writes`), for deferred enforcement.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, timestamp};

impl Store {
    /// Records that rel04d writes (or just wrote) the answer of `workload_arn` at `at`.
    pub async fn record_own_write(
        &self,
        workload_arn: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO enforce_writes (workload_arn, written_at) VALUES ($1, $2) \
             ON CONFLICT (workload_arn) DO UPDATE SET written_at = excluded.written_at",
        )
        .bind(workload_arn)
        .bind(timestamp(at))
        .execute(&self.pool)
        .await
        .context("record an answer write of rel04d's")?;
        Ok(())
    }

    /// When rel04d last wrote the answer of `workload_arn`, if ever.
    pub async fn last_own_write(
        &self,
        workload_arn: &str,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT written_at FROM enforce_writes WHERE workload_arn = $1")
                .bind(workload_arn)
                .fetch_optional(&self.pool)
                .await
                .context("read rel04d's last answer write")?;
        row.map(|(at,)| super::settle::parse_at(&at)).transpose()
    }
}
