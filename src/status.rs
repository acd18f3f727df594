//! What the daemon says about itself: liveness (`/healthz`), readiness
//! (`/readyz`) and the gauges read at scrape time (`/metrics`). Only facts are
//! kept here — the store, the scopes' queues, when the daemon started and
//! whether a task died — so the HTTP layer needs nothing else of the daemon.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::account_region::AccountRegion;
use crate::config::ScheduleSettings;
use crate::control::ControlState;
use crate::metrics::{AccountRegionLabels, ControlLabels, Metrics, ScopeLabels};
use crate::shutdown::Supervisor;
use crate::store::Store;

pub struct Status {
    store: Store,
    scopes: Vec<Arc<AccountRegion>>,
    metrics: Arc<Metrics>,
    schedule: ScheduleSettings,
    supervisor: Supervisor,
    started_at: Instant,
}

impl Status {
    pub fn new(
        store: Store,
        scopes: Vec<Arc<AccountRegion>>,
        metrics: Arc<Metrics>,
        schedule: ScheduleSettings,
        supervisor: Supervisor,
    ) -> Status {
        Status {
            store,
            scopes,
            metrics,
            schedule,
            supervisor,
            started_at: Instant::now(),
        }
    }

    /// Why the daemon should be restarted, if it should: a task died, or every
    /// write to the state database has failed for longer than [`Status::wedge_bound`]
    /// (a full disk, a broken database). Intake refuses events meanwhile.
    pub fn unhealthy(&self) -> Option<String> {
        if let Some(task) = self.supervisor.died() {
            return Some(format!("the {task} task ended unexpectedly"));
        }
        let failing = self.store.write_health().failing_for()?;
        (failing > self.wedge_bound()).then(|| {
            format!(
                "every write to the state database has failed for {}",
                humantime::format_duration(Duration::from_secs(failing.as_secs()))
            )
        })
    }

    /// How long writes may fail before the daemon counts as wedged: a sweep
    /// interval (every sweep writes), at least 10 s and at most 5 minutes.
    pub fn wedge_bound(&self) -> Duration {
        self.schedule
            .interval
            .clamp(Duration::from_secs(10), Duration::from_secs(300))
    }

    /// Ready when healthy, the database answers, and every scope was swept
    /// completely recently, by this replica or another (or the daemon is young
    /// enough that the first sweep may still be running).
    pub async fn ready(&self) -> Result<(), String> {
        if let Some(why) = self.unhealthy() {
            return Err(why);
        }
        if let Err(e) = self.store.ping().await {
            return Err(format!(
                "database unreachable: {}",
                crate::display::chain(&e)
            ));
        }
        let allowance = (self.schedule.interval + self.schedule.jitter) * 2;
        if self.started_at.elapsed() <= allowance {
            return Ok(());
        }
        let oldest_allowed = Utc::now() - chrono::Duration::from_std(allowance).unwrap_or_default();
        // One query for every scope: a probe costs the same with 1,000 of them.
        let swept = self
            .store
            .last_sweeps()
            .await
            .map_err(|e| crate::display::chain(&e).to_string())?;
        for scope in &self.scopes {
            match swept.get(scope.key()) {
                Some(at) if *at >= oldest_allowed => {}
                _ => return Err(format!("no complete sweep of {} recently", scope.key())),
            }
        }
        Ok(())
    }

    /// Recomputes the gauges read from the database and queues (at scrape time).
    pub async fn refresh_gauges(&self) {
        let metrics = &self.metrics;
        match self.store.count_by_state().await {
            Ok(counts) => {
                // Recomputed as a whole: every state at zero (a state with no
                // control is a sample of 0, not a missing series), then the counts.
                metrics.controls.clear();
                for state in ControlState::ALL {
                    if state == ControlState::Removed {
                        continue;
                    }
                    for muted in [false, true] {
                        metrics
                            .controls
                            .get_or_create(&ControlLabels { state, muted })
                            .set(0);
                    }
                }
                for count in counts {
                    // States are written by this code, so every one parses.
                    let Ok(state) = count.state.parse() else {
                        continue;
                    };
                    let labels = ControlLabels {
                        state,
                        muted: count.muted,
                    };
                    metrics.controls.get_or_create(&labels).set(count.count);
                }
            }
            Err(error) => tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "cannot count controls"
            ),
        }
        if let Ok(backlog) = self.store.outbox_backlog().await {
            metrics.outbox_backlog.set(backlog);
        }
        if let Ok(backlog) = self.store.findings_backlog().await {
            metrics.securityhub_backlog.set(backlog);
        }
        for scope in &self.scopes {
            let labels = ScopeLabels {
                scope: scope.key().to_owned(),
            };
            metrics
                .queue_depth
                .get_or_create(&labels)
                .set(scope.queue.len() as i64);
            let labels = AccountRegionLabels {
                account: scope.spec.account_label().to_owned(),
                region: scope.spec.region.clone(),
            };
            metrics
                .aws_request_rate
                .get_or_create(&labels)
                .set(scope.wa.limiter().rate());
        }
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
