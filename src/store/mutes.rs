//! Muting controls, and the history of mutes.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use super::rows::ControlRow;
use super::{Store, timestamp};
use crate::control::ControlState;

/// One mute or unmute, as kept in history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MuteEvent {
    pub id: i64,
    pub workload_id: String,
    pub workload_arn: String,
    /// `mute` or `unmute`.
    pub action: String,
    pub until: Option<String>,
    pub until_state: Option<String>,
    pub actor: String,
    pub reason: String,
    pub occurred_at: String,
}

/// A mute that would be meaningless or end at once; refused before anything is written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MuteError {
    #[error("--until {0} is not in the future")]
    UntilPassed(String),
    #[error("a reason is required (it is kept in the mute history)")]
    NoReason,
    #[error("the control is already {0}: a mute until it is {0} would end at once")]
    AlreadyInState(String),
}

/// Checks a mute request against the control as it is now.
pub fn check_mute(
    control: &ControlRow,
    until: Option<DateTime<Utc>>,
    until_state: Option<ControlState>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), MuteError> {
    check_reason(reason)?;
    if let Some(until) = until.filter(|at| *at <= now) {
        return Err(MuteError::UntilPassed(until.to_rfc3339()));
    }
    if let Some(state) = until_state.filter(|s| control.state == *s) {
        return Err(MuteError::AlreadyInState(state.to_string()));
    }
    Ok(())
}

/// A reason must say something: whitespace is no reason.
pub fn check_reason(reason: &str) -> Result<(), MuteError> {
    if reason.trim().is_empty() {
        Err(MuteError::NoReason)
    } else {
        Ok(())
    }
}

/// A history entry to write.
struct Entry<'a> {
    action: &'a str,
    until: Option<&'a str>,
    until_state: Option<&'a str>,
    actor: &'a str,
    reason: &'a str,
    at: &'a str,
}

async fn log_mute(
    tx: &mut Transaction<'static, Any>,
    control: &ControlRow,
    entry: Entry<'_>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO mutes (workload_id, workload_arn, action, until, until_state, actor, reason, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&control.workload_id)
    .bind(&control.workload_arn)
    .bind(entry.action)
    .bind(entry.until)
    .bind(entry.until_state)
    .bind(entry.actor)
    .bind(entry.reason)
    .bind(entry.at)
    .execute(&mut **tx)
    .await
    .context("record a mute")?;
    Ok(())
}

async fn clear(tx: &mut Transaction<'static, Any>, workload_arn: &str) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE controls SET muted_at = NULL, muted_until = NULL, muted_until_state = NULL, \
         muted_by = NULL, muted_reason = NULL WHERE workload_arn = $1",
    )
    .bind(workload_arn)
    .execute(&mut **tx)
    .await
    .context("clear a mute")?;
    Ok(())
}

/// Whether a transition of `control` to `to_state` at `at` is muted, read inside
/// the transition's transaction. A mute waiting for this state ends here (and is
/// logged as such): the transition that reaches it is announced again.
pub(super) async fn muted_for(
    tx: &mut Transaction<'static, Any>,
    control: &ControlRow,
    to_state: ControlState,
    at: &str,
) -> anyhow::Result<bool> {
    let row = sqlx::query(
        "SELECT muted_at, muted_until, muted_until_state FROM controls WHERE workload_arn = $1",
    )
    .bind(&control.workload_arn)
    .fetch_optional(&mut **tx)
    .await
    .context("read a control's mute")?;
    let Some(row) = row else { return Ok(false) };
    let muted_at: Option<String> = row.try_get("muted_at")?;
    let until: Option<String> = row.try_get("muted_until")?;
    let until_state: Option<String> = row.try_get("muted_until_state")?;
    if muted_at.is_none() || until.as_deref().is_some_and(|until| until <= at) {
        return Ok(false);
    }
    if until_state.as_deref() == Some(to_state.as_str()) {
        clear(tx, &control.workload_arn).await?;
        let reason = format!("reached state {to_state}");
        let entry = Entry {
            action: "unmute",
            until: None,
            until_state: None,
            actor: "rel04d",
            reason: &reason,
            at,
        };
        log_mute(tx, control, entry).await?;
        return Ok(false);
    }
    Ok(true)
}

impl Store {
    /// Mutes a control until `until`, until it reaches `until_state`, or (with
    /// neither) until unmuted.
    pub async fn mute(
        &self,
        control: &ControlRow,
        until: Option<DateTime<Utc>>,
        until_state: Option<ControlState>,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        check_mute(control, until, until_state, reason, at)?;
        let (at, until) = (timestamp(at), until.map(timestamp));
        let until_state = until_state.map(|s| s.as_str());
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE controls SET muted_at = $1, muted_until = $2, muted_until_state = $3, muted_by = $4, \
             muted_reason = $5 WHERE workload_arn = $6",
        )
        .bind(&at)
        .bind(until.as_deref())
        .bind(until_state)
        .bind(actor)
        .bind(reason)
        .bind(&control.workload_arn)
        .execute(&mut **tx)
        .await
        .context("mute a control")?;
        let entry = Entry {
            action: "mute",
            until: until.as_deref(),
            until_state,
            actor,
            reason,
            at: &at,
        };
        log_mute(&mut tx, control, entry).await?;
        self.commit(tx, "a mute").await?;
        Ok(())
    }

    /// Ends a control's mute.
    pub async fn unmute(
        &self,
        control: &ControlRow,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        check_reason(reason)?;
        let mut tx = self.begin_write().await?;
        clear(&mut tx, &control.workload_arn).await?;
        let at = timestamp(at);
        let entry = Entry {
            action: "unmute",
            until: None,
            until_state: None,
            actor,
            reason,
            at: &at,
        };
        log_mute(&mut tx, control, entry).await?;
        self.commit(tx, "an unmute").await?;
        Ok(())
    }

    /// The mute history of a workload, newest first.
    pub async fn mute_history(&self, workload_arn: &str) -> anyhow::Result<Vec<MuteEvent>> {
        let sql = "SELECT id, workload_id, workload_arn, action, until, until_state, actor, reason, occurred_at \
                   FROM mutes WHERE workload_arn = $1 ORDER BY id DESC";
        let rows = sqlx::query(sql)
            .bind(workload_arn)
            .fetch_all(&self.pool)
            .await
            .context("read mute history")?;
        rows.iter()
            .map(|row| {
                Ok(MuteEvent {
                    id: row.try_get("id")?,
                    workload_id: row.try_get("workload_id")?,
                    workload_arn: row.try_get("workload_arn")?,
                    action: row.try_get("action")?,
                    until: row.try_get("until")?,
                    until_state: row.try_get("until_state")?,
                    actor: row.try_get("actor")?,
                    reason: row.try_get("reason")?,
                    occurred_at: row.try_get("occurred_at")?,
                })
            })
            .collect()
    }
}
