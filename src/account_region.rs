//! One account-region: its Tool client (with its own rate limit), its work queue
//! and its workers. Account-regions share nothing but the store, so a slow or
//! failing one never holds up another. (Policy settings have scopes of their own,
//! `control::Scope`; this is a place rel04d scans, named `<account>/<region>`.)

mod run;

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::aws::ScopeSpec;
use crate::queue::{Done, Job, WorkQueue};
use crate::reconcile::{Reconciled, Reconciler, ScopeRef};
use crate::wellarchitected::WellArchitected;
pub use run::ScopeRunner;

pub struct AccountRegion {
    pub spec: ScopeSpec,
    pub wa: WellArchitected,
    pub queue: WorkQueue<Reconciled>,
    /// Workers evaluating in parallel (`aws.max_concurrency`).
    pub concurrency: usize,
}

impl AccountRegion {
    pub fn new(spec: ScopeSpec, wa: WellArchitected, concurrency: usize) -> Self {
        AccountRegion {
            spec,
            wa,
            queue: WorkQueue::new(),
            concurrency: concurrency.max(1),
        }
    }

    pub fn key(&self) -> &str {
        &self.spec.key
    }

    /// Requests an evaluation; resolves when it is recorded.
    pub fn submit(&self, job: Job) -> oneshot::Receiver<Done<Reconciled>> {
        self.queue.push(job)
    }

    /// Starts the workers; they stop once the queue is closed and their current
    /// evaluation is recorded.
    pub fn spawn_workers(self: &Arc<Self>, reconciler: Arc<Reconciler>) -> Vec<JoinHandle<()>> {
        (0..self.concurrency)
            .map(|_| {
                let scope = self.clone();
                let reconciler = reconciler.clone();
                tokio::spawn(async move { scope.work(&reconciler).await })
            })
            .collect()
    }

    async fn work(&self, reconciler: &Reconciler) {
        let scope = ScopeRef {
            key: &self.spec.key,
            wa: &self.wa,
        };
        while let Some(job) = self.queue.pop().await {
            let result = reconciler.reconcile(&scope, &job).await.map_err(|error| {
                tracing::error!(scope = %self.spec.key, workload_id = job.workload_id(), error = format!("{error:#}"), "evaluation not recorded");
                format!("{error:#}")
            });
            self.queue.complete(job.workload_id(), result);
        }
    }
}
