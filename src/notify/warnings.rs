//! Sends `Exception Expiring` events (`notify.exception_expiry_warning`): the
//! rows of `exception_warnings`, claimed, sent and marked as the outbox's are
//! (at-least-once; consumers dedupe on workload ARN, setting and expiry). They
//! announce a date, not a state, so `notify.settle` and flapping do not hold them.

use super::{OUTBOX_CLAIM, PUT_EVENTS_BATCH, Publisher};
use crate::store::{EventQueue, WarningRow};

pub const EXPIRING_DETAIL_TYPE: &str = "Exception Expiring";

super::sendable!(
    WarningRow,
    EventQueue::ExceptionWarnings,
    EXPIRING_DETAIL_TYPE,
    id
);

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
        self.publish(&rows).await
    }
}
