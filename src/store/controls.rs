//! Reads of controls: one by workload, those of a scope, counts by state. Their
//! writes are in [`super::write`], behind [`Store::apply`].

use anyhow::Context;
use chrono::Utc;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};

use super::key::ControlKey;
use super::rows::{CONTROL_COLUMNS, ControlRow};
use super::{Store, timestamp};
use crate::control::policy::{LENS_ALIAS, QUESTION_ID};

/// How many active controls are in a state, muted or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCount {
    pub state: String,
    pub muted: bool,
    pub count: i64,
}

/// The query reading the control `key` names.
pub(super) fn select_control(key: &ControlKey) -> Query<'_, Any, AnyArguments> {
    let sql = format!(
        "SELECT {CONTROL_COLUMNS} FROM controls \
         WHERE workload_arn = $1 AND lens = $2 AND question_id = $3"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(&key.workload_arn)
        .bind(&key.lens)
        .bind(&key.question_id)
}

impl Store {
    /// REL 04's control of a workload (see [`Store::control_of`] for any other).
    pub async fn control(&self, workload_arn: &str) -> anyhow::Result<Option<ControlRow>> {
        self.control_of(&ControlKey::rel04(workload_arn)).await
    }

    /// The control `key` names.
    pub async fn control_of(&self, key: &ControlKey) -> anyhow::Result<Option<ControlRow>> {
        let row = select_control(key)
            .fetch_optional(&self.pool)
            .await
            .with_context(|| format!("read the control {key}"))?;
        row.as_ref().map(ControlRow::from_row).transpose()
    }

    /// Every control of a workload (one per lens and question), removed ones too.
    pub async fn controls_of_workload(
        &self,
        workload_arn: &str,
    ) -> anyhow::Result<Vec<ControlRow>> {
        self.all_controls("workload_arn = $1", workload_arn, "lens, question_id")
            .await
    }

    /// Every control of a workload id, removed ones too, the most recently
    /// updated first.
    pub async fn controls_of_workload_id(
        &self,
        workload_id: &str,
    ) -> anyhow::Result<Vec<ControlRow>> {
        self.all_controls(
            "workload_id = $1",
            workload_id,
            "updated_at DESC, lens, question_id",
        )
        .await
    }

    /// Every control where `condition` holds of `value`, in `order`.
    async fn all_controls(
        &self,
        condition: &'static str,
        value: &str,
        order: &'static str,
    ) -> anyhow::Result<Vec<ControlRow>> {
        let sql =
            format!("SELECT {CONTROL_COLUMNS} FROM controls WHERE {condition} ORDER BY {order}");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(value)
            .fetch_all(&self.pool)
            .await
            .with_context(|| format!("read the controls where {condition}"))?;
        rows.iter().map(ControlRow::from_row).collect()
    }

    /// REL 04's control of a workload id (ids are unique across accounts in
    /// practice; the most recently updated wins if not).
    pub async fn control_by_workload_id(
        &self,
        workload_id: &str,
    ) -> anyhow::Result<Option<ControlRow>> {
        self.control_by_workload_id_of(workload_id, LENS_ALIAS, QUESTION_ID)
            .await
    }

    /// The control of question `question_id` of `lens` on a workload id (the
    /// most recently updated, should two accounts share the id): one indexed read.
    pub async fn control_by_workload_id_of(
        &self,
        workload_id: &str,
        lens: &str,
        question_id: &str,
    ) -> anyhow::Result<Option<ControlRow>> {
        let sql = format!(
            "SELECT {CONTROL_COLUMNS} FROM controls WHERE workload_id = $1 AND lens = $2 \
             AND question_id = $3 ORDER BY updated_at DESC LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(workload_id)
            .bind(lens)
            .bind(question_id)
            .fetch_optional(&self.pool)
            .await
            .with_context(|| format!("read the control of workload id {workload_id}"))?;
        row.as_ref().map(ControlRow::from_row).transpose()
    }

    /// Any one control of a workload, by workload id or ARN, whatever its
    /// question (the most recently updated): what a workload whose controls
    /// are all of other questions than REL 04 is known by.
    pub async fn any_control_of_workload(
        &self,
        id_or_arn: &str,
    ) -> anyhow::Result<Option<ControlRow>> {
        let sql = format!(
            "SELECT {CONTROL_COLUMNS} FROM controls WHERE workload_id = $1 OR workload_arn = $1 \
             ORDER BY updated_at DESC LIMIT 1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id_or_arn)
            .fetch_optional(&self.pool)
            .await
            .with_context(|| format!("read a control of workload {id_or_arn}"))?;
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

    /// `(workload_arn, workload_id)` of the workloads with active (not removed)
    /// controls last seen by the scan `scanned_by`, each once. Only the keys: a sweep holds them all at once.
    pub async fn active_control_keys(
        &self,
        scanned_by: &str,
    ) -> anyhow::Result<Vec<(String, String)>> {
        sqlx::query_as(
            "SELECT DISTINCT workload_arn, workload_id FROM controls \
             WHERE scanned_by = $1 AND removed_at IS NULL",
        )
        .bind(scanned_by)
        .fetch_all(&self.pool)
        .await
        .context("list active controls")
    }
}

impl Store {
    /// The control types of active controls, `(lens, question_id, control_type)`
    /// each once, in that order; at most [`MAX_CONTROL_TYPES`] (the configuration
    /// governs at most 1,000 questions).
    pub async fn control_types(&self) -> anyhow::Result<Vec<(String, String, String)>> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT lens, question_id, control_type FROM controls \
             WHERE removed_at IS NULL ORDER BY 1, 2, 3 LIMIT {MAX_CONTROL_TYPES}"
        )))
        .fetch_all(&self.pool)
        .await
        .context("list control types")
    }
}

/// The most control types [`Store::control_types`] returns.
pub const MAX_CONTROL_TYPES: usize = 2_000;

impl Store {
    /// Records the lens review's LensStatus (`CURRENT`, `NOT_CURRENT`, …) on
    /// every control of the workload's lens; returns how many rows it set.
    pub async fn set_lens_status(
        &self,
        workload_arn: &str,
        lens: &str,
        status: &str,
    ) -> anyhow::Result<u64> {
        let updated = sqlx::query(
            "UPDATE controls SET lens_status = $3 WHERE workload_arn = $1 AND lens = $2 \
             AND (lens_status IS NULL OR lens_status <> $3)",
        )
        .bind(workload_arn)
        .bind(lens)
        .bind(status)
        .execute(&self.writer)
        .await
        .context("record a lens status")?;
        Ok(updated.rows_affected())
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
