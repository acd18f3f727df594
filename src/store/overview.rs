//! The few cheap reads the status page adds to those the CLI makes: the last
//! complete sweep of every scope, and the newest transition's id (which tells a
//! page whether anything changed, whichever replica recorded it).

use anyhow::Context;

use super::Store;

/// The last complete sweep of one account-region (`sweeps` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepRow {
    pub scope: String,
    pub replica: String,
    pub completed_at: String,
    pub listed: i64,
    pub duration_ms: i64,
}

impl Store {
    /// Every scope's last complete sweep, by scope. One row per scope, so small.
    pub async fn sweeps(&self) -> anyhow::Result<Vec<SweepRow>> {
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT scope, replica, completed_at, listed, duration_ms FROM sweeps ORDER BY scope",
        )
        .fetch_all(&self.pool)
        .await
        .context("list the last sweeps")?;
        Ok(rows
            .into_iter()
            .map(
                |(scope, replica, completed_at, listed, duration_ms)| SweepRow {
                    scope,
                    replica,
                    completed_at,
                    listed,
                    duration_ms,
                },
            )
            .collect())
    }

    /// The id of the newest transition (0 when there is none): the primary key's
    /// maximum, read from its index.
    pub async fn latest_transition_id(&self) -> anyhow::Result<i64> {
        let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM transitions")
            .fetch_one(&self.pool)
            .await
            .context("read the latest transition id")?;
        Ok(id.unwrap_or(0))
    }
}
