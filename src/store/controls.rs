//! Reads of controls: one by workload, those of a scope, counts by state. Their
//! writes are in [`super::write`], behind [`Store::apply`].

use anyhow::Context;
use chrono::Utc;
use sqlx::AssertSqlSafe;

use super::rows::{CONTROL_COLUMNS, ControlRow};
use super::{Store, timestamp};

/// How many active controls are in a state, muted or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCount {
    pub state: String,
    pub muted: bool,
    pub count: i64,
}

impl Store {
    pub async fn control(&self, workload_arn: &str) -> anyhow::Result<Option<ControlRow>> {
        self.one_control("workload_arn = $1", workload_arn).await
    }

    /// The control of a workload id (ids are unique across accounts in practice;
    /// the most recently updated wins if not).
    pub async fn control_by_workload_id(
        &self,
        workload_id: &str,
    ) -> anyhow::Result<Option<ControlRow>> {
        self.one_control("workload_id = $1", workload_id).await
    }

    pub(super) async fn one_control(
        &self,
        condition: &'static str,
        value: &str,
    ) -> anyhow::Result<Option<ControlRow>> {
        let sql = format!(
            "SELECT {CONTROL_COLUMNS} FROM controls WHERE {condition} ORDER BY updated_at DESC LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .with_context(|| format!("read a control where {condition}"))?;
        row.as_ref().map(ControlRow::from_row).transpose()
    }

    /// Active controls last seen by a scan that is not among `scanned_by` (an
    /// account or region taken out of the configuration).
    pub async fn controls_outside(&self, scanned_by: &[&str]) -> anyhow::Result<Vec<ControlRow>> {
        let placeholders: Vec<String> = (1..=scanned_by.len()).map(|n| format!("${n}")).collect();
        let mut sql = format!("SELECT {CONTROL_COLUMNS} FROM controls WHERE removed_at IS NULL");
        if !placeholders.is_empty() {
            sql.push_str(&format!(
                " AND scanned_by NOT IN ({})",
                placeholders.join(", ")
            ));
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for scope in scanned_by {
            query = query.bind(*scope);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .context("list controls of unconfigured scopes")?;
        rows.iter().map(ControlRow::from_row).collect()
    }

    /// `(workload_arn, workload_id)` of the active (not removed) controls last
    /// seen by the scan `scanned_by`. Only the keys: a sweep holds them all at once.
    pub async fn active_control_keys(
        &self,
        scanned_by: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        sqlx::query_as(
            "SELECT workload_arn, workload_id FROM controls WHERE scanned_by = $1 AND removed_at IS NULL",
        )
        .bind(scanned_by)
        .fetch_all(&self.pool)
        .await
        .context("list active controls")
    }
}

impl Store {
    /// Active controls per state and whether muted now, for metrics and summaries.
    pub async fn count_by_state(&self) -> anyhow::Result<Vec<StateCount>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT state, CASE WHEN muted_at IS NOT NULL AND (muted_until IS NULL OR muted_until > $1) \
             THEN 1 ELSE 0 END AS muted, COUNT(*) FROM controls WHERE removed_at IS NULL \
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .bind(timestamp(Utc::now()))
        .fetch_all(&self.pool)
        .await
        .context("count controls by state")?;
        Ok(rows
            .into_iter()
            .map(|(state, muted, count)| StateCount {
                state,
                muted: muted != 0,
                count,
            })
            .collect())
    }
}
