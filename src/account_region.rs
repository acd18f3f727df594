//! One account-region: its Tool client (with its own rate limit), its work queue
//! and its workers. Account-regions share nothing but the store, so a slow or
//! failing one never holds up another. (Policy settings have scopes of their own,
//! `control::Scope`; this is a place rel04d scans, named `<account>/<region>`.)

mod run;
pub mod workers;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

use aws_config::SdkConfig;

use crate::aws::{self, ScopeSpec};
use crate::config::{RequestRate, Settings};
use crate::metrics::Metrics;
use crate::queue::{Done, Job, WorkQueue};
use crate::reconcile::{Reconciled, Reconciler, ScopeRef};
use crate::shutdown::CancellationToken;
use crate::store::Store;
use crate::wellarchitected::{self, RateLimiter, WellArchitected};
pub use run::ScopeRunner;

/// How often a changed learned rate is written, at most (and at each sweep's end).
const SAVE_RATE_EVERY: Duration = Duration::from_secs(5);

pub struct AccountRegion {
    pub spec: ScopeSpec,
    /// The scope's SDK configuration (region, credentials: one assumed-role
    /// session), for every client of the scope, not only the Tool's.
    pub sdk: SdkConfig,
    pub wa: WellArchitected,
    pub queue: Arc<WorkQueue<Reconciled>>,
    /// Workers evaluating in parallel at most (`aws.max_concurrency`).
    pub concurrency: usize,
    /// The process's evaluations started, shared by every scope (see
    /// [`workers::STARTED_EVALUATIONS`]).
    started: Arc<Semaphore>,
    /// The learned rate last written to the store, to skip unchanged writes.
    saved_rate: Mutex<Option<f64>>,
}

impl AccountRegion {
    /// `started` is shared by every scope of the process: see
    /// [`workers::STARTED_EVALUATIONS`].
    pub fn new(
        spec: ScopeSpec,
        sdk: SdkConfig,
        wa: WellArchitected,
        concurrency: usize,
        started: Arc<Semaphore>,
    ) -> Self {
        AccountRegion {
            spec,
            sdk,
            wa,
            queue: Arc::new(WorkQueue::new()),
            concurrency: concurrency.max(1),
            started,
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

    /// Starts the scope's workers, on demand (see [`workers`]): at most
    /// [`Self::started_limit`] of them, each evaluation holding one of the
    /// process's [`workers::STARTED_EVALUATIONS`]. An idle scope (most of a
    /// thousand between sweeps) keeps one task. The returned task ends once the
    /// queue is closed and every worker has recorded its evaluation. A worker
    /// whose evaluation panics is replaced: the panic is one workload's bug, so
    /// that workload's requesters get an error and it is evaluated again on its
    /// next trigger, while the scope keeps all its workers.
    pub fn spawn_workers(self: &Arc<Self>, reconciler: Arc<Reconciler>) -> JoinHandle<()> {
        let (limited, evaluating) = (self.clone(), self.clone());
        workers::spawn(
            format!("worker of {}", self.key()),
            self.queue.clone(),
            self.started.clone(),
            move || limited.started_limit(),
            move |job| {
                let (scope, reconciler) = (evaluating.clone(), reconciler.clone());
                async move { scope.evaluate(&reconciler, job).await }
            },
        )
    }

    /// Evaluations this scope starts at once now, from its rate and its calls'
    /// latency (see [`workers::started_limit`]).
    pub fn started_limit(&self) -> usize {
        workers::started_limit(
            self.wa.limiter().rate(),
            self.wa.latency(),
            self.concurrency,
        )
    }

    async fn evaluate(&self, reconciler: &Reconciler, job: Job) -> Done<Reconciled> {
        let scope = ScopeRef {
            key: &self.spec.key,
            wa: &self.wa,
        };
        let workload_id = job.workload_id().to_owned();
        // Boxed: an evaluation's future is ~5 KiB (the SDK calls, the store's
        // transaction), and only evaluations in flight need it.
        let evaluation = Box::pin(reconciler.reconcile(&scope, job));
        evaluation.await.map_err(|error| {
            let error = crate::display::chain(&error).to_string();
            tracing::error!(scope = %self.spec.key, workload_id, error, "evaluation not recorded");
            error
        })
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
                    error = crate::display::chain(&error).to_string(),
                    "cannot save the learned request rate"
                );
            }
        }
    }
}

