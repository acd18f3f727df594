//! Durable event intake: handled event ids (dedupe) and the HTTP inbox.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::{Store, timestamp};

/// What became of one attempt at a pushed event, recorded with the rest of
/// its batch by [`Store::inbox_finish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxAttempt {
    pub id: i64,
    /// The EventBridge id to remember as handled (an evaluated event).
    pub processed: Option<(String, &'static str)>,
    pub end: AttemptEnd,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptEnd {
    /// Handled, or given up on with the error kept.
    Done(Option<String>),
    /// Tried again at this time, keeping the error; `counted` counts it as a
    /// failed attempt (a deferral is not one).
    Retry {
        error: String,
        at: DateTime<Utc>,
        counted: bool,
    },
}

/// An event pushed to `POST /events`, waiting to be handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxRow {
    pub id: i64,
    pub body: String,
    pub attempts: i64,
}

/// `count` numbered placeholders from `$first`: `$2, $3, $4`.
fn numbered(first: usize, count: usize) -> String {
    let numbers: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    numbers.join(", ")
}

/// One `INSERT` remembering `handled` event ids (and outcomes) at `now`.
fn remember_query<'q>(
    handled: &[&'q (String, &'static str)],
    now: &'q String,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let values: Vec<String> = (0..handled.len())
        .map(|n| format!("(${}, $1, ${})", 2 * n + 2, 2 * n + 3))
        .collect();
    let sql = format!(
        "INSERT INTO processed_events (event_id, received_at, outcome) VALUES {} \
         ON CONFLICT (event_id) DO NOTHING",
        values.join(", ")
    );
    handled.iter().fold(
        sqlx::query(AssertSqlSafe(sql)).bind(now),
        |query, (event_id, outcome)| query.bind(event_id.as_str()).bind(*outcome),
    )
}

