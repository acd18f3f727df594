//! Sends `Exception Expiring` events (`notify.exception_expiry_warning`): the
//! rows of `exception_warnings`, claimed, sent and marked like the outbox's
//! (at-least-once; consumers dedupe on workload ARN, setting and expiry). They
//! are announcements of a date, not of a state, so `notify.settle` and
//! flapping do not hold them.

use std::time::Duration;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use chrono::Utc;

use super::{OUTBOX_CLAIM, PUT_EVENTS_BATCH, Publisher};
use crate::metrics::NotificationResult;
use crate::store::WarningRow;
use crate::wellarchitected::backoff;

pub const EXPIRING_DETAIL_TYPE: &str = "Exception Expiring";

impl Publisher {
    /// Sends one batch of warnings; returns how many EventBridge accepted.
    pub async fn publish_warnings(&self) -> anyhow::Result<usize> {
        let wall = self.clock.wall();
        let rows = self
            .store
            .claim_warnings(&self.owner, PUT_EVENTS_BATCH, wall, wall + OUTBOX_CLAIM)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let entries: Vec<PutEventsRequestEntry> =
            rows.iter().map(|row| self.warning(row)).collect();
        let output = match self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) => {
                let message = aws_sdk_eventbridge::error::DisplayErrorContext(&error).to_string();
                for row in &rows {
                    self.retry_warning(row, &message).await?;
                }
                anyhow::bail!("PutEvents failed: {message}");
            }
        };
        let mut accepted = Vec::new();
        for (row, result) in rows.iter().zip(output.entries()) {
            match result.error_code() {
                None => accepted.push(row.id),
                Some(code) => {
                    let message = format!("{code}: {}", result.error_message().unwrap_or(""));
                    tracing::warn!(warning_id = row.id, attempts = row.attempts + 1, error = %message, "EventBridge refused an exception expiry warning; retrying");
                    self.retry_warning(row, &message).await?;
                }
            }
        }
        self.store
            .mark_warnings_published(&accepted, Utc::now())
            .await?;
        self.count(NotificationResult::Published, accepted.len() as u64);
        Ok(accepted.len())
    }

    async fn retry_warning(&self, row: &WarningRow, error: &str) -> anyhow::Result<()> {
        self.count(NotificationResult::Failed, 1);
        let attempt = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
        let wait = backoff(
            attempt,
            Duration::from_millis(500),
            Duration::from_secs(300),
        );
        let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        self.store
            .mark_warning_failed(row.id, error, retry_at)
            .await
    }

    fn warning(&self, row: &WarningRow) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source(&self.source)
            .detail_type(EXPIRING_DETAIL_TYPE)
            .detail(&row.payload)
            .event_bus_name(&self.event_bus)
            .resources(&row.workload_arn)
            .build()
    }
}
