//! Reads and the transactional writes of controls and their transitions.
//!
//! Every write is one transaction that checks and bumps the control's `version`
//! (optimistic concurrency): when two evaluations of one workload race, in one
//! process or across replicas, exactly one commits and the other learns it lost
//! ([`Written::Conflict`]), so no change is ever recorded twice.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::rows::{CONTROL_COLUMNS, ControlRow, TRANSITION_COLUMNS, TransitionRow};
use super::{Store, timestamp};
use crate::control::{CONTROL_TYPE, ControlState};
use crate::workload::{Trigger, Workload};

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
    pub at: DateTime<Utc>,
}

/// How many active controls are in a state, muted or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateCount {
    pub state: String,
    pub muted: bool,
    pub count: i64,
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

/// The fields of a new transition row.
struct NewTransition<'a> {
    control: &'a ControlRow,
    from_state: Option<&'a str>,
    to_state: ControlState,
    reason: &'a str,
    details: &'a str,
    trigger: &'a Trigger,
    enforced: Option<&'a [String]>,
    at: &'a str,
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

    async fn one_control(
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

    /// Makes sure `workload` has an active control: creates it in `tbd`, or brings a
    /// removed one back to `tbd`, recording that transition. Returns the current row
    /// and the transition if one was written.
    pub async fn open_control(
        &self,
        workload: &Workload,
        scanned_by: &str,
        trigger: &Trigger,
        at: DateTime<Utc>,
    ) -> anyhow::Result<(ControlRow, Option<TransitionRow>)> {
        // Nearly always the control exists and is active: a read, no write
        // transaction. Creating or reviving it takes the transaction below, whose
        // statements are conditional, so a race between replicas stays harmless.
        if let Some(control) = self.one_control("workload_arn = $1", &workload.arn).await?
            && control.removed_at.is_none()
        {
            return Ok((control, None));
        }
        let now = timestamp(at);
        let mut tx = self.begin_write().await?;
        let opened = open_in(
            &mut tx,
            self.queues(),
            workload,
            scanned_by,
            trigger,
            &now,
            true,
        )
        .await?;
        let (control, transition) = match opened {
            Some((control, transition)) => (control, Some(transition)),
            None => (read_in(&mut tx, &workload.arn).await?, None),
        };
        self.commit(tx, "a new control").await?;
        Ok((control, transition))
    }

    /// Creates the control of a workload that a sweep's page read showed had
    /// none, and records its first evaluation, in one transaction: the same two
    /// transitions (to `tbd`, then to the verdict) as [`Store::open_control`]
    /// and [`Store::record`] write, in one commit instead of two (the first sweep
    /// of a fleet creates every control). `None` when the control appeared
    /// meanwhile (another replica's sweep, which records it): nothing is written.
    pub async fn create_and_record(
        &self,
        rec: &Recording<'_>,
    ) -> anyhow::Result<Option<(TransitionRow, Written)>> {
        let now = timestamp(rec.at);
        let mut tx = self.begin_write().await?;
        let Some((control, opened)) = open_in(
            &mut tx,
            self.queues(),
            rec.workload,
            rec.scanned_by,
            rec.trigger,
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

    /// Records an evaluation of the control last read as `previous`: one
    /// version-checked transaction when anything but the time changed, else a
    /// batched `evaluated_at` bump ([`Store::note_evaluated`]).
    pub async fn record(
        &self,
        previous: &ControlRow,
        rec: &Recording<'_>,
    ) -> anyhow::Result<Written> {
        // Nothing to record but the time: no transaction, the bump joins a batch.
        // A claim in the row as read is released by a real write instead.
        if !changes(previous, rec)
            && rec.enforced.is_none()
            && previous.scanned_by == rec.scanned_by
            && previous.claimed_by.is_none()
        {
            self.note_evaluated(previous, rec.at).await?;
            return Ok(Written::Unchanged);
        }
        let mut tx = self.begin_write().await?;
        let written = update_in(&mut tx, self.queues(), previous, rec).await?;
        match written {
            Written::Conflict => {}
            Written::Unchanged => self.commit(tx, "an evaluation").await?,
            Written::Transition(_) => self.commit(tx, "a transition").await?,
        }
        Ok(written)
    }

    /// Marks the control removed (workload deleted or lens disassociated).
    pub async fn remove(
        &self,
        previous: &ControlRow,
        reason: &str,
        trigger: &Trigger,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Written> {
        let now = timestamp(at);
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE controls SET state = 'removed', reason = $1, removed_at = $2, updated_at = $2, \
             version = version + 1, lease_owner = NULL, lease_until = NULL \
             WHERE workload_arn = $3 AND version = $4 AND removed_at IS NULL",
        )
        .bind(reason)
        .bind(&now)
        .bind(&previous.workload_arn)
        .bind(previous.version)
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
            },
        )
        .await?;
        self.commit(tx, "a removal").await?;
        Ok(Written::Transition(Box::new(transition)))
    }
}

/// Whether `rec` changes anything of `previous` but the time.
fn changes(previous: &ControlRow, rec: &Recording<'_>) -> bool {
    previous.state != rec.state
        || previous.reason != rec.reason
        || !previous.details.is(rec.details)
        || previous.workload_name != rec.workload.name
}