impl Store {
    /// Whether an EventBridge event id was already handled.
    pub async fn event_processed(&self, event_id: &str) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT 1 FROM processed_events WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await
            .context("look up a handled event")?;
        Ok(row.is_some())
    }

    /// Which of `event_ids` were already handled, in one query.
    pub async fn events_processed(&self, event_ids: &[&str]) -> anyhow::Result<HashSet<String>> {
        if event_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT event_id FROM processed_events WHERE event_id IN ({})",
            numbered(1, event_ids.len())
        );
        let rows = event_ids
            .iter()
            .fold(sqlx::query(AssertSqlSafe(sql)), |query, id| query.bind(*id))
            .fetch_all(&self.pool)
            .await
            .context("look up handled events")?;
        rows.iter()
            .map(|row| Ok(row.try_get("event_id")?))
            .collect()
    }

    /// Remembers a handled event id (idempotent).
    pub async fn mark_event_processed(
        &self,
        event_id: &str,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO processed_events (event_id, received_at, outcome) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(timestamp(at))
        .bind(outcome)
        .execute(&self.writer)
        .await
        .context("remember a handled event")?;
        Ok(())
    }

    /// Remembers a batch of handled event ids (idempotent), in one statement.
    pub async fn mark_events_processed(
        &self,
        handled: &[(String, &'static str)],
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if handled.is_empty() {
            return Ok(());
        }
        let handled: Vec<&(String, &'static str)> = handled.iter().collect();
        remember_query(&handled, &timestamp(at))
            .execute(&self.writer)
            .await
            .context("remember handled events")?;
        Ok(())
    }

    /// Forgets what is only kept for a while: handled event ids (dedupe must
    /// outlive redelivery, at most the queue's 14-day retention), handled pushed
    /// events, and published notifications — all older than `keep`. Transitions and
    /// mutes are history and are never pruned.
    pub async fn prune(&self, keep: Duration, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let cutoff = timestamp(now - keep);
        let mut pruned = 0;
        for sql in [
            "DELETE FROM processed_events WHERE received_at < $1",
            "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < $1",
            "DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1",
            // An exception expired that long ago is never warned about again.
            "DELETE FROM exception_warnings WHERE published_at IS NOT NULL AND expires_at < $1",
        ] {
            let result = sqlx::query(sql)
                .bind(&cutoff)
                .execute(&self.writer)
                .await
                .with_context(|| format!("prune: {sql}"))?;
            pruned += result.rows_affected();
        }
        Ok(pruned)
    }

    /// Stores a pushed event; once this returns, it will be handled.
    pub async fn inbox_insert(&self, body: &str, at: DateTime<Utc>) -> anyhow::Result<i64> {
        let ids = self.inbox_insert_many(&[body], at).await?;
        Ok(ids[0])
    }

    /// Stores pushed events in one statement (a group commit of concurrent
    /// requests: one round trip, not one per body); their ids, in order. Once
    /// this returns, each will be handled.
    pub async fn inbox_insert_many(
        &self,
        bodies: &[&str],
        at: DateTime<Utc>,
    ) -> anyhow::Result<Vec<i64>> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<String> = (0..bodies.len())
            .map(|n| format!("(${}, $1)", n + 2))
            .collect();
        let sql = format!(
            "INSERT INTO inbox (body, received_at) VALUES {} RETURNING id",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(timestamp(at));
        for body in bodies {
            query = query.bind(*body);
        }
        // One statement is atomic by itself: written alone, not inside
        // BEGIN … COMMIT, it costs one round trip to the database instead of
        // three, and on SQLite no statement journal (a statement inside a
        // transaction keeps one of every page it changes: a group's bodies
        // spilled it to a temporary file).
        let _turn = self.writer_turn().await;
        let rows = query.fetch_all(&self.writer).await;
        self.health.observe(rows.is_ok());
        let rows = rows.context("store pushed events")?;
        // Both databases number one statement's rows in the order of its
        // VALUES, but RETURNING lists them in no promised order.
        let mut ids = rows
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<Vec<i64>, _>>()?;
        ids.sort_unstable();
        anyhow::ensure!(
            ids.len() == bodies.len(),
            "stored {} of {} pushed events",
            ids.len(),
            bodies.len()
        );
        Ok(ids)
    }

    /// Pushed events not yet handled and due at `now`, oldest first, of
    /// those stored as ids after `after` (0: all). Reading after the last id
    /// seen skips the index entries of rows already handled, which on
    /// PostgreSQL stay in the index until vacuum (a read from the start
    /// walked ~1,900 of them at 500 events/s).
    pub async fn inbox_pending(
        &self,
        after: i64,
        limit: i64,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<InboxRow>> {
        let rows = sqlx::query(
            "SELECT id, body, attempts FROM inbox WHERE processed_at IS NULL AND id > $3 \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $2) ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .bind(timestamp(now))
        .bind(after)
        .fetch_all(&self.pool)
        .await
        .context("read pending pushed events")?;
        rows.iter()
            .map(|row| {
                Ok(InboxRow {
                    id: row.try_get("id")?,
                    body: row.try_get("body")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Records a batch of attempts at pushed events in one transaction: the
    /// handled event ids and every inbox row's end. Until it commits, each
    /// event stays pending and is handled again after a crash (its evaluation
    /// is idempotent), so nothing accepted is lost.
    pub async fn inbox_finish(
        &self,
        attempts: &[InboxAttempt],
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        let now = timestamp(at);
        // The usual batch, every event handled, is two statements: the ids to
        // remember, and the rows done. Errors and retries go one by one.
        let remember: Vec<&(String, &'static str)> = attempts
            .iter()
            .filter_map(|a| a.processed.as_ref())
            .collect();
        let done: Vec<i64> = attempts
            .iter()
            .filter(|a| a.end == AttemptEnd::Done(None))
            .map(|a| a.id)
            .collect();
        let mut tx = self.begin_write().await?;
        if !remember.is_empty() {
            remember_query(&remember, &now)
                .execute(&mut **tx)
                .await
                .context("remember handled events")?;
        }
        if !done.is_empty() {
            let sql = format!(
                "UPDATE inbox SET processed_at = $1, last_error = NULL, attempts = attempts + 1 \
                 WHERE id IN ({}) AND processed_at IS NULL",
                numbered(2, done.len())
            );
            done.iter()
                .fold(sqlx::query(AssertSqlSafe(sql)).bind(&now), |query, id| {
                    query.bind(*id)
                })
                .execute(&mut **tx)
                .await
                .context("mark pushed events handled")?;
        }
        for attempt in attempts.iter().filter(|a| a.end != AttemptEnd::Done(None)) {
            let query = match &attempt.end {
                AttemptEnd::Done(error) => sqlx::query(
                    "UPDATE inbox SET processed_at = $1, last_error = $2, attempts = attempts + 1 \
                     WHERE id = $3 AND processed_at IS NULL",
                )
                .bind(now.clone())
                .bind(error.clone()),
                AttemptEnd::Retry { error, at, counted } => sqlx::query(
                    "UPDATE inbox SET last_error = $1, next_attempt_at = $2, \
                     attempts = attempts + $3 WHERE id = $4 AND processed_at IS NULL",
                )
                .bind(error.clone())
                .bind(timestamp(*at))
                .bind(i64::from(*counted)),
            };
            query
                .bind(attempt.id)
                .execute(&mut **tx)
                .await
                .context("update a pushed event")?;
        }
        self.commit(tx, "a batch of pushed events").await
    }

    /// Records one attempt at a pushed event: `finished` marks it done
    /// (handled, or given up on with `error` kept); otherwise the error is kept
    /// and it is tried again at once.
    pub async fn inbox_done(
        &self,
        id: i64,
        error: Option<&str>,
        finished: bool,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let error = error.map(str::to_owned);
        let end = if finished {
            AttemptEnd::Done(error)
        } else {
            AttemptEnd::Retry {
                error: error.unwrap_or_default(),
                at,
                counted: true,
            }
        };
        let attempt = InboxAttempt {
            id,
            processed: None,
            end,
        };
        self.inbox_finish(&[attempt], at).await
    }
}
