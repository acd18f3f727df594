//! What `notify.settle` reads and writes: the facts of one undecided
//! notification, and its decision, recorded in one transaction together with the
//! control's settle memory (`controls.settled_state`, `controls.settled_through`).
//!
//! The memory makes a decision O(1): the transition, the time of the next one
//! and the state last announced. Rows of one control are decided in transition
//! order (a row waits while an earlier one of its control is undecided), and
//! the memory is written only if it is still what the decider read, so two
//! publishers deciding the same row record one decision, and a crash in the
//! middle records none.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

use super::key::ControlKey;
use super::outbox::{MAX_PUBLISH_ATTEMPTS, OutboxRow};
use super::{Store, timestamp};

/// One transition of a control, as the settle decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleStep {
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
}

/// A recent transition of the control, for telling flapping apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentStep {
    pub at: DateTime<Utc>,
    /// The transition's `details` JSON text.
    pub details: String,
}

/// What deciding one notification reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleFacts {
    pub workload_id: String,
    pub transition: SettleStep,
    /// When the control's next transition came, if one has.
    pub next_at: Option<DateTime<Utc>>,
    /// The state last announced before this transition (or held while the
    /// control was muted); `None` before the first.
    pub baseline: Option<String>,
    /// This transition and the ones before it, newest first, at most
    /// [`SettleRule::recent`] of them.
    pub recent: Vec<RecentStep>,
}

/// What the settle rule says about one notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send, as a change from this state (`None`: the control was new).
    Announce { from_state: Option<String> },
    /// Do not send: the state did not hold, or is the one already announced.
    Collapse,
    /// Not yet decidable: ask again once the row has waited this much longer.
    Wait(Duration),
}

/// The rule the store applies inside the deciding transaction (it lives in
/// `notify::settle`; the store only gathers its facts and records its answer).
pub trait SettleRule {
    /// Whether a state entered at `at` held until `next`, under `notify.settle`.
    fn held(&self, at: DateTime<Utc>, next: DateTime<Utc>) -> bool;
    /// How many transitions [`SettleFacts::recent`] should carry.
    fn recent(&self) -> usize;
    fn decide(&self, facts: &SettleFacts) -> Decision;
}

/// What became of one undecided notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Decided: send this payload (its `from_state` rewritten).
    Announced { payload: String },
    /// Decided: not sent; recorded as collapsed.
    Collapsed,
    /// The rule wants more time; nothing was written.
    Wait(Duration),
    /// An earlier notification of the same control is undecided, or another
    /// publisher changed the memory meanwhile; nothing was written.
    Deferred,
    /// Another publisher decided it already.
    AlreadyDecided,
}

/// How many earlier transitions one query reads while folding a control's
/// history into its memory (only a control's first decision after an upgrade,
/// or after a muted stretch, has any to fold).
const FOLD_PAGE: i64 = 500;

pub(super) fn parse_at(text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .with_context(|| format!("stored transition time {text:?} is not RFC 3339"))
}

type StepRow = (i64, Option<String>, String, String);

