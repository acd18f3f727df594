//! Muting controls, and the history of mutes.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::key::ControlKey;
use super::rows::ControlRow;
use super::{Store, timestamp};
use crate::control::ControlState;

/// One mute or unmute, as kept in history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MuteEvent {
    pub id: i64,
    pub workload_id: String,
    pub workload_arn: String,
    pub lens: String,
    pub question_id: String,
    /// `mute` or `unmute`.
    pub action: String,
    pub until: Option<String>,
    pub until_state: Option<String>,
    pub actor: String,
    pub reason: String,
    pub occurred_at: String,
}

/// A mute or unmute that would be meaningless or end at once; refused before
/// anything is written. Shown to a caller through [`MuteError::in_words`], in the
/// names that caller gave the fields.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MuteError {
    #[error("the mute's end {0} is not in the future")]
    UntilPassed(String),
    #[error("a reason is required (it is kept in the mute history)")]
    NoReason,
    #[error("the control is already {0}: a mute until it is {0} would end at once")]
    AlreadyInState(String),
    #[error("{0} is not muted")]
    NotMuted(String),
}

/// What a caller calls a mute's fields: the CLI's flags or GraphQL's arguments.
#[derive(Clone, Copy, Debug)]
pub struct MuteWords {
    pub until: &'static str,
    pub until_state: &'static str,
    pub reason: &'static str,
}

impl MuteWords {
    pub const CLI: MuteWords = MuteWords {
        until: "--until",
        until_state: "--until-state",
        reason: "--reason",
    };
    pub const GRAPHQL: MuteWords = MuteWords {
        until: "toTimestamp",
        until_state: "untilStates",
        reason: "note",
    };
}

impl MuteError {
    /// The error as a caller who named the fields `words` should read it.
    pub fn in_words(&self, words: MuteWords) -> String {
        match self {
            MuteError::UntilPassed(at) => format!("{} {at} is not in the future", words.until),
            MuteError::NoReason => format!(
                "a reason is required: {} must say why (it is kept in the mute history)",
                words.reason
            ),
            MuteError::AlreadyInState(state) => format!(
                "the control is already {state}: {} {state} would end the mute at once",
                words.until_state
            ),
            MuteError::NotMuted(_) => self.to_string(),
        }
    }
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
        "INSERT INTO mutes (workload_id, workload_arn, lens, question_id, action, until, \
         until_state, actor, reason, occurred_at) VALUES ($1, $2, $9, $10, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&control.workload_id)
    .bind(&control.workload_arn)
    .bind(entry.action)
    .bind(entry.until)
    .bind(entry.until_state)
    .bind(entry.actor)
    .bind(entry.reason)
    .bind(entry.at)
    .bind(&control.lens)
    .bind(&control.question_id)
    .execute(&mut **tx)
    .await
    .context("record a mute")?;
    Ok(())
}

/// Clears the control's mute if it has one; says whether it had. The check and
/// the write are one statement, so of two transactions clearing the same mute
/// (two unmutes, or an unmute and the awaited state) only one sees it: a row
/// locked by the other is re-read after that one commits (Postgres), or the
/// writers take turns (SQLite).
async fn clear(tx: &mut Transaction<'static, Any>, control: &ControlRow) -> anyhow::Result<bool> {
    let cleared = sqlx::query(
        "UPDATE controls SET muted_at = NULL, muted_until = NULL, muted_until_state = NULL, \
         muted_by = NULL, muted_reason = NULL WHERE workload_arn = $1 AND lens = $2 \
         AND question_id = $3 AND muted_at IS NOT NULL",
    )
    .bind(&control.workload_arn)
    .bind(&control.lens)
    .bind(&control.question_id)
    .execute(&mut **tx)
    .await
    .context("clear a mute")?;
    Ok(cleared.rows_affected() > 0)
}

/// The columns of a control's mute, as a transition's transaction reads them.
pub(super) const MUTE_COLUMNS: &str = "muted_at, muted_until, muted_until_state";

/// A control's mute as read inside a transition's transaction: by the
/// statement that updated the control (`RETURNING` [`MUTE_COLUMNS`], one round
/// trip fewer) or by [`apply_mute`] itself.
pub(super) struct MuteRead {
    muted_at: Option<String>,
    until: Option<String>,
    until_state: Option<String>,
}

impl MuteRead {
    pub(super) fn from_row(row: &sqlx::any::AnyRow) -> anyhow::Result<Self> {
        Ok(MuteRead {
            muted_at: row.try_get("muted_at")?,
            until: row.try_get("muted_until")?,
            until_state: row.try_get("muted_until_state")?,
        })
    }
}

