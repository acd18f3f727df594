//! The transactional writes of controls and their transitions.
//!
//! Every write is one transaction that checks and bumps the control's `version`
//! (optimistic concurrency): when two evaluations of one workload race, in one
//! process or across replicas, exactly one commits and the other learns it lost
//! ([`Written::Conflict`]), so no change is ever recorded twice. Evaluations
//! reach them through [`Store::apply`]; tests may call them directly.

use std::sync::LazyLock;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::key::ControlKey;
use super::mutes::{MUTE_COLUMNS, MuteRead};
use super::rows::{ControlRow, TransitionRow};
use super::transition::{NewTransition, Queues, insert_transition};
use super::{Store, timestamp};
use crate::control::ControlState;
use crate::workload::{Trigger, Workload};

/// Writes a recording over a control found by its key and version
/// (`update_in`), returning its mute. Written once, not per transition.
pub(super) static UPDATE_CONTROL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE controls SET state = $1, reason = $2, details = $3, workload_name = $4, \
         scanned_by = $5, evaluated_at = $6, updated_at = $7, version = version + 1, \
         lease_owner = NULL, lease_until = NULL, lens_status = COALESCE($12, lens_status) \
         WHERE workload_arn = $8 AND lens = $10 AND question_id = $11 AND version = $9 \
         RETURNING {MUTE_COLUMNS}"
    )
});

/// Marks a control found by its key and version removed ([`Store::remove`]).
pub(super) const REMOVE_CONTROL: &str = "UPDATE controls SET state = 'removed', reason = $1, \
     removed_at = $2, updated_at = $2, version = version + 1, lease_owner = NULL, \
     lease_until = NULL WHERE workload_arn = $3 AND lens = $5 AND question_id = $6 AND version = $4";

/// The reason of a control created or revived, before its first verdict.
pub const NOT_EVALUATED: &str = "Workload found; not evaluated yet";

/// What one evaluation writes.
#[derive(Clone, Debug)]
pub struct Recording<'a> {
    pub workload: &'a Workload,
    pub scanned_by: &'a str,
    pub state: ControlState,
    pub reason: &'a str,
    pub details: &'a serde_json::Value,
    pub trigger: &'a Trigger,
    /// Set when rel04d changed the answer: what it changed, recorded on the transition.
    pub enforced: Option<&'a [String]>,
    /// The lens review's status as read (`None`: unknown, the row keeps its own).
    pub lens_status: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// The result of a write.
#[derive(Clone, Debug, PartialEq)]
pub enum Written {
    /// The state did not change: the row was refreshed, no transition written.
    Unchanged,
    /// The state changed; this transition was recorded in the same transaction.
    Transition(Box<TransitionRow>),
    /// Someone else wrote the control since it was read; nothing was written.
    Conflict,
}

impl Store {
    /// Makes sure the control `key` of `workload` is active: creates it in `tbd`,
    /// or brings a removed one back to `tbd`, recording that transition. Returns
    /// the current row and the transition if one was written.
    pub async fn open_control_of(
        &self,
        key: &ControlKey,
        control_type: &str,
        workload: &Workload,
        scanned_by: &str,
        trigger: &Trigger,
        at: DateTime<Utc>,
    ) -> anyhow::Result<(ControlRow, Option<TransitionRow>)> {
        // Nearly always the control exists and is active: a read, no write
        // transaction. Creating or reviving it takes the transaction below, whose
        // statements are conditional, so a race between replicas stays harmless.
        if let Some(control) = self.control_of(key).await?
            && control.removed_at.is_none()
        {
            return Ok((control, None));
        }
        let now = timestamp(at);
        let mut tx = self.begin_write().await?;
        let opened = open_in(
            &mut tx,
            self.queues(),
            Opening {
                key,
                control_type,
                workload,
                scanned_by,
                trigger,
            },
            &now,
            true,
        )
        .await?;
        let (control, transition) = match opened {
            Some((control, transition)) => (control, Some(transition)),
            None => (read_in(&mut tx, key).await?, None),
        };
        self.commit(tx, "a new control").await?;
        Ok((control, transition))
    }

    /// Creates the control of a workload that a sweep's page read showed had
    /// none, and records its first evaluation, in one transaction: the same two
    /// transitions (to `tbd`, then to the verdict) as [`Store::open_control_of`]
    /// and [`Store::record`] write, in one commit instead of two (the first sweep
    /// of a fleet creates every control). `None` when the control appeared
    /// meanwhile (another replica's sweep, which records it): nothing is written.
    pub async fn create_and_record_of(
        &self,
        key: &ControlKey,
        control_type: &str,
        rec: &Recording<'_>,
    ) -> anyhow::Result<Option<(TransitionRow, Written)>> {
        let now = timestamp(rec.at);
        let mut tx = self.begin_write().await?;
        let Some((control, opened)) = open_in(
            &mut tx,
            self.queues(),
            Opening {
                key,
                control_type,
                workload: rec.workload,
                scanned_by: rec.scanned_by,
                trigger: rec.trigger,
            },
            &now,
            false,
        )
        .await?
        else {
            return Ok(None);
        };
        let written = update_in(&mut tx, self.queues(), &control, rec).await?;
        self.commit(tx, "a new control and its evaluation").await?;
        Ok(Some((opened, written)))
    }