/// Inserts `workload`'s control in `tbd` or, with `revive`, brings a removed one
/// back to `tbd`, and writes that transition; `None` when neither applied. The
/// statements are conditional, so a race between replicas stays harmless.
async fn open_in(
    tx: &mut Transaction<'static, Any>,
    queues: Queues,
    workload: &Workload,
    scanned_by: &str,
    trigger: &Trigger,
    now: &str,
    revive: bool,
) -> anyhow::Result<Option<(ControlRow, TransitionRow)>> {
    let reason = NOT_EVALUATED;
    let inserted = sqlx::query(
        "INSERT INTO controls (workload_arn, workload_id, workload_name, account_id, region, \
         control_type, state, reason, details, scanned_by, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'tbd', $7, '{}', $8, 0, $9, $9) \
         ON CONFLICT (workload_arn) DO NOTHING",
    )
    .bind(&workload.arn)
    .bind(&workload.id)
    .bind(&workload.name)
    .bind(&workload.account_id)
    .bind(&workload.region)
    .bind(CONTROL_TYPE)
    .bind(reason)
    .bind(scanned_by)
    .bind(now)
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
             version = version + 1 WHERE workload_arn = $1 AND removed_at IS NOT NULL",
        )
        .bind(&workload.arn)
        .bind(reason)
        .bind(&workload.name)
        .bind(scanned_by)
        .bind(now)
        .execute(&mut **tx)
        .await
        .context("revive a removed control")?
        .rows_affected();
        if revived == 0 {
            return Ok(None);
        }
        Some(ControlState::Removed.as_str())
    };
    let control = read_in(tx, &workload.arn).await?;
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
        },
    )
    .await?;
    Ok(Some((control, transition)))
}

/// Writes `rec` over the control last read as `previous`, checking its version,
/// and the transition when the state changed or rel04d enforced. `Conflict` when
/// someone else wrote it since; the caller commits otherwise.
async fn update_in(
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
    let updated = sqlx::query(
        "UPDATE controls SET state = $1, reason = $2, details = $3, workload_name = $4, \
         scanned_by = $5, evaluated_at = $6, updated_at = $7, version = version + 1, \
         lease_owner = NULL, lease_until = NULL \
         WHERE workload_arn = $8 AND version = $9 AND removed_at IS NULL",
    )
    .bind(rec.state.as_str())
    .bind(rec.reason)
    .bind(&details)
    .bind(&rec.workload.name)
    .bind(rec.scanned_by)
    .bind(&now)
    .bind(updated_at)
    .bind(&previous.workload_arn)
    .bind(previous.version)
    .execute(&mut **tx)
    .await
    .context("update a control")?
    .rows_affected();
    if updated == 0 {
        return Ok(Written::Conflict);
    }
    if previous.state == rec.state && rec.enforced.is_none() {
        // No transition, but the finding says the reason and the name too.
        if queues.findings && changes(previous, rec) {
            super::findings::mark_due(tx, &previous.workload_arn, &now).await?;
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
        },
    )
    .await?;
    Ok(Written::Transition(Box::new(transition)))
}

async fn read_in(
    tx: &mut Transaction<'static, Any>,
    workload_arn: &str,
) -> anyhow::Result<ControlRow> {
    let sql = format!("SELECT {CONTROL_COLUMNS} FROM controls WHERE workload_arn = $1");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(workload_arn)
        .fetch_one(&mut **tx)
        .await
        .context("re-read a control")?;
    ControlRow::from_row(&row)
}

/// What a transition queues besides its own row, in its transaction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Queues {
    /// A notification (unless the control is muted).
    pub outbox: bool,
    /// The control's Security Hub finding.
    pub findings: bool,
}

impl Store {
    pub(super) fn queues(&self) -> Queues {
        Queues {
            outbox: self.outbox,
            findings: self.findings,
        }
    }
}

/// The one place a transition row is written, with its outbox row when
/// notifications are on and the control is not muted, and its finding queued when
/// Security Hub is on (same transaction: all or none).
async fn insert_transition(
    tx: &mut Transaction<'static, Any>,
    queues: Queues,
    new: NewTransition<'_>,
) -> anyhow::Result<TransitionRow> {
    let enforced = new
        .enforced
        .map(|changes| serde_json::json!(changes).to_string());
    let muted = super::mutes::muted_for(tx, new.control, new.to_state, new.at).await?;
    let sql = format!(
        "INSERT INTO transitions (workload_id, workload_arn, account_id, region, control_type, \
         from_state, to_state, reason, details, \"trigger\", event_id, action, changes, occurred_at, \
         muted) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         RETURNING {TRANSITION_COLUMNS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&new.control.workload_id)
        .bind(&new.control.workload_arn)
        .bind(&new.control.account_id)
        .bind(&new.control.region)
        .bind(&new.control.control_type)
        .bind(new.from_state)
        .bind(new.to_state.as_str())
        .bind(new.reason)
        .bind(new.details)
        .bind(new.trigger.as_str())
        .bind(new.trigger.event_id())
        .bind(enforced.as_ref().map(|_| "enforced"))
        .bind(enforced.as_deref())
        .bind(new.at)
        .bind(i64::from(muted))
        .fetch_one(&mut **tx)
        .await
        .context("insert a transition")?;
    let transition = TransitionRow::from_row(&row)?;
    if queues.outbox && !muted {
        super::outbox::enqueue(tx, &transition).await?;
    }
    // A finding is the control's state, not an announcement: muting leaves it be.
    if queues.findings {
        super::findings::mark_due(tx, &transition.workload_arn, new.at).await?;
    }
    Ok(transition)
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