/// Applies the control's mute to its transition to `to_state` at `at`, inside
/// the transition's transaction, and says whether that transition is muted. It
/// writes: a mute waiting for this state ends here (cleared, and logged as an
/// unmute by rel04d), so the transition that reaches it is announced again.
/// `read` is the mute as this transaction already read it, if it did.
pub(super) async fn apply_mute(
    tx: &mut Transaction<'static, Any>,
    control: &ControlRow,
    to_state: ControlState,
    at: &str,
    read: Option<MuteRead>,
) -> anyhow::Result<bool> {
    let read = match read {
        Some(read) => read,
        None => {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {MUTE_COLUMNS} FROM controls \
                 WHERE workload_arn = $1 AND lens = $2 AND question_id = $3"
            )))
            .bind(&control.workload_arn)
            .bind(&control.lens)
            .bind(&control.question_id)
            .fetch_optional(&mut **tx)
            .await
            .context("read a control's mute")?;
            let Some(row) = row else { return Ok(false) };
            MuteRead::from_row(&row)?
        }
    };
    let MuteRead {
        muted_at,
        until,
        until_state,
    } = read;
    if muted_at.is_none() || until.as_deref().is_some_and(|until| until <= at) {
        return Ok(false);
    }
    if until_state.as_deref() == Some(to_state.as_str()) {
        if !clear(tx, control).await? {
            // Unmuted by someone else since the read above.
            return Ok(false);
        }
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
        // A mute until a state is written only while the control is not in that
        // state, checked by the write itself: a transition committed since
        // `control` was read cannot make it a mute that never ends.
        let mut sql =
            "UPDATE controls SET muted_at = $1, muted_until = $2, muted_until_state = $3, \
                       muted_by = $4, muted_reason = $5 WHERE workload_arn = $6 AND lens = $7 \
                       AND question_id = $8"
                .to_owned();
        if until_state.is_some() {
            sql.push_str(" AND state <> $3");
        }
        let muted = sqlx::query(AssertSqlSafe(sql))
            .bind(&at)
            .bind(until.as_deref())
            .bind(until_state)
            .bind(actor)
            .bind(reason)
            .bind(&control.workload_arn)
            .bind(&control.lens)
            .bind(&control.question_id)
            .execute(&mut **tx)
            .await
            .context("mute a control")?;
        if let Some(state) = until_state.filter(|_| muted.rows_affected() == 0) {
            return Err(MuteError::AlreadyInState(state.to_owned()).into());
        }
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

    /// Ends a control's mute; [`MuteError::NotMuted`] when it has none (also
    /// when another unmute ended it since `control` was read).
    pub async fn unmute(
        &self,
        control: &ControlRow,
        actor: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        check_reason(reason)?;
        let mut tx = self.begin_write().await?;
        if !clear(&mut tx, control).await? {
            return Err(MuteError::NotMuted(control.workload_id.clone()).into());
        }
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

    /// The mute history of the control `key`, newest first.
    pub async fn mute_history_of(&self, key: &ControlKey) -> anyhow::Result<Vec<MuteEvent>> {
        let sql = "SELECT id, workload_id, workload_arn, lens, question_id, action, until, \
                   until_state, actor, reason, occurred_at FROM mutes \
                   WHERE workload_arn = $1 AND lens = $2 AND question_id = $3 ORDER BY id DESC";
        let rows = sqlx::query(sql)
            .bind(&key.workload_arn)
            .bind(&key.lens)
            .bind(&key.question_id)
            .fetch_all(&self.pool)
            .await
            .context("read mute history")?;
        rows.iter()
            .map(|row| {
                Ok(MuteEvent {
                    id: row.try_get("id")?,
                    workload_id: row.try_get("workload_id")?,
                    workload_arn: row.try_get("workload_arn")?,
                    lens: row.try_get("lens")?,
                    question_id: row.try_get("question_id")?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_fields_as_the_caller_does() {
        let passed = MuteError::UntilPassed("2020-01-01T00:00:00+00:00".into());
        let graphql = passed.in_words(MuteWords::GRAPHQL);
        assert!(graphql.starts_with("toTimestamp 2020-01-01"), "{graphql}");
        assert!(!graphql.contains("--"), "{graphql}");
        let cli = passed.in_words(MuteWords::CLI);
        assert!(cli.starts_with("--until 2020-01-01"), "{cli}");
        let state = MuteError::AlreadyInState("ok".into());
        assert!(
            state
                .in_words(MuteWords::GRAPHQL)
                .contains("untilStates ok")
        );
        assert!(state.in_words(MuteWords::CLI).contains("--until-state ok"));
        assert!(
            MuteError::NoReason
                .in_words(MuteWords::GRAPHQL)
                .contains("a reason is required: note must say why")
        );
        assert!(
            MuteError::NoReason
                .in_words(MuteWords::CLI)
                .contains("a reason is required: --reason must say why")
        );
    }
}
