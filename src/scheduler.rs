//! The constant-rate schedule: each scope is swept every `schedule.interval`
//! (plus up to `schedule.jitter`), on its own loop, by whichever replica holds
//! the scope's sweep lease.

use std::sync::Arc;

use chrono::Utc;
use tokio::time::Instant;
use tracing::Instrument;

use crate::account_region::AccountRegion;
use crate::config::ScheduleSettings;
use crate::metrics::{Metrics, ScopeLabels, SweepLabels, SweepResult};
use crate::shutdown::CancellationToken;
use crate::store::Store;
use crate::sweep::{SweepBudget, SweepReport, sweep};

/// What sweeping needs: the store, this replica's name in leases, the schedule
/// and where to count.
pub struct Sweeper {
    pub store: Store,
    pub replica_id: String,
    pub schedule: ScheduleSettings,
    pub metrics: Arc<Metrics>,
    /// What bounds this replica's sweeps: the workloads they hold at once, not
    /// how many run (see [`crate::sweep::budget`]).
    pub budget: SweepBudget,
}

/// Sweeps `scope` at a constant rate until shutdown. Intervals are measured start
/// to start, so a long sweep shortens the pause after it instead of shifting the
/// schedule; a sweep longer than the interval is followed by the next at once.
pub async fn schedule(
    sweeper: Arc<Sweeper>,
    scope: Arc<AccountRegion>,
    shutdown: CancellationToken,
) {
    let interval = sweeper.schedule.interval;
    let jitter = sweeper.schedule.jitter;
    let mut next = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = shutdown.cancelled() => return,
        }
        let started = Instant::now();
        let mut pause = interval + jitter.mul_f64(rand::random::<f64>());
        if !holds_sweep_lease(&sweeper, &scope).await {
            // Another replica sweeps this interval; if it dies, its lease runs
            // out before the next interval would: try again then.
            if let Some(free_in) = lease_free_in(&sweeper, &scope).await {
                pause = pause.min(free_in + jitter.mul_f64(rand::random::<f64>()));
            }
        } else {
            // A sweep may outlast its interval (throttling, a large fleet): renew
            // the lease meanwhile, so no other replica starts the same sweep.
            let renew_every = (interval / 3).max(std::time::Duration::from_millis(100));
            let renewing = async {
                loop {
                    tokio::time::sleep(renew_every).await;
                    holds_sweep_lease(&sweeper, &scope).await;
                }
            };
            tokio::select! {
                _ = sweep_and_report(&sweeper, &scope) => {}
                _ = renewing => {}
                _ = shutdown.cancelled() => return,
            }
        }
        next = started + pause;
    }
}

/// How long until the sweep lease of `scope`, held by another replica, runs out.
async fn lease_free_in(sweeper: &Sweeper, scope: &AccountRegion) -> Option<std::time::Duration> {
    let name = format!("sweep:{}", scope.key());
    let expiry = sweeper.store.lease_expiry(&name).await.ok()??;
    Some((expiry - Utc::now()).to_std().unwrap_or_default())
}

/// Whether this replica sweeps `scope` this interval. With one replica it always
/// does; with several, one of them per interval does, and a dead replica's
/// scopes are taken over when its lease runs out.
async fn holds_sweep_lease(sweeper: &Sweeper, scope: &AccountRegion) -> bool {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(sweeper.schedule.interval).unwrap_or_default();
    let name = format!("sweep:{}", scope.key());
    match sweeper
        .store
        .try_lease(&name, &sweeper.replica_id, now, until)
        .await
    {
        Ok(held) => {
            if !held {
                tracing::debug!(scope = scope.key(), "another replica sweeps this scope now");
            }
            held
        }
        Err(error) => {
            tracing::warn!(
                scope = scope.key(),
                error = crate::display::chain(&error).to_string(),
                "cannot take the sweep lease"
            );
            false
        }
    }
}

/// Sweeps `scope` once, then logs, counts and records the sweep, all inside a
/// `sweep` span naming the scope (ERROR level so that no log level drops it; it
/// writes no line of its own).
pub async fn sweep_and_report(sweeper: &Sweeper, scope: &AccountRegion) -> SweepReport {
    let span = tracing::error_span!("sweep", scope = scope.key());
    sweep_and_report_inner(sweeper, scope)
        .instrument(span)
        .await
}

async fn sweep_and_report_inner(sweeper: &Sweeper, scope: &AccountRegion) -> SweepReport {
    let report = sweep(scope, &sweeper.store, &sweeper.budget).await;
    if let Err(error) = scope.save_learned_rate(&sweeper.store).await {
        tracing::warn!(
            error = crate::display::chain(&error).to_string(),
            "cannot save the learned request rate"
        );
    }
    let complete = report.listing_error.is_none() && report.failed == 0;
    let result = if complete {
        SweepResult::Complete
    } else {
        SweepResult::Incomplete
    };
    let metrics = &sweeper.metrics;
    metrics
        .sweeps
        .get_or_create(&SweepLabels {
            scope: report.scope.clone(),
            result,
        })
        .inc();
    metrics
        .sweep_duration
        .get_or_create(&ScopeLabels {
            scope: report.scope.clone(),
        })
        .observe(report.duration.as_secs_f64());
    tracing::info!(
        scope = %report.scope,
        listed = report.listed,
        evaluated = report.evaluated,
        removed = report.removed,
        failed = report.failed,
        listing_error = report.listing_error.as_deref(),
        duration_ms = report.duration.as_millis() as u64,
        "sweep finished"
    );
    // Only a complete sweep counts for readiness.
    if complete {
        let recorded = sweeper
            .store
            .record_sweep(
                &report.scope,
                &sweeper.replica_id,
                Utc::now(),
                report.listed as i64,
                report.duration.as_millis() as i64,
            )
            .await;
        if let Err(error) = recorded {
            tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "cannot record the sweep"
            );
        }
    }
    report
}

/// How long handled event ids, handled pushed events and published notifications
/// are kept: longer than SQS's maximum retention (14 days), so dedupe holds.
const KEEP: chrono::Duration = chrono::Duration::days(15);

/// Prunes what is only kept for a while, hourly, until shutdown.
pub async fn housekeeping(store: Store, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        match store.prune(KEEP, Utc::now()).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(
                pruned,
                "pruned old event ids, pushed events and notifications"
            ),
            Err(error) => tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "housekeeping failed"
            ),
        }
    }
}