impl Store {
    /// Decides the undecided notification `row` by `rule`, and records the
    /// decision and the control's memory in one transaction.
    pub async fn settle_notification(
        &self,
        row: &OutboxRow,
        rule: &impl SettleRule,
    ) -> anyhow::Result<Settled> {
        let mut tx = self.begin_write().await?;
        let (workload_id, workload_arn, lens, question_id, from_state, to_state, at): (
            String,
            String,
            String,
            String,
            Option<String>,
            String,
            String,
        ) = sqlx::query_as(
            "SELECT workload_id, workload_arn, lens, question_id, from_state, to_state, \
             occurred_at FROM transitions WHERE id = $1",
        )
        .bind(row.transition_id)
        .fetch_one(&mut **tx)
        .await
        .context("read a transition to settle")?;
        let key = ControlKey {
            workload_arn,
            lens,
            question_id,
        };
        let (memory, through): (Option<String>, Option<i64>) = sqlx::query_as(
            "SELECT settled_state, settled_through FROM controls \
             WHERE workload_arn = $1 AND lens = $2 AND question_id = $3",
        )
        .bind(&key.workload_arn)
        .bind(&key.lens)
        .bind(&key.question_id)
        .fetch_one(&mut **tx)
        .await
        .context("read a control's settle memory")?;
        let through = through.unwrap_or(0);
        if through >= row.transition_id {
            // The memory is past this row: its decision was made (a row left
            // undecided behind it cannot happen, but would be settled as not sent).
            mark_collapsed(&mut tx, row.id, Utc::now()).await?;
            self.commit(tx, "a notification decided elsewhere").await?;
            return Ok(Settled::AlreadyDecided);
        }
        let (undecided,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM outbox o JOIN transitions t ON t.id = o.transition_id \
             WHERE t.workload_arn = $1 AND t.lens = $5 AND t.question_id = $6 \
             AND o.transition_id > $2 AND o.transition_id < $3 \
             AND o.settled_at IS NULL AND o.published_at IS NULL AND o.attempts < $4",
        )
        .bind(&key.workload_arn)
        .bind(through)
        .bind(row.transition_id)
        .bind(MAX_PUBLISH_ATTEMPTS)
        .bind(&key.lens)
        .bind(&key.question_id)
        .fetch_one(&mut **tx)
        .await
        .context("look for earlier undecided notifications")?;
        if undecided > 0 {
            return Ok(Settled::Deferred);
        }
        let transition = SettleStep {
            from_state,
            to_state,
            at: parse_at(&at)?,
        };
        let baseline = fold(
            &mut tx,
            &key,
            (memory, through),
            (row.transition_id, &transition),
            rule,
        )
        .await?;
        let next: Option<(String,)> = sqlx::query_as(
            "SELECT occurred_at FROM transitions WHERE workload_arn = $1 AND lens = $3 \
             AND question_id = $4 AND id > $2 ORDER BY id LIMIT 1",
        )
        .bind(&key.workload_arn)
        .bind(row.transition_id)
        .bind(&key.lens)
        .bind(&key.question_id)
        .fetch_optional(&mut **tx)
        .await
        .context("read the transition after one to settle")?;
        let recent: Vec<(String, String)> = sqlx::query_as(
            "SELECT occurred_at, details FROM transitions WHERE workload_arn = $1 AND lens = $4 \
             AND question_id = $5 AND id <= $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(&key.workload_arn)
        .bind(row.transition_id)
        .bind(i64::try_from(rule.recent()).unwrap_or(i64::MAX))
        .bind(&key.lens)
        .bind(&key.question_id)
        .fetch_all(&mut **tx)
        .await
        .context("read a control's recent transitions")?;
        let facts = SettleFacts {
            workload_id,
            transition,
            next_at: next.map(|(at,)| parse_at(&at)).transpose()?,
            baseline,
            recent: recent
                .into_iter()
                .map(|(at, details)| {
                    Ok(RecentStep {
                        at: parse_at(&at)?,
                        details,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let decision = rule.decide(&facts);
        let (remembered, settled) = match decision {
            Decision::Wait(wait) => return Ok(Settled::Wait(wait)),
            Decision::Collapse => (facts.baseline.clone(), Settled::Collapsed),
            Decision::Announce { from_state } => {
                let mut payload: serde_json::Value = serde_json::from_str(&row.payload)
                    .context("a queued notification is not JSON")?;
                payload["from_state"] = from_state.into();
                (
                    Some(facts.transition.to_state.clone()),
                    Settled::Announced {
                        payload: payload.to_string(),
                    },
                )
            }
        };
        let remembered_now = sqlx::query(
            "UPDATE controls SET settled_state = $1, settled_through = $2 \
             WHERE workload_arn = $3 AND lens = $5 AND question_id = $6 \
             AND COALESCE(settled_through, 0) = $4",
        )
        .bind(remembered)
        .bind(row.transition_id)
        .bind(&key.workload_arn)
        .bind(through)
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&mut **tx)
        .await
        .context("record a control's settle memory")?;
        if remembered_now.rows_affected() == 0 {
            // Another publisher moved the memory since it was read: ask again.
            return Ok(Settled::Deferred);
        }
        let now = Utc::now();
        match &settled {
            Settled::Announced { payload } => mark_settled(&mut tx, row.id, payload, now).await?,
            _ => mark_collapsed(&mut tx, row.id, now).await?,
        }
        self.commit(tx, "a settle decision").await?;
        Ok(settled)
    }

    /// Undecided notifications after outbox id `after`, oldest first (at most
    /// `limit`): their outbox id, when their transition was stamped, and whether
    /// their control has changed state again since (then decidable at once).
    pub async fn undecided_notifications(
        &self,
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Undecided>> {
        let rows = sqlx::query(
            "SELECT o.id, o.created_at, (SELECT MIN(n.id) FROM transitions n \
               WHERE n.workload_arn = t.workload_arn AND n.lens = t.lens \
               AND n.question_id = t.question_id AND n.id > t.id) AS next_id \
             FROM outbox o JOIN transitions t ON t.id = o.transition_id \
             WHERE o.settled_at IS NULL AND o.published_at IS NULL AND o.attempts < $1 \
             AND o.id > $3 ORDER BY o.id LIMIT $2",
        )
        .bind(MAX_PUBLISH_ATTEMPTS)
        .bind(limit)
        .bind(after)
        .fetch_all(&self.pool)
        .await
        .context("list undecided notifications")?;
        rows.iter()
            .map(|row| {
                Ok(Undecided {
                    id: row.try_get("id")?,
                    created_at: parse_at(&row.try_get::<String, _>("created_at")?)?,
                    has_next: row.try_get::<Option<i64>, _>("next_id")?.is_some(),
                })
            })
            .collect()
    }
}

/// An outbox row `notify.settle` has not decided yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecided {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub has_next: bool,
}

/// The state last announced before `transition`: the memory, brought forward over
/// the control's transitions after `through` that were not decided as
/// notifications (muted ones, or all of them before the memory existed): the
/// latest of them that held. Each transition is folded at most once, since the
/// decision then moves the memory past it.
async fn fold(
    tx: &mut Transaction<'static, Any>,
    key: &ControlKey,
    (mut baseline, through): (Option<String>, i64),
    (transition_id, transition): (i64, &SettleStep),
    rule: &impl SettleRule,
) -> anyhow::Result<Option<String>> {
    let mut after = through;
    let mut previous: Option<SettleStep> = None;
    loop {
        let page: Vec<StepRow> = sqlx::query_as(
            "SELECT id, from_state, to_state, occurred_at FROM transitions \
             WHERE workload_arn = $1 AND lens = $5 AND question_id = $6 AND id > $2 AND id < $3 \
             ORDER BY id LIMIT $4",
        )
        .bind(&key.workload_arn)
        .bind(after)
        .bind(transition_id)
        .bind(FOLD_PAGE)
        .bind(&key.lens)
        .bind(&key.question_id)
        .fetch_all(&mut **tx)
        .await
        .context("read transitions to fold into the settle memory")?;
        let full = page.len() as i64 == FOLD_PAGE;
        for (id, from_state, to_state, at) in page {
            let step = SettleStep {
                from_state,
                to_state,
                at: parse_at(&at)?,
            };
            if let Some(previous) = previous.take()
                && rule.held(previous.at, step.at)
            {
                baseline = Some(previous.to_state);
            }
            previous = Some(step);
            after = id;
        }
        if !full {
            break;
        }
    }
    if let Some(previous) = previous
        && rule.held(previous.at, transition.at)
    {
        baseline = Some(previous.to_state);
    }
    Ok(baseline)
}

/// Decided: announce with `payload` (its from_state rewritten). The row is
/// then an ordinary one, sent (and retried) as it now is.
async fn mark_settled(
    tx: &mut Transaction<'static, Any>,
    outbox_id: i64,
    payload: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE outbox SET payload = $1, settled_at = $2 \
         WHERE id = $3 AND settled_at IS NULL AND published_at IS NULL",
    )
    .bind(payload)
    .bind(timestamp(at))
    .bind(outbox_id)
    .execute(&mut **tx)
    .await
    .context("record a settled notification")?;
    Ok(())
}

/// Decided: not to be sent. Counted as done (published) so that the backlog
/// drains; `collapsed` tells it apart from a sent one.
async fn mark_collapsed(
    tx: &mut Transaction<'static, Any>,
    outbox_id: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let at = timestamp(at);
    sqlx::query(
        "UPDATE outbox SET settled_at = $1, published_at = $1, collapsed = 1, \
         claimed_until = NULL WHERE id = $2 AND settled_at IS NULL AND published_at IS NULL",
    )
    .bind(&at)
    .bind(outbox_id)
    .execute(&mut **tx)
    .await
    .context("record a collapsed notification")?;
    Ok(())
}
