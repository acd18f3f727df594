//! Event intake: EventBridge events about workload changes, from SQS or pushed
//! to `POST /events`, become targeted evaluations.
//!
//! Both intakes share [`EventHandler`]: parse, drop duplicates (by EventBridge id,
//! remembered durably), route to the scope that scans the account-region, and
//! submit an evaluation to its work queue, where a burst for one workload
//! coalesces. An event counts as handled only once its evaluation is recorded.

pub mod inbox;
pub mod parse;
pub mod sample;
pub mod sqs;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::Utc;

use crate::metrics::Metrics;
use crate::queue::{Job, Target};
use crate::reconcile::Reconciled;
use crate::scope::Scope;
use crate::store::Store;
use crate::workload::Trigger;
use parse::{Parsed, WorkloadEvent};

/// What became of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    Evaluated(Reconciled),
    /// Already handled earlier (a redelivery or a duplicate).
    Duplicate,
    Irrelevant(String),
    /// Unreadable: to be dead-lettered with this reason.
    Malformed(String),
}

impl Handled {
    pub fn outcome(&self) -> &'static str {
        match self {
            Handled::Evaluated(_) => "evaluated",
            Handled::Duplicate => "duplicate",
            Handled::Irrelevant(_) => "irrelevant",
            Handled::Malformed(_) => "malformed",
        }
    }
}

/// Why an event was not handled this time; either way it is tried again.
#[derive(Debug, thiserror::Error)]
pub enum NotHandled {
    /// Nothing wrong with the event: the daemon is shutting down, or another
    /// replica is evaluating the workload. Try again later, and do not count it
    /// as a failed attempt.
    #[error("{0}")]
    Deferred(String),
    /// The evaluation could not be recorded (the database).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

pub struct EventHandler {
    store: Store,
    scopes: Vec<Arc<Scope>>,
    tags_enabled: bool,
    metrics: Arc<Metrics>,
    /// Set once the daemon is stopping: evaluations abandoned from then on are
    /// deferred, not failed.
    stopping: Arc<AtomicBool>,
}

impl EventHandler {
    pub fn new(
        store: Store,
        scopes: Vec<Arc<Scope>>,
        tags_enabled: bool,
        metrics: Arc<Metrics>,
        stopping: Arc<AtomicBool>,
    ) -> Self {
        metrics.describe(
            "rel04d_events_total",
            "counter",
            "Events received, by intake and outcome.",
        );
        EventHandler {
            store,
            scopes,
            tags_enabled,
            metrics,
            stopping,
        }
    }

    /// Handles one event body. An error means "try again later" (the evaluation
    /// could not be recorded, or was deferred); the event must not be acknowledged.
    pub async fn handle(&self, intake: &str, body: &str) -> Result<Handled, NotHandled> {
        let result = self.handle_inner(body).await;
        let outcome = match &result {
            Ok(handled) => handled.outcome(),
            Err(NotHandled::Deferred(_)) => "deferred",
            Err(NotHandled::Failed(_)) => "failed",
        };
        self.metrics.inc(
            "rel04d_events_total",
            &[("intake", intake), ("outcome", outcome)],
        );
        result
    }

    async fn handle_inner(&self, body: &str) -> Result<Handled, NotHandled> {
        let event = match parse::parse(body, self.tags_enabled) {
            Err(malformed) => return Ok(Handled::Malformed(malformed.0)),
            Ok(Parsed::Irrelevant { why, .. }) => return Ok(Handled::Irrelevant(why)),
            Ok(Parsed::Relevant(event)) => event,
        };
        if self.store.event_processed(&event.event_id).await? {
            return Ok(Handled::Duplicate);
        }
        let Some(scope) = self.route(&event) else {
            return Ok(Handled::Irrelevant(format!(
                "no configured scope scans account {} in {}",
                event.account.as_deref().unwrap_or("(unknown)"),
                event.region
            )));
        };
        let done = scope.submit(Job {
            target: Target::Id(event.workload_id.clone()),
            trigger: Trigger::Event(event.event_id.clone()),
        });
        let done = done
            .await
            .map_err(|_| "the evaluation was abandoned".to_owned())
            .and_then(|done| done.map_err(|e| format!("the evaluation was not recorded: {e}")));
        let reconciled = match done {
            Ok(reconciled) => reconciled,
            // The work queue closed under it: shutdown, not the event's fault.
            Err(why) if self.stopping.load(Ordering::Acquire) => {
                return Err(NotHandled::Deferred(format!("shutting down ({why})")));
            }
            Err(why) => return Err(anyhow::anyhow!(why).into()),
        };
        // Another replica's evaluation may have read the answer before this
        // change: try again later rather than trust it.
        if matches!(reconciled, Reconciled::Busy | Reconciled::Superseded) {
            return Err(NotHandled::Deferred(format!(
                "another replica is evaluating workload {}",
                event.workload_id
            )));
        }
        let handled = Handled::Evaluated(reconciled);
        self.store
            .mark_event_processed(&event.event_id, handled.outcome(), Utc::now())
            .await?;
        Ok(handled)
    }

    /// The scope of the event's account and region: an assumed-role account first,
    /// else the ambient credentials' scan of that region, else the only scope of
    /// that region when the event names no account.
    fn route(&self, event: &WorkloadEvent) -> Option<&Arc<Scope>> {
        let in_region: Vec<&Arc<Scope>> = self
            .scopes
            .iter()
            .filter(|s| s.spec.region == event.region)
            .collect();
        let by_account = in_region
            .iter()
            .find(|s| s.spec.account_id.is_some() && s.spec.account_id == event.account);
        let ambient = in_region.iter().find(|s| s.spec.account_id.is_none());
        let only = (event.account.is_none() && in_region.len() == 1).then(|| &in_region[0]);
        by_account.or(ambient).or(only).copied()
    }
}
