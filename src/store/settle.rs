//! What `notify.settle` reads and writes: a transition's history, and the one-time
//! decision on its outbox row.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::{Store, timestamp};

/// One transition of a control, as the settle decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleStep {
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: DateTime<Utc>,
}

/// A transition with its control's transitions before it (newest first, at
/// most [`EARLIER_STEPS`]) and the time of the next one, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleHistory {
    pub transition: SettleStep,
    pub next_at: Option<DateTime<Utc>>,
    pub earlier: Vec<SettleStep>,
}

/// How far back a decision looks for the state last announced: a control
/// that flipped more often than this within settle windows is announced from
/// the oldest state read.
pub const EARLIER_STEPS: i64 = 200;

pub(super) fn parse_at(text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .with_context(|| format!("stored transition time {text:?} is not RFC 3339"))
}

type StepRow = (Option<String>, String, String);

fn step((from_state, to_state, at): StepRow) -> anyhow::Result<SettleStep> {
    Ok(SettleStep {
        from_state,
        to_state,
        at: parse_at(&at)?,
    })
}

impl Store {
    /// The history the settle decision of `transition_id` reads.
    pub async fn settle_history(&self, transition_id: i64) -> anyhow::Result<SettleHistory> {
        let (workload_arn, from_state, to_state, at): (String, Option<String>, String, String) =
            sqlx::query_as(
                "SELECT workload_arn, from_state, to_state, occurred_at FROM transitions WHERE id = $1",
            )
            .bind(transition_id)
            .fetch_one(&self.pool)
            .await
            .context("read a transition to settle")?;
        let next: Option<(String,)> = sqlx::query_as(
            "SELECT occurred_at FROM transitions WHERE workload_arn = $1 AND id > $2 \
             ORDER BY id LIMIT 1",
        )
        .bind(&workload_arn)
        .bind(transition_id)
        .fetch_optional(&self.pool)
        .await
        .context("read the transition after one to settle")?;
        let earlier: Vec<StepRow> = sqlx::query_as(
            "SELECT from_state, to_state, occurred_at FROM transitions \
             WHERE workload_arn = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(&workload_arn)
        .bind(transition_id)
        .bind(EARLIER_STEPS)
        .fetch_all(&self.pool)
        .await
        .context("read the transitions before one to settle")?;
        Ok(SettleHistory {
            transition: step((from_state, to_state, at))?,
            next_at: next.map(|(at,)| parse_at(&at)).transpose()?,
            earlier: earlier
                .into_iter()
                .map(step)
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// Decided: announce with `payload` (its from_state rewritten). The row is
    /// then an ordinary one, sent (and retried) as it now is.
    pub async fn mark_settled(
        &self,
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
        .execute(&self.pool)
        .await
        .context("record a settled notification")?;
        Ok(())
    }

    /// Decided: not to be sent. Counted as done (published) so that the backlog
    /// drains; `collapsed` tells it apart from a sent one.
    pub async fn mark_collapsed(&self, outbox_id: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
        let at = timestamp(at);
        sqlx::query(
            "UPDATE outbox SET settled_at = $1, published_at = $1, collapsed = 1, \
             claimed_until = NULL WHERE id = $2 AND published_at IS NULL",
        )
        .bind(&at)
        .bind(outbox_id)
        .execute(&self.pool)
        .await
        .context("record a collapsed notification")?;
        Ok(())
    }
}
