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

pub struct EventHandler {
    store: Store,
    scopes: Vec<Arc<Scope>>,
    tags_enabled: bool,
    metrics: Arc<Metrics>,
}

impl EventHandler {
    pub fn new(
        store: Store,
        scopes: Vec<Arc<Scope>>,
        tags_enabled: bool,
        metrics: Arc<Metrics>,
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
        }
    }

    /// Handles one event body. An error means "try again later" (the evaluation
    /// could not be recorded); the event must not be acknowledged.
    pub async fn handle(&self, intake: &str, body: &str) -> anyhow::Result<Handled> {
        let result = self.handle_inner(body).await;
        let outcome = result.as_ref().map_or("failed", Handled::outcome);
        self.metrics.inc(
            "rel04d_events_total",
            &[("intake", intake), ("outcome", outcome)],
        );
        result
    }

    async fn handle_inner(&self, body: &str) -> anyhow::Result<Handled> {
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
        let reconciled = done
            .await
            .map_err(|_| anyhow::anyhow!("the evaluation was abandoned"))?
            .map_err(|e| anyhow::anyhow!("the evaluation was not recorded: {e}"))?;
        // Another replica's evaluation may have read the answer before this
        // change: try again later rather than trust it.
        if matches!(reconciled, Reconciled::Busy | Reconciled::Superseded) {
            anyhow::bail!(
                "another replica is evaluating workload {}; retrying",
                event.workload_id
            );
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
