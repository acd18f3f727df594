//! The transactional outbox of `Control State Changed` notifications.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::rows::TransitionRow;
use super::{Store, timestamp};

/// The `Detail` of a `Control State Changed` event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification<'a> {
    pub transition_id: i64,
    pub control_type: &'a str,
    pub workload_id: &'a str,
    pub workload_arn: &'a str,
    pub lens: &'a str,
    pub question_id: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    pub from_state: Option<&'a str>,
    pub to_state: &'a str,
    pub reason: &'a str,
    pub details: &'a serde_json::Value,
    pub trigger: &'a str,
    pub event_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub occurred_at: &'a str,
}

impl<'a> From<&'a TransitionRow> for Notification<'a> {
    fn from(t: &'a TransitionRow) -> Self {
        Notification {
            transition_id: t.id,
            control_type: &t.control_type,
            workload_id: &t.workload_id,
            workload_arn: &t.workload_arn,
            lens: &t.lens,
            question_id: &t.question_id,
            account_id: &t.account_id,
            region: &t.region,
            from_state: t.from_state.as_deref(),
            to_state: &t.to_state,
            reason: &t.reason,
            details: &t.details,
            trigger: &t.trigger,
            event_id: t.event_id.as_deref(),
            action: t.action.as_deref(),
            occurred_at: &t.occurred_at,
        }
    }
}

/// The tables the notify publisher sends from, which share their sending
/// columns (`attempts`, `last_error`, claims, `published_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventQueue {
    /// `Control State Changed` notifications.
    Outbox,
    /// `Exception Expiring` warnings.
    ExceptionWarnings,
}

impl EventQueue {
    /// A fixed name, never input: safe to format into SQL.
    fn table(self) -> &'static str {
        match self {
            EventQueue::Outbox => "outbox",
            EventQueue::ExceptionWarnings => "exception_warnings",
        }
    }
}

/// Attempts after which a notification EventBridge keeps refusing is set aside
/// (it stays in the outbox with its `last_error`, counted in the backlog).
pub const MAX_PUBLISH_ATTEMPTS: i64 = 50;

/// A notification waiting to be published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub transition_id: i64,
    pub workload_arn: String,
    /// The `Detail` JSON, fixed when the transition was written.
    pub payload: String,
    pub attempts: i64,
    /// Decided by `notify.settle` (or never waiting for it): send as it is.
    pub settled: bool,
}

