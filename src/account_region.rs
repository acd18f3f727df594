//! One account-region: its Tool client (with its own rate limit), its work queue
//! and its workers. Account-regions share nothing but the store, so a slow or
//! failing one never holds up another. (Policy settings have scopes of their own,
//! `control::Scope`; this is a place rel04d scans, named `<account>/<region>`.)

mod run;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::aws::ScopeSpec;
use crate::queue::{Done, Job, WorkQueue};
use crate::reconcile::{Reconciled, Reconciler, ScopeRef};
use crate::shutdown::CancellationToken;
use crate::store::Store;
use crate::wellarchitected::WellArchitected;
pub use run::ScopeRunner;

/// How often a changed learned rate is written, at most (and at each sweep's end).
const SAVE_RATE_EVERY: Duration = Duration::from_secs(5);

pub struct AccountRegion {
    pub spec: ScopeSpec,
    pub wa: WellArchitected,
    pub queue: WorkQueue<Reconciled>,
    /// Workers evaluating in parallel (`aws.max_concurrency`).
    pub concurrency: usize,
    /// The learned rate last written to the store, to skip unchanged writes.
    saved_rate: Mutex<Option<f64>>,
}

impl AccountRegion {
    pub fn new(spec: ScopeSpec, wa: WellArchitected, concurrency: usize) -> Self {
        AccountRegion {
            spec,
            wa,
            queue: WorkQueue::new(),
            concurrency: concurrency.max(1),
            saved_rate: Mutex::new(None),
        }
    }

    /// Writes the rate this scope learned, when it changed by more than 1 %
    /// since the last write (a fixed rate learns nothing and writes nothing).
    pub async fn save_learned_rate(&self, store: &Store) -> anyhow::Result<()> {
        let Some(learned) = self.wa.limiter().learned() else {
            return Ok(());
        };
        let saved = *self.saved_rate.lock().unwrap();
        if saved.is_some_and(|saved| (learned - saved).abs() <= saved * 0.01) {
            return Ok(());
        }
        store
            .save_learned_rate(self.spec.account_label(), &self.spec.region, learned)
            .await?;
        *self.saved_rate.lock().unwrap() = Some(learned);
        Ok(())
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
            // Boxed: an evaluation's future is ~11 KiB (the SDK calls, the store's
            // transaction), and every scope keeps `max_concurrency` workers. Inline,
            // 100 idle scopes of 32 workers held 37 MiB; boxed, only evaluations in
            // flight hold it.
            let workload_id = job.workload_id().to_owned();
            let evaluation = Box::pin(reconciler.reconcile(&scope, job));
            let result = evaluation.await.map_err(|error| {
                tracing::error!(scope = %self.spec.key, workload_id, error = format!("{error:#}"), "evaluation not recorded");
                format!("{error:#}")
            });
            self.queue.complete(&workload_id, result);
        }
    }
}

/// Writes every scope's learned rate every [`SAVE_RATE_EVERY`] while it changes,
/// so a replica that starts mid-sweep, or a restart after a crash, resumes close
/// to it. Failures are logged: the rate is relearned, nothing is lost.
pub async fn save_learned_rates(
    store: Store,
    scopes: Vec<Arc<AccountRegion>>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SAVE_RATE_EVERY) => {}
            _ = shutdown.cancelled() => return,
        }
        for scope in &scopes {
            if let Err(error) = scope.save_learned_rate(&store).await {
                tracing::warn!(
                    scope = scope.key(),
                    error = format!("{error:#}"),
                    "cannot save the learned request rate"
                );
            }
        }
    }
}