    /// Records an evaluation of the control last read as `previous`: a
    /// version-checked update when anything but the time changed, committed
    /// with other evaluations' changes ([`Store::record_together`]), else a
    /// batched `evaluated_at` bump ([`Store::note_evaluated`]).
    pub async fn record(
        &self,
        previous: &ControlRow,
        rec: &Recording<'_>,
    ) -> anyhow::Result<Written> {
        // Nothing to record but the time: no transaction, the bump joins a batch.
        // A claim in the row as read is released by a real write instead.
        if !changes(previous, rec)
            && !previous.is_removed()
            && rec.enforced.is_none()
            && previous.scanned_by == rec.scanned_by
            && previous.claimed_by.is_none()
        {
            self.note_evaluated(previous, rec.at).await?;
            return Ok(Written::Unchanged);
        }
        self.record_together(previous, rec).await
    }

    /// Marks the control removed (workload deleted or lens disassociated).
    pub async fn remove(
        &self,
        previous: &ControlRow,
        reason: &str,
        trigger: &Trigger,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Written> {
        // Removed already: checked here, not in the statement (see `update_in`).
        if previous.is_removed() {
            return Ok(Written::Conflict);
        }
        let now = timestamp(at);
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(REMOVE_CONTROL)
            .bind(reason)
            .bind(&now)
            .bind(&previous.workload_arn)
            .bind(previous.version)
            .bind(&previous.lens)
            .bind(&previous.question_id)
            .execute(&mut **tx)
            .await
            .context("mark a control removed")?
            .rows_affected();
        if updated == 0 {
            return Ok(Written::Conflict);
        }
        let transition = insert_transition(
            &mut tx,
            self.queues(),
            NewTransition {
                control: previous,
                from_state: Some(previous.state.as_str()),
                to_state: ControlState::Removed,
                reason,
                details: "{}",
                trigger,
                enforced: None,
                at: &now,
                mute: None,
            },
        )
        .await?;
        self.commit(tx, "a removal").await?;
        Ok(Written::Transition(Box::new(transition)))
    }
}

impl Store {
    /// Marks every active control of a workload removed (the workload was
    /// deleted), each with its transition; returns them. A control written
    /// meanwhile by someone else is left to them.
    pub async fn remove_workload(
        &self,
        workload_arn: &str,
        reason: &str,
        trigger: &Trigger,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Vec<TransitionRow>> {
        let mut removed = Vec::new();
        for control in self.controls_of_workload(workload_arn).await? {
            if control.is_removed() {
                continue;
            }
            if let Written::Transition(t) = self.remove(&control, reason, trigger, at).await? {
                removed.push(*t);
            }
        }
        Ok(removed)
    }
}

/// Whether `rec` changes anything of `previous` but the time.
fn changes(previous: &ControlRow, rec: &Recording<'_>) -> bool {
    previous.state != rec.state
        || previous.reason != rec.reason
        || !previous.details.is(rec.details)
        || previous.workload_name != rec.workload.name
        || rec
            .lens_status
            .is_some_and(|status| previous.lens_status.as_deref() != Some(status))
}

/// The control to open, and what opens it.
struct Opening<'a> {
    key: &'a ControlKey,
    /// The type a new row records (`rel04`, `rel05`, a custom question's name).
    control_type: &'a str,
    workload: &'a Workload,
    scanned_by: &'a str,
    trigger: &'a Trigger,
}

/// Inserts the control `key` of `workload` in `tbd` or, with `revive`, brings a removed one
/// back to `tbd`, and writes that transition; `None` when neither applied. The
/// statements are conditional, so a race between replicas stays harmless.
async fn open_in(
    tx: &mut Transaction<'static, Any>,
    queues: Queues,
    opening: Opening<'_>,
    now: &str,
    revive: bool,
) -> anyhow::Result<Option<(ControlRow, TransitionRow)>> {
    let Opening {
        key,
        control_type,
        workload,
        scanned_by,
        trigger,
    } = opening;
    let reason = NOT_EVALUATED;
    let inserted = sqlx::query(
        "INSERT INTO controls (workload_arn, workload_id, workload_name, account_id, region, \
         control_type, state, reason, details, scanned_by, version, created_at, updated_at, \
         lens, question_id) \
         VALUES ($1, $2, $3, $4, $5, $6, 'tbd', $7, '{}', $8, 0, $9, $9, $10, $11) \
         ON CONFLICT (workload_arn, lens, question_id) DO NOTHING",
    )
    .bind(&key.workload_arn)
    .bind(&workload.id)
    .bind(&workload.name)
    .bind(&workload.account_id)
    .bind(&workload.region)
    .bind(control_type)
    .bind(reason)
    .bind(scanned_by)
    .bind(now)
    .bind(&key.lens)
    .bind(&key.question_id)
    .execute(&mut **tx)
    .await
    .context("create a control")?
    .rows_affected();
    let from_state = if inserted == 1 {
        None
    } else if !revive {
        return Ok(None);
    } else {
        let revived = sqlx::query(
            "UPDATE controls SET state = 'tbd', reason = $2, details = '{}', removed_at = NULL, \
             evaluated_at = NULL, workload_name = $3, scanned_by = $4, updated_at = $5, \
             version = version + 1 \
             WHERE workload_arn = $1 AND lens = $6 AND question_id = $7 AND removed_at IS NOT NULL",
        )
        .bind(&key.workload_arn)
        .bind(reason)
        .bind(&workload.name)
        .bind(scanned_by)
        .bind(now)
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&mut **tx)
        .await
        .context("revive a removed control")?
        .rows_affected();
        if revived == 0 {
            return Ok(None);
        }
        Some(ControlState::Removed.as_str())
    };
    let control = read_in(tx, key).await?;
    let transition = insert_transition(
        tx,
        queues,
        NewTransition {
            control: &control,
            from_state,
            to_state: ControlState::Tbd,
            reason,
            details: "{}",
            trigger,
            enforced: None,
            at: now,
            mute: None,
        },
    )
    .await?;
    Ok(Some((control, transition)))
}