/// Queues the notification of `transition` in the caller's transaction.
pub(super) async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    transition: &TransitionRow,
) -> anyhow::Result<()> {
    let payload = serde_json::to_string(&Notification::from(transition))
        .context("serialize a notification")?;
    sqlx::query("INSERT INTO outbox (transition_id, payload, created_at) VALUES ($1, $2, $3)")
        .bind(transition.id)
        .bind(payload)
        .bind(&transition.occurred_at)
        .execute(&mut **tx)
        .await
        .context("queue a notification")?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` unpublished notifications, oldest first, for `owner`
    /// until `until`. Claims of a publisher that died expire, so its rows are
    /// taken over; a live publisher's claims are left alone.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        limit: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<OutboxRow>> {
        // Timestamps compare as text; "9999" sorts after every one of them.
        self.claim(owner, limit, now, until, "9999", &[]).await
    }

    /// Claims, for `owner` until `until`, up to `limit` notifications decided
    /// already (by `notify.settle`, or waiting for a retry) and the undecided ones
    /// among `due` (the publisher's choice; see `notify::windows`). Undecided rows
    /// not in `due` are left where they are.
    pub async fn claim_outbox_due(
        &self,
        owner: &str,
        limit: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        due: &[i64],
    ) -> anyhow::Result<Vec<OutboxRow>> {
        // "" sorts before every timestamp: no undecided row passes the cut-off.
        self.claim(owner, limit, now, until, "", due).await
    }

    async fn claim(
        &self,
        owner: &str,
        limit: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        cutoff: &str,
        due: &[i64],
    ) -> anyhow::Result<Vec<OutboxRow>> {
        let now = timestamp(now);
        let until = timestamp(until);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            // The claimable condition stands in the outer WHERE too: under Postgres'
            // READ COMMITTED, an UPDATE that waited on another's row locks re-checks
            // only the outer condition, and must not take rows just claimed.
            "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id IN \
             (SELECT id FROM outbox WHERE published_at IS NULL AND attempts < $5 \
              AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1) \
              AND (settled_at IS NOT NULL OR created_at <= $6) ORDER BY id LIMIT $4) \
             AND published_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1)",
        )
        .bind(owner)
        .bind(&until)
        .bind(&now)
        .bind(limit)
        .bind(MAX_PUBLISH_ATTEMPTS)
        .bind(cutoff)
        .execute(&mut **tx)
        .await
        .context("claim notifications")?;
        for id in due {
            sqlx::query(
                "UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id = $4 \
                 AND published_at IS NULL AND settled_at IS NULL \
                 AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1)",
            )
            .bind(owner)
            .bind(&until)
            .bind(&now)
            .bind(id)
            .execute(&mut **tx)
            .await
            .context("claim a notification due for its settle decision")?;
        }
        let limit = limit + i64::try_from(due.len()).unwrap_or(i64::MAX - limit);
        let rows = sqlx::query(
            "SELECT o.id, o.transition_id, o.payload, o.attempts, o.settled_at, t.workload_arn FROM outbox o \
             JOIN transitions t ON t.id = o.transition_id \
             WHERE o.claimed_by = $1 AND o.published_at IS NULL ORDER BY o.id LIMIT $2",
        )
        .bind(owner)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
        .context("read claimed notifications")?;
        self.commit(tx, "notification claims").await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxRow {
                    id: row.try_get("id")?,
                    transition_id: row.try_get("transition_id")?,
                    workload_arn: row.try_get("workload_arn")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                    settled: row.try_get::<Option<String>, _>("settled_at")?.is_some(),
                })
            })
            .collect()
    }

    pub async fn mark_published(&self, ids: &[i64], at: DateTime<Utc>) -> anyhow::Result<()> {
        self.mark_sent(EventQueue::Outbox, ids, at).await
    }

    /// Records a failed attempt; the row is claimable again from `retry_at`.
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.mark_send_failed(EventQueue::Outbox, id, error, retry_at)
            .await
    }

    /// Marks `queue`'s rows `ids` accepted by EventBridge.
    pub async fn mark_sent(
        &self,
        queue: EventQueue,
        ids: &[i64],
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let at = timestamp(at);
        let sql = format!(
            "UPDATE {} SET published_at = $1, claimed_until = NULL WHERE id = $2",
            queue.table()
        );
        for id in ids {
            sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(&at)
                .bind(id)
                .execute(&self.writer)
                .await
                .with_context(|| format!("mark a row of {} published", queue.table()))?;
        }
        Ok(())
    }

    /// Records a failed attempt to send `queue`'s row `id`; it is claimable
    /// again from `retry_at`.
    pub async fn mark_send_failed(
        &self,
        queue: EventQueue,
        id: i64,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let sql = format!(
            "UPDATE {} SET attempts = attempts + 1, last_error = $1, claimed_by = NULL, \
             claimed_until = $2 WHERE id = $3",
            queue.table()
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(error)
            .bind(timestamp(retry_at))
            .bind(id)
            .execute(&self.writer)
            .await
            .with_context(|| format!("record a failed send of a row of {}", queue.table()))?;
        Ok(())
    }

    /// Gives back `owner`'s claim of a row it left undecided, so that another
    /// publisher may decide it without waiting for the claim to expire.
    pub async fn release_claim(&self, owner: &str, id: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL \
             WHERE id = $1 AND claimed_by = $2 AND published_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .execute(&self.writer)
        .await
        .context("release a notification claim")?;
        Ok(())
    }

    /// Notifications not yet accepted by EventBridge: transitions' and
    /// exception expiry warnings'.
    pub async fn outbox_backlog(&self) -> anyhow::Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE published_at IS NULL) \
             + (SELECT COUNT(*) FROM exception_warnings WHERE published_at IS NULL)",
        )
        .fetch_one(&self.pool)
        .await
        .context("count the outbox backlog")?;
        Ok(n)
    }
}