/// One [`AccountRegion`] per configured (or discovered, `[aws.organization]`)
/// account-region, each with its Tool client and rate limit (resuming a learned rate from `store`, which is only
/// read). The daemon builds its scopes with it, and so does `enforce --plan`,
/// which reads the Tool but runs nothing else of the daemon.
pub async fn configured(
    settings: &Settings,
    setup: &aws::AwsSetup,
    store: &Store,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Vec<Arc<AccountRegion>>> {
    configured_with(settings, setup, store, metrics, None).await
}

/// [`configured`], with the organisation's accounts when already listed
/// (`discovered`; `None` lists them now).
pub async fn configured_with(
    settings: &Settings,
    setup: &aws::AwsSetup,
    store: &Store,
    metrics: &Arc<Metrics>,
    discovered: Option<std::collections::BTreeSet<String>>,
) -> anyhow::Result<Vec<Arc<AccountRegion>>> {
    let discovered = match discovered {
        Some(accounts) => accounts,
        None => crate::organization::discover::accounts(&settings.aws, setup).await?,
    };
    let specs = aws::scope_specs(
        &settings.aws,
        setup.sdk.region().map(|r| r.as_ref()),
        &discovered,
    )?;
    let mut scopes = Vec::new();
    let in_flight = Arc::new(Semaphore::new(wellarchitected::CALLS_IN_FLIGHT));
    let started = Arc::new(Semaphore::new(workers::STARTED_EVALUATIONS));
    for spec in specs {
        let config = setup.scope_config(&spec).await;
        let limiter = rate_limiter(&settings.aws, store, &spec).await;
        let wa = WellArchitected::new(
            setup.wellarchitected(&config),
            limiter,
            in_flight.clone(),
            settings.aws.max_attempts,
            metrics.clone(),
        );
        scopes.push(Arc::new(AccountRegion::new(
            spec,
            config,
            wa,
            settings.aws.max_concurrency,
            started.clone(),
        )));
    }
    Ok(scopes)
}

/// The rate limit of one account-region: fixed, or adaptive resuming from the
/// rate it learned before (by this replica or another). An unreadable learned
/// rate only means learning again.
async fn rate_limiter(
    aws: &crate::config::AwsSettings,
    store: &Store,
    spec: &aws::ScopeSpec,
) -> RateLimiter {
    let learned = match aws.max_requests_per_second {
        RequestRate::Fixed(_) => None,
        RequestRate::Auto => {
            store
                .learned_rate(spec.account_label(), &spec.region)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(scope = %spec.key, error = crate::display::chain(&error).to_string(), "cannot read the learned request rate; learning it again");
                    None
                })
        }
    };
    RateLimiter::from_settings(
        aws.max_requests_per_second,
        aws.max_requests_per_second_ceiling,
        learned,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An evaluation that panics: its requesters get an error, its worker is
    /// replaced and keeps serving, and the workload's next trigger evaluates it.
    #[tokio::test(start_paused = true)]
    async fn a_worker_whose_evaluation_panics_is_replaced_and_the_workload_runs_again() {
        use crate::queue::{ABANDONED, Job, Target, WorkQueue};
        use crate::workload::Trigger;
        use std::sync::atomic::{AtomicU32, Ordering};

        let job = |id: &str| Job {
            target: Target::Id(id.to_owned()),
            trigger: Trigger::Manual,
        };
        let queue = Arc::new(WorkQueue::<u32>::new());
        let evaluations = Arc::new(AtomicU32::new(0));
        // One worker, so the later jobs prove it was replaced.
        let worker = {
            let (queue, evaluations) = (queue.clone(), evaluations.clone());
            tokio::spawn(async move {
                crate::shutdown::replace_on_panic("worker", || {
                    queue.serve(|job| {
                        let n = evaluations.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if n == 0 {
                                panic!("evaluation bug on {}", job.workload_id());
                            }
                            Ok(n)
                        }
                    })
                })
                .await
            })
        };
        // On the paused clock a request never answered fails at once.
        let answer = |rx: oneshot::Receiver<Done<u32>>| async move {
            tokio::time::timeout(Duration::from_secs(60), rx)
                .await
                .expect("the requester was never answered")
                .unwrap()
        };
        let first = queue.push(job("w1"));
        let other = queue.push(job("w2"));
        assert_eq!(answer(first).await, Err(ABANDONED.to_owned()));
        assert_eq!(answer(other).await, Ok(1), "the replacement serves");
        assert_eq!(answer(queue.push(job("w1"))).await, Ok(2), "not stuck");
        queue.close();
        worker.await.unwrap();
    }
}
