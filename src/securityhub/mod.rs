//! AWS Security Hub: one finding per control (ASFF), imported into the workload's
//! account and region with that account's credentials.
//!
//! Every change to a control queues its finding in the same transaction
//! (`securityhub_findings`, see [`crate::store`]); this publisher claims due
//! findings, imports the controls' current findings with BatchImportFindings in
//! requests of at most 100 findings and 240 KB, and marks each accepted one sent,
//! due again after [`REFRESH`] (Security Hub deletes a finding not updated for 90
//! days). Refused findings (`FailedFindings`) and failed calls are retried with
//! backoff. Delivery is at-least-once; a finding's `Id` is stable per control, so
//! a repeat updates it.

pub mod batch;
pub mod finding;
pub mod sdk;
pub mod severity;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::SecurityHubSettings;
use crate::metrics::{FindingLabels, FindingResult, Metrics};
use crate::store::{DueFinding, Store, timestamp};
use crate::wellarchitected::backoff;
use finding::Finding;

/// How long after an accepted import a finding is imported again though nothing
/// changed: well inside Security Hub's 90 days, so a few failed attempts still
/// leave time.
pub const REFRESH: chrono::Duration = chrono::Duration::days(30);
/// Findings claimed per round (several requests when they span accounts).
const CLAIM_BATCH: i64 = 500;
/// How long a claim holds: longer than one import call may take (its attempt
/// timeout), so a live publisher is rarely doubled; a dead one's findings wait at
/// most this long. A round that outlasts it (many accounts at once) may be
/// imported twice, which only repeats the same update.
const CLAIM: chrono::Duration = chrono::Duration::seconds(30);

/// A finding Security Hub refused (`FailedFindings`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub id: String,
    pub message: String,
}

/// Why a whole request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("no configured scope has credentials for this account and region")]
    NoCredentials,
    #[error("BatchImportFindings failed: {0}")]
    Call(String),
}

/// Where findings go: Security Hub through the SDK ([`sdk::SdkImporter`]), or a
/// test's fake.
pub trait Importer: Send + Sync {
    /// Imports `findings`, all of `account` in `region`; returns those refused.
    fn import(
        &self,
        account: &str,
        region: &str,
        findings: &[Finding],
    ) -> impl Future<Output = Result<Vec<Refused>, ImportError>> + Send;
}

impl<I: Importer> Importer for Arc<I> {
    fn import(
        &self,
        account: &str,
        region: &str,
        findings: &[Finding],
    ) -> impl Future<Output = Result<Vec<Refused>, ImportError>> + Send {
        (**self).import(account, region, findings)
    }
}

pub struct FindingPublisher<I> {
    pub store: Store,
    pub importer: I,
    pub settings: SecurityHubSettings,
    /// The configured policies: findings show the reason, ticket and owner of
    /// the settings a control used.
    pub policies: crate::control::PolicySet,
    /// This process's claim name.
    pub owner: String,
    pub metrics: Arc<Metrics>,
}

impl<I: Importer> FindingPublisher<I> {
    /// Queues the findings of controls recorded before Security Hub was
    /// enabled, then imports due findings until shutdown.
    pub async fn run(
        self,
        transitions: tokio::sync::broadcast::Receiver<crate::store::TransitionRow>,
        shutdown: crate::shutdown::CancellationToken,
    ) {
        match self.store.queue_missing_findings(Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(findings = n, "queued the findings of existing controls"),
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot queue existing controls' findings; they are queued at their next change"
                )
            }
        }
        crate::notify::drain_loop(
            "importing findings",
            || self.publish_due(),
            transitions,
            shutdown,
        )
        .await;
    }

    /// One round: claims due findings and imports them, per account-region.
    /// Returns how many were claimed (0: nothing was due).
    pub async fn publish_due(&self) -> anyhow::Result<usize> {
        let now = Utc::now();
        let due = self
            .store
            .claim_findings(&self.owner, CLAIM_BATCH, now, now + CLAIM)
            .await?;
        let claimed = due.len();
        let stamp = timestamp(now);
        let mut by_scope: BTreeMap<(String, String), Vec<DueFinding>> = BTreeMap::new();
        for row in due {
            let key = (row.control.account_id.clone(), row.control.region.clone());
            by_scope.entry(key).or_default().push(row);
        }
        for ((account, region), rows) in by_scope {
            let findings: Vec<Finding> = rows
                .iter()
                .map(|row| {
                    Finding::of(&row.control, &self.settings, &stamp)
                        .with_accountability(&row.control, &self.policies)
                })
                .collect();
            let sizes: Vec<usize> = findings
                .iter()
                .map(|f| f.to_asff().to_string().len())
                .collect();
            for range in batch::batches(&sizes) {
                let sent = &findings[range.clone()];
                let result = self.importer.import(&account, &region, sent).await;
                self.record(&rows[range], sent, result, now).await?;
            }
        }
        Ok(claimed)
    }

    /// Marks each finding of one request sent or failed, and counts it.
    async fn record(
        &self,
        rows: &[DueFinding],
        sent: &[Finding],
        result: Result<Vec<Refused>, ImportError>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let refused = match result {
            Ok(refused) => refused,
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(findings = rows.len(), error = %message, "importing findings failed; retrying");
                for row in rows {
                    self.retry_later(row, &message, FindingResult::Failed)
                        .await?;
                }
                return Ok(());
            }
        };
        for (row, finding) in rows.iter().zip(sent) {
            match refused.iter().find(|r| r.id == finding.id) {
                Some(refusal) => {
                    tracing::warn!(finding = %finding.id, attempts = row.attempts + 1, error = %refusal.message, "Security Hub refused a finding; retrying");
                    self.retry_later(row, &refusal.message, FindingResult::Refused)
                        .await?;
                }
                None => {
                    self.store
                        .mark_finding_sent(row, &self.owner, now, now + REFRESH)
                        .await?;
                    self.count(FindingResult::Imported);
                }
            }
        }
        Ok(())
    }

    /// Records a failed attempt; the finding is due again after a backoff that
    /// grows with its attempts, up to an hour.
    async fn retry_later(
        &self,
        row: &DueFinding,
        error: &str,
        result: FindingResult,
    ) -> anyhow::Result<()> {
        self.count(result);
        let attempt = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
        let wait = backoff(attempt, Duration::from_secs(1), Duration::from_secs(3600));
        let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        self.store
            .mark_finding_failed(row, &self.owner, error, retry_at)
            .await
    }

    fn count(&self, result: FindingResult) {
        self.metrics
            .securityhub_findings
            .get_or_create(&FindingLabels { result })
            .inc();
    }
}

#[cfg(test)]
mod tests;
