//! `exception_warnings`: each `Exception Expiring` event, recorded once per
//! (control, setting, expiry) and queued for the notify publisher in the same
//! row (see migration 0012). At-least-once like the outbox: a row is marked
//! published only once EventBridge accepted it; a dead publisher's claims expire.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::key::ControlKey;
use super::outbox::MAX_PUBLISH_ATTEMPTS;
use super::{Store, timestamp};

/// The `Detail` of an `Exception Expiring` event (with the control's `lens` and
/// `question_id` added when recorded). Consumers dedupe on (`workload_arn`,
/// `lens`, `question_id`, `setting`, `expires_at`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExceptionExpiring<'a> {
    pub control_type: &'a str,
    pub workload_id: &'a str,
    pub workload_arn: &'a str,
    pub account_id: &'a str,
    pub region: &'a str,
    /// The setting's identity: its scope and the keys it sets.
    pub setting: &'a str,
    /// Where it is written (e.g. `policies.settings[2] (account:…)`).
    pub origin: &'a str,
    /// The policies whose value the control takes from it.
    pub policies: Vec<&'a str>,
    pub expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
    pub occurred_at: String,
}

/// A warning waiting to be published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarningRow {
    pub id: i64,
    pub workload_arn: String,
    pub payload: String,
    pub attempts: i64,
}

impl Store {
    /// Records the warning about the control `key` and queues its event, unless
    /// this (control, setting, expiry) was warned about already (by this
    /// process, an earlier one or another replica). Returns whether it was new.
    /// The event's detail also says the control's `lens` and `question_id`.
    pub async fn warn_exception_expiring(
        &self,
        key: &ControlKey,
        detail: &ExceptionExpiring<'_>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        let mut payload =
            serde_json::to_value(detail).context("serialize an exception expiry warning")?;
        payload["lens"] = key.lens.as_str().into();
        payload["question_id"] = key.question_id.as_str().into();
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO exception_warnings (workload_arn, lens, question_id, setting, expires_at, \
             payload, created_at) VALUES ($1, $6, $7, $2, $3, $4, $5) \
             ON CONFLICT (workload_arn, lens, question_id, setting, expires_at) DO NOTHING",
        )
        .bind(&key.workload_arn)
        .bind(detail.setting)
        .bind(&detail.expires_at)
        .bind(payload.to_string())
        .bind(timestamp(at))
        .bind(&key.lens)
        .bind(&key.question_id)
        .execute(&mut **tx)
        .await
        .context("record an exception expiry warning")?
        .rows_affected();
        self.commit(tx, "an exception expiry warning").await?;
        Ok(inserted == 1)
    }

    /// Claims up to `limit` unpublished warnings, oldest first, for `owner`
    /// until `until` (as [`Store::claim_outbox`] does notifications).
    pub async fn claim_warnings(
        &self,
        owner: &str,
        limit: i64,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<Vec<WarningRow>> {
        let now = timestamp(now);
        let mut tx = self.begin_write().await?;
        // The claimable condition stands in the outer WHERE too (Postgres' READ
        // COMMITTED re-checks only that one after waiting on a row lock).
        sqlx::query(
            "UPDATE exception_warnings SET claimed_by = $1, claimed_until = $2 WHERE id IN \
             (SELECT id FROM exception_warnings WHERE published_at IS NULL AND attempts < $5 \
              AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1) \
              ORDER BY id LIMIT $4) \
             AND published_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3 OR claimed_by = $1)",
        )
        .bind(owner)
        .bind(timestamp(until))
        .bind(&now)
        .bind(limit)
        .bind(MAX_PUBLISH_ATTEMPTS)
        .execute(&mut **tx)
        .await
        .context("claim exception expiry warnings")?;
        let rows = sqlx::query(
            "SELECT id, workload_arn, payload, attempts FROM exception_warnings \
             WHERE claimed_by = $1 AND published_at IS NULL ORDER BY id LIMIT $2",
        )
        .bind(owner)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
        .context("read claimed exception expiry warnings")?;
        self.commit(tx, "exception expiry warning claims").await?;
        rows.iter()
            .map(|row| {
                Ok(WarningRow {
                    id: row.try_get("id")?,
                    workload_arn: row.try_get("workload_arn")?,
                    payload: row.try_get("payload")?,
                    attempts: row.try_get("attempts")?,
                })
            })
            .collect()
    }
}
