//! A sweep: list every workload of a scope and evaluate each, every time.
//!
//! Constant work by design: no change detection, no skipping, so the sweep is the
//! backstop that makes lost or late events harmless. Controls the listing no longer
//! shows are re-checked by id, which confirms (not infers) that they are gone.
//!
//! Listing stays a bounded distance ahead of evaluation, so memory does not grow
//! with the number of workloads.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::queue::{Done, Job, Target};
use crate::reconcile::Reconciled;
use crate::scope::Scope;
use crate::store::Store;
use crate::workload::Trigger;

/// Evaluations a sweep keeps requested at once; listing waits beyond it.
const AHEAD: usize = 500;

/// What one sweep of one scope did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub scope: String,
    pub listed: usize,
    pub evaluated: usize,
    pub removed: usize,
    /// Evaluations that could not be recorded (e.g. the database was down).
    pub failed: usize,
    /// Set when the listing failed part-way; removals are then not attempted.
    pub listing_error: Option<String>,
    pub duration: Duration,
}

pub async fn sweep(scope: &Scope, store: &Store) -> SweepReport {
    let started = Instant::now();
    let mut report = SweepReport {
        scope: scope.key().to_owned(),
        ..Default::default()
    };
    let mut pending = FuturesUnordered::new();
    let mut seen = HashSet::new();
    let mut token = None;
    loop {
        while pending.len() >= AHEAD {
            if let Some(done) = pending.next().await {
                report.count(done);
            }
        }
        match scope.wa.list_workloads_page(token.take()).await {
            Ok((page, next)) => {
                report.listed += page.len();
                for workload in page {
                    seen.insert(workload.arn.clone());
                    pending.push(scope.submit(Job {
                        target: Target::Listed(workload),
                        trigger: Trigger::Sweep,
                    }));
                }
                match next {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
            Err(error) => {
                tracing::warn!(scope = scope.key(), error = %error, "listing workloads failed; sweep incomplete");
                report.listing_error = Some(error.to_string());
                break;
            }
        }
    }
    if report.listing_error.is_none() {
        match store.active_control_keys(scope.key()).await {
            Ok(keys) => {
                for (_, workload_id) in keys.into_iter().filter(|(arn, _)| !seen.contains(arn)) {
                    pending.push(scope.submit(Job {
                        target: Target::Id(workload_id),
                        trigger: Trigger::Sweep,
                    }));
                }
            }
            Err(error) => {
                tracing::warn!(
                    scope = scope.key(),
                    error = format!("{error:#}"),
                    "cannot list known controls"
                );
                report.failed += 1;
            }
        }
    }
    while let Some(done) = pending.next().await {
        report.count(done);
    }
    report.duration = started.elapsed();
    report
}

impl SweepReport {
    fn count(&mut self, done: Result<Done<Reconciled>, tokio::sync::oneshot::error::RecvError>) {
        match done {
            Ok(Ok(Reconciled::Removed)) => self.removed += 1,
            Ok(Ok(_)) => self.evaluated += 1,
            Ok(Err(_)) | Err(_) => self.failed += 1,
        }
    }
}
