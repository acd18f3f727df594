//! Leases that let several replicas share one database safely.
//!
//! Both are conditional writes, so the database arbitrates: exactly one replica
//! holds a lease at a time, and an expired lease (a dead replica's) is taken over.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::key::ControlKey;
use super::{Store, timestamp};

impl Store {
    /// Takes or renews the named lease for `owner` until `until`; false when
    /// another owner holds it unexpired.
    pub async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = $2, expires_at = $3 \
             WHERE leases.expires_at < $4 OR leases.owner = $2",
        )
        .bind(name)
        .bind(owner)
        .bind(timestamp(until))
        .bind(timestamp(now))
        .execute(&self.writer)
        .await;
        // Every sweep starts here: with writes failing, this is the only write.
        self.health.observe(result.is_ok());
        Ok(result.context("take a lease")?.rows_affected() == 1)
    }

    /// Claims one control for evaluation by `owner` until `until`; false when
    /// another replica is evaluating it. The claim ends when the result is
    /// recorded ([`Store::record`], [`Store::remove`] release it) or expires.
    pub async fn claim_control(
        &self,
        key: &ControlKey,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let result = sqlx::query(
            "UPDATE controls SET lease_owner = $1, lease_until = $2 WHERE workload_arn = $3 \
             AND lens = $5 AND question_id = $6 \
             AND (lease_owner IS NULL OR lease_owner = $1 OR lease_until < $4)",
        )
        .bind(owner)
        .bind(timestamp(until))
        .bind(&key.workload_arn)
        .bind(timestamp(now))
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&self.writer)
        .await
        .context("claim a control")?;
        Ok(result.rows_affected() == 1)
    }
}

impl Store {
    /// Records a complete sweep of `scope`.
    pub async fn record_sweep(
        &self,
        scope: &str,
        replica: &str,
        completed_at: DateTime<Utc>,
        listed: i64,
        duration_ms: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO sweeps (scope, replica, completed_at, listed, duration_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (scope) DO UPDATE SET replica = $2, completed_at = $3, listed = $4, duration_ms = $5",
        )
        .bind(scope)
        .bind(replica)
        .bind(timestamp(completed_at))
        .bind(listed)
        .bind(duration_ms)
        .execute(&self.writer)
        .await
        .context("record a sweep")?;
        Ok(())
    }

    /// When `scope` was last swept completely, by any replica.
    pub async fn last_sweep(&self, scope: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
        self.stored_time("SELECT completed_at FROM sweeps WHERE scope = $1", scope)
            .await
            .context("read the last sweep")
    }

    /// When each scope was last swept completely, in one query (readiness asks
    /// for every scope at once, and a fleet may have a thousand), on readiness's
    /// own probe connection.
    pub async fn last_sweeps(&self) -> anyhow::Result<HashMap<String, DateTime<Utc>>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT scope, completed_at FROM sweeps")
            .fetch_all(&self.probe)
            .await
            .context("read the last sweeps")?;
        rows.into_iter()
            .map(|(scope, at)| Ok((scope, parse_stored(&at)?)))
            .collect()
    }

    /// When the named lease runs out, whoever holds it; `None` if nobody does.
    pub async fn lease_expiry(&self, name: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
        self.stored_time("SELECT expires_at FROM leases WHERE name = $1", name)
            .await
            .context("read a lease")
    }

    /// The one timestamp `sql` selects for `key`, if there is a row.
    async fn stored_time(
        &self,
        sql: &'static str,
        key: &str,
    ) -> anyhow::Result<Option<DateTime<Utc>>> {
        let row: Option<(String,)> = sqlx::query_as(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|(at,)| parse_stored(&at)).transpose()
    }

    /// Gives up everything `owner` holds — its sweep leases, its claims on
    /// controls and on notifications — so that another replica, or this one
    /// restarted, takes the work over at once instead of when they expire.
    pub async fn release_all(&self, owner: &str) -> anyhow::Result<()> {
        for sql in [
            "DELETE FROM leases WHERE owner = $1",
            "UPDATE controls SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL \
             WHERE claimed_by = $1 AND published_at IS NULL",
        ] {
            sqlx::query(sql)
                .bind(owner)
                .execute(&self.writer)
                .await
                .with_context(|| format!("release leases: {sql}"))?;
        }
        Ok(())
    }
}

fn parse_stored(at: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(at)
        .with_context(|| format!("stored time {at:?}"))?
        .with_timezone(&Utc))
}