/// Writes `rec` over the control last read as `previous`, checking its version,
/// and the transition when the state changed or rel04d enforced. `Conflict` when
/// someone else wrote it since; the caller commits otherwise.
pub(super) async fn update_in(
    tx: &mut Transaction<'static, Any>,
    queues: Queues,
    previous: &ControlRow,
    rec: &Recording<'_>,
) -> anyhow::Result<Written> {
    let now = timestamp(rec.at);
    let details = rec.details.to_string();
    let updated_at = if changes(previous, rec) {
        &now
    } else {
        &previous.updated_at
    };
    // A control is removed and revived only with a new version, so the version
    // read says whether it is removed: checked here, not in the statement. A
    // `removed_at IS NULL` there would let PostgreSQL scan a whole partial sort
    // index (`controls_live_*`) for the row instead of the primary key, which
    // it does when the statement's generic plan was made on a small table:
    // ~0.5 ms and hundreds of pages per update at 10,000 controls, more with
    // more (BENCHMARKS.md, "Seventh pass").
    if previous.is_removed() {
        return Ok(Written::Conflict);
    }
    // Returns the control's mute, which its transition needs: no read of its own.
    let updated = sqlx::query(AssertSqlSafe(UPDATE_CONTROL.as_str()))
        .bind(rec.state.as_str())
        .bind(rec.reason)
        .bind(&details)
        .bind(&rec.workload.name)
        .bind(rec.scanned_by)
        .bind(&now)
        .bind(updated_at)
        .bind(&previous.workload_arn)
        .bind(previous.version)
        .bind(&previous.lens)
        .bind(&previous.question_id)
        .bind(rec.lens_status)
        .fetch_optional(&mut **tx)
        .await
        .context("update a control")?;
    let Some(updated) = updated else {
        return Ok(Written::Conflict);
    };
    if previous.state == rec.state && rec.enforced.is_none() {
        // No transition, but the finding says the reason and the name too.
        if queues.findings && changes(previous, rec) {
            super::findings::mark_due(tx, &previous.key(), &now).await?;
        }
        return Ok(Written::Unchanged);
    }
    let transition = insert_transition(
        tx,
        queues,
        NewTransition {
            control: previous,
            from_state: Some(previous.state.as_str()),
            to_state: rec.state,
            reason: rec.reason,
            details: &details,
            trigger: rec.trigger,
            enforced: rec.enforced,
            at: &now,
            mute: Some(MuteRead::from_row(&updated)?),
        },
    )
    .await?;
    Ok(Written::Transition(Box::new(transition)))
}

async fn read_in(
    tx: &mut Transaction<'static, Any>,
    key: &ControlKey,
) -> anyhow::Result<ControlRow> {
    let row = super::controls::select_control(key)
        .fetch_one(&mut **tx)
        .await
        .context("re-read a control")?;
    ControlRow::from_row(&row)
}
