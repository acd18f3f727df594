//! The one place a transition row is written, and what it queues with it.

use anyhow::Context;
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::Store;
use super::mutes::MuteRead;
use super::rows::{ControlRow, TRANSITION_COLUMNS, TransitionRow};
use crate::control::ControlState;
use crate::workload::Trigger;

/// The fields of a new transition row.
pub(super) struct NewTransition<'a> {
    pub control: &'a ControlRow,
    pub from_state: Option<&'a str>,
    pub to_state: ControlState,
    pub reason: &'a str,
    pub details: &'a str,
    pub trigger: &'a Trigger,
    pub enforced: Option<&'a [String]>,
    pub at: &'a str,
    /// The control's mute, if the transaction already read it.
    pub mute: Option<MuteRead>,
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
pub(super) async fn insert_transition(
    tx: &mut Transaction<'static, Any>,
    queues: Queues,
    new: NewTransition<'_>,
) -> anyhow::Result<TransitionRow> {
    let enforced = new
        .enforced
        .map(|changes| serde_json::json!(changes).to_string());
    let muted = super::mutes::apply_mute(tx, new.control, new.to_state, new.at, new.mute).await?;
    let sql = format!(
        "INSERT INTO transitions (workload_id, workload_arn, account_id, region, control_type, \
         from_state, to_state, reason, details, \"trigger\", event_id, action, changes, occurred_at, \
         muted, lens, question_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
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
        .bind(&new.control.lens)
        .bind(&new.control.question_id)
        .fetch_one(&mut **tx)
        .await
        .context("insert a transition")?;
    let transition = TransitionRow::from_row(&row)?;
    if queues.outbox && !muted {
        super::outbox::enqueue(tx, &transition).await?;
    }
    // A finding is the control's state, not an announcement: muting leaves it be.
    if queues.findings {
        super::findings::mark_due(tx, &transition.key(), new.at).await?;
    }
    Ok(transition)
}
