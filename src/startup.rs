//! Wiring: builds the daemon from settings and runs it until told to stop.
//!
//! Each part gets only what it uses: the scheduler a [`Sweeper`], HTTP an
//! [`HttpState`] with a [`Status`], intake an [`EventHandler`]. Every
//! long-running task runs under one [`Supervisor`]: the stop signal cancels its
//! token, the work queues close, workers finish the evaluation they are
//! recording, and `run` returns; a task that dies stops everything and `run`
//! returns its name as an error, so the process exits non-zero.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use futures::future::join_all;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::account_region::{self, AccountRegion};
use crate::aws;
use crate::config::Settings;
use crate::control::PolicySet;
use crate::events::EventHandler;
use crate::events::inbox::InboxProcessor;
use crate::events::sqs::SqsConsumer;
use crate::events::{EventOutcome, Intake};
use crate::http::{self, HttpState};
use crate::metrics::{KnownLabels, Metrics};
use crate::notify::Publisher;
use crate::notify::flapping::Flapping;
use crate::notify::windows::Clock;
use crate::queue::{Job, Target};
use crate::reconcile::{Reconciled, Reconciler, ScopeRef};
use crate::scheduler::{self, Sweeper};
use crate::securityhub::FindingPublisher;
use crate::securityhub::sdk::{ScopeClient, SdkImporter};
use crate::shutdown::{DRAIN_TIMEOUT, Supervisor};
use crate::status::Status;
use crate::store::{Backend, Store};
use crate::sweep::SweepReport;
use crate::workload::Trigger;

/// The assembled daemon: store, evaluator and one [`AccountRegion`] per account-region.
///
/// Only what callers observe is public (its settings, store, scopes, metrics
/// and policies); the evaluator, clients and sweeper are its own. Commands that
/// only read open the database themselves, read-only, and build no daemon.
pub struct Daemon {
    pub settings: Settings,
    pub store: Store,
    reconciler: Arc<Reconciler>,
    pub scopes: Vec<Arc<AccountRegion>>,
    pub metrics: Arc<Metrics>,
    aws: aws::AwsSetup,
    /// The validated policies, resolved by the evaluator, GraphQL and explain.
    pub policies: PolicySet,
    /// This process's name in claims shared with other replicas.
    replica_id: String,
    /// Sweeps scopes on schedule (and on demand, `sweep_all`).
    sweeper: Arc<Sweeper>,
    /// Security Hub clients, one per scope (none unless `[securityhub]` is enabled).
    securityhub: Arc<SdkImporter>,
    /// Set when `[aws.organization]` found the scopes changed and stopped the
    /// daemon to re-plan them (see [`Daemon::replan`]).
    replan: crate::organization::refresh::Replan,
}

impl Daemon {
    /// Connects to the database (applying migrations) and sets up every scope.
    /// `setup` replaces the SDK configuration loaded from the environment (tests,
    /// the demo); scopes still set their own region and credentials on top of it.
    pub async fn build(
        settings: Settings,
        setup: Option<aws::AwsSetup>,
    ) -> anyhow::Result<Arc<Daemon>> {
        Daemon::build_with(settings, setup, None).await
    }

    /// [`Daemon::build`], with the organisation's accounts when a refresh has
    /// just listed them (`discovered`, from [`Daemon::replan`]).
    pub async fn build_with(
        settings: Settings,
        setup: Option<aws::AwsSetup>,
        discovered: Option<std::collections::BTreeSet<String>>,
    ) -> anyhow::Result<Arc<Daemon>> {
        let store = Store::connect(settings.database_url(), settings.database.max_connections)
            .await?
            .with_outbox(settings.notify.event_bus.is_some())
            .with_findings(settings.securityhub.enabled);
        store.migrate().await?;
        let metrics = Arc::new(Metrics::new());
        let policies = settings.policy_set()?;
        for warning in policies.enforce_warnings() {
            tracing::warn!("{warning}");
        }
        let replica_id = replica_id();
        // SQLite is one node's database; on Postgres, replicas may share it, so
        // evaluations claim their control first.
        let claims = (store.backend() == Backend::Postgres).then(|| replica_id.clone());
        let reconciler = Arc::new(
            Reconciler::new(store.clone(), policies.clone(), metrics.clone(), claims)
                .with_controls(&settings.controls()?)
                .with_enforce_defer(settings.enforce.defer_after_human_change)
                .with_graphql_deadline(settings.http.request_timeout)
                .with_exception_expiry_warning(settings.notify.exception_expiry_warning),
        );
        let setup = match setup {
            Some(setup) => setup,
            None => aws::AwsSetup::from_env(&settings.aws).await,
        };
        let scopes =
            account_region::configured_with(&settings, &setup, &store, &metrics, discovered)
                .await?;
        // The scopes' own SDK configurations: one assumed-role session per
        // account-region, shared with the Tool's client.
        let securityhub: Vec<ScopeClient> = if settings.securityhub.enabled {
            scopes
                .iter()
                .map(|scope| ScopeClient {
                    account_id: scope.spec.account_id.clone(),
                    region: scope.spec.region.clone(),
                    client: setup.securityhub(&scope.sdk),
                })
                .collect()
        } else {
            Vec::new()
        };
        metrics.zero_known_series(&known_labels(&scopes));
        let sweeper = Arc::new(Sweeper {
            store: store.clone(),
            replica_id: replica_id.clone(),
            schedule: settings.schedule.clone(),
            metrics: metrics.clone(),
            budget: crate::sweep::SweepBudget::default(),
        });
        Ok(Arc::new(Daemon {
            settings,
            store,
            reconciler,
            scopes,
            metrics,
            aws: setup,
            policies,
            replica_id,
            sweeper,
            securityhub: Arc::new(SdkImporter {
                clients: securityhub,
            }),
            replan: Default::default(),
        }))
    }

    /// Every transition this daemon records, as it commits.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::store::TransitionRow> {
        self.reconciler.subscribe()
    }

    /// The organisation's accounts when `run_on` returned because they changed
    /// the scopes (`[aws.organization]`): the caller builds the daemon again with
    /// them ([`Daemon::build_with`]), which starts the new accounts' scopes and
    /// retires the departed ones' (see `retire_unconfigured_scopes`).
    pub fn replan(&self) -> Option<std::collections::BTreeSet<String>> {
        self.replan.lock().unwrap().clone()
    }

    /// Starts every scope's workers.
    pub fn start_workers(&self) -> Vec<JoinHandle<()>> {
        self.scopes
            .iter()
            .map(|scope| scope.spawn_workers(self.reconciler.clone()))
            .collect()
    }

    /// Closes the queues and waits (bounded) for workers to record what they hold.
    pub async fn stop_workers(&self, workers: Vec<JoinHandle<()>>) {
        for scope in &self.scopes {
            scope.queue.close();
        }
        if tokio::time::timeout(DRAIN_TIMEOUT, join_all(workers))
            .await
            .is_err()
        {
            tracing::warn!("in-flight evaluations did not finish in time; abandoning them");
        }
        // What the last evaluations noted, not to wait for the next batch.
        self.store.flush_logged().await;
    }

    /// Sweeps every scope concurrently, now (workers must be running).
    pub async fn sweep_all(&self) -> Vec<SweepReport> {
        join_all(
            self.scopes
                .iter()
                .map(|scope| scheduler::sweep_and_report(&self.sweeper, scope)),
        )
        .await
    }

    /// `rel04d run`: builds and runs the daemon on `http.listen` until `stop`
    /// resolves. When the organisation's accounts change (`[aws.organization]`),
    /// the daemon drains and is built again with the new scopes; the listening
    /// socket stays open throughout, so requests arriving meanwhile wait in its
    /// backlog instead of being refused.
    pub async fn run(settings: Settings, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
        let listen = settings.http.listen;
        let socket = http::listen(listen)
            .with_context(|| format!("cannot listen on http.listen {listen}"))?
            .into_std()?;
        let mut stop = std::pin::pin!(stop);
        let mut discovered = None;
        loop {
            let daemon = Daemon::build_with(settings.clone(), None, discovered).await?;
            let listener = TcpListener::from_std(socket.try_clone()?)?;
            daemon.clone().run_on(listener, stop.as_mut()).await?;
            discovered = daemon.replan();
            if discovered.is_none() {
                return Ok(());
            }
        }
    }

    /// Runs the daemon until `stop` resolves: sweeps at a constant rate, event
    /// intake, notifications, and HTTP on `listener`. Returns an error when a task
    /// died (the process then exits non-zero).
    pub async fn run_on(
        self: Arc<Self>,
        listener: TcpListener,
        stop: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        self.retire_unconfigured_scopes().await?;
        let supervisor = Supervisor::new();
        let workers = self.start_workers();
        // One schedule per scope: a slow or failing account-region never delays another.
        for scope in &self.scopes {
            supervisor.spawn(
                format!("schedule of {}", scope.key()),
                scheduler::schedule(self.sweeper.clone(), scope.clone(), supervisor.token()),
            );
        }
        self.spawn_event_intake(&supervisor, listener);
        if self.settings.aws.organization.is_some() {
            supervisor.spawn(
                "organization refresh",
                crate::organization::refresh::watch(
                    self.settings.aws.clone(),
                    self.aws.clone(),
                    self.scopes.iter().map(|s| s.key().to_owned()).collect(),
                    self.replan.clone(),
                    supervisor.token(),
                ),
            );
        }
        supervisor.spawn(
            "evaluation-time batches",
            self.store
                .clone()
                .flush_evaluated_every_second(supervisor.token()),
        );
        supervisor.spawn(
            "housekeeping",
            scheduler::housekeeping(self.store.clone(), supervisor.token()),
        );
        supervisor.spawn(
            "learned rate keeper",
            account_region::save_learned_rates(
                self.store.clone(),
                self.scopes.clone(),
                supervisor.token(),
            ),
        );
        if let Some(publisher) = self.publisher() {
            supervisor.spawn(
                "notification publisher",
                publisher.run(self.reconciler.subscribe(), supervisor.token()),
            );
        }
        if let Some(findings) = self.finding_publisher() {
            supervisor.spawn(
                "Security Hub findings",
                findings.run(self.reconciler.subscribe(), supervisor.token()),
            );
        }
        tracing::info!(
            scopes = self.scopes.len(),
            interval = %humantime::format_duration(self.settings.schedule.interval),
            replica = %self.replica_id,
            "rel04d running"
        );
        tokio::select! {
            _ = stop => tracing::info!("stop signal received; shutting down"),
            _ = supervisor.cancelled() => {}
        }
        // Cancel first, so work abandoned from here on counts as deferred by the
        // shutdown rather than failed; then close the queues and drain.
        supervisor.cancel();
        let (_, drained) = tokio::join!(self.stop_workers(workers), supervisor.shut_down());
        if !drained {
            tracing::warn!("some tasks did not finish within {DRAIN_TIMEOUT:?}; abandoning them");
        }
        self.release_leases().await;
        if let Some(task) = supervisor.died() {
            anyhow::bail!("the {task} task ended unexpectedly");
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Hands this replica's sweep leases and claims back, so the next start (or
    /// another replica) sweeps at once instead of after they expire.
    async fn release_leases(&self) {
        if let Err(error) = self.store.release_all(&self.replica_id).await {
            tracing::warn!(
                error = crate::display::chain(&error).to_string(),
                "cannot release leases; they expire by themselves"
            );
        }
    }

    /// Starts the HTTP listener, the SQS consumer and the inbox processor (the
    /// latter two only when configured).
    fn spawn_event_intake(&self, supervisor: &Supervisor, listener: TcpListener) {
        let handler = Arc::new(
            EventHandler::new(
                self.store.clone(),
                self.scopes.clone(),
                self.settings.policies.tags.enabled,
                self.metrics.clone(),
                supervisor.token(),
            )
            // Checked when the daemon was built (its policies are checked against it).
            .with_controls(&self.settings.controls().unwrap_or_default()),
        );
        let inbox_wake = Arc::new(Notify::new());
        let pushed = Arc::new(crate::events::push::PushedEvents::new(
            self.store.clone(),
            inbox_wake.clone(),
        ));
        let status = Status::new(
            self.store.clone(),
            self.scopes.clone(),
            self.metrics.clone(),
            self.settings.schedule.clone(),
            supervisor.clone(),
        );
        let (web, watcher) = http::web::Web::new(
            self.store.clone(),
            self.policies.clone(),
            self.scopes.iter().map(|s| s.key().to_owned()).collect(),
            &self.reconciler,
            &self.settings.http,
            self.settings.database.max_connections,
            supervisor.token(),
        );
        supervisor.spawn("status page watcher", watcher);
        let state = HttpState {
            settings: Arc::new(self.settings.http.clone()),
            store: self.store.clone(),
            status: Arc::new(status),
            graphql: crate::graphql::schema_with_runner(
                self.store.clone(),
                self.policies.clone(),
                self.reconciler.controls(),
                Some(Arc::new(crate::account_region::ScopeRunner(
                    self.scopes.clone(),
                ))),
            ),
            events_token: self.settings.http.events_token.clone(),
            pushed: pushed.clone(),
            events: handler.clone(),
            web,
        };
        let address = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let token = supervisor.token();
        supervisor.spawn("HTTP server", async move {
            tracing::info!(%address, "HTTP listening");
            if let Err(error) = http::serve(listener, state, token).await {
                tracing::error!(%error, "HTTP server failed");
            }
        });
        if self.settings.http.events_token.is_some() {
            let inbox = InboxProcessor {
                store: self.store.clone(),
                handler: handler.clone(),
                wake: inbox_wake,
                learnt: pushed.learnt(),
            };
            supervisor.spawn("event inbox", inbox.run(supervisor.token()));
        }
        if let Some(queue_url) = &self.settings.events.sqs.queue_url {
            let consumer = Arc::new(SqsConsumer {
                client: self.aws.sqs(),
                queue_url: queue_url.clone(),
                handler,
                wait: self.settings.events.sqs.wait_time,
                call_timeout: self.settings.aws.call_timeout,
            });
            supervisor.spawn("SQS consumer", consumer.run(supervisor.token()));
        }
    }

    /// One full sweep with workers, then stop: `rel04d run --once`.
    pub async fn run_once(&self) -> Vec<SweepReport> {
        let workers = self.start_workers();
        let reports = self.sweep_all().await;
        self.stop_workers(workers).await;
        self.drain_outbox().await;
        self.release_leases().await;
        reports
    }

    /// Controls of account-regions no longer configured (nor discovered in the
    /// organisation) would otherwise keep their last state forever: they are
    /// marked removed, with a transition, when the daemon starts (and come back
    /// from `tbd` if the scope is configured again). Their rows and history stay.
    async fn retire_unconfigured_scopes(&self) -> anyhow::Result<()> {
        let keys: Vec<&str> = self.scopes.iter().map(|s| s.key()).collect();
        let stale = self.store.controls_outside(&keys).await?;
        for control in &stale {
            let reason = if self.settings.aws.organization.is_some() {
                format!(
                    "Its account-region ({}) is no longer configured nor selected in the organization",
                    control.scanned_by
                )
            } else {
                format!(
                    "Its account-region ({}) is no longer configured",
                    control.scanned_by
                )
            };
            self.reconciler
                .retire(control, &reason, &Trigger::Sweep)
                .await?;
        }
        if !stale.is_empty() {
            tracing::info!(
                removed = stale.len(),
                "removed controls of account-regions no longer configured"
            );
        }
        Ok(())
    }

    /// The outbox publisher, when notifications are on.
    pub fn publisher(&self) -> Option<Publisher> {
        let event_bus = self.settings.notify.event_bus.as_ref()?;
        Some(Publisher {
            store: self.store.clone(),
            client: self.aws.eventbridge(),
            event_bus: event_bus.clone(),
            source: self.settings.notify.source.clone(),
            owner: self.replica_id.clone(),
            metrics: self.metrics.clone(),
            settle: self.settings.notify.settle,
            flapping: Flapping {
                transitions: self.settings.notify.flapping_transitions,
                window: self.settings.notify.flapping_window,
            },
            clock: Clock::default(),
            windows: Default::default(),
        })
    }

    /// The Security Hub finding publisher, when `[securityhub]` is enabled.
    fn finding_publisher(&self) -> Option<FindingPublisher<Arc<SdkImporter>>> {
        self.settings.securityhub.enabled.then(|| FindingPublisher {
            store: self.store.clone(),
            importer: self.securityhub.clone(),
            settings: self.settings.securityhub.clone(),
            policies: self.policies.clone(),
            owner: self.replica_id.clone(),
            metrics: self.metrics.clone(),
        })
    }

    /// For one-shot commands (`run --once`, `evaluate`): publishes what they
    /// recorded before exiting, notifications and findings, for at most
    /// `DRAIN_TIMEOUT` each. What is left stays queued for the daemon (or the
    /// next run) to send.
    pub async fn drain_outbox(&self) {
        if let Some(publisher) = self.publisher() {
            drain("notifications", || publisher.publish_batch()).await;
        }
        if let Some(findings) = self.finding_publisher() {
            drain("Security Hub findings", || findings.publish_due()).await;
        }
    }

    /// Evaluates one workload now (`rel04d evaluate`), in the scope that knows it.
    pub async fn evaluate(&self, workload_id: &str) -> anyhow::Result<Reconciled> {
        let known = self.store.control_by_workload_id(workload_id).await?;
        let scope = match known
            .as_ref()
            .and_then(|c| self.scopes.iter().find(|s| s.key() == c.scanned_by))
        {
            Some(scope) => scope.clone(),
            None => self.find_scope(workload_id).await?,
        };
        let job = Job {
            target: Target::Id(workload_id.to_owned()),
            trigger: Trigger::Manual,
        };
        let scope_ref = ScopeRef {
            key: scope.key(),
            wa: &scope.wa,
        };
        self.reconciler.reconcile(&scope_ref, job).await
    }

    async fn find_scope(&self, workload_id: &str) -> anyhow::Result<Arc<AccountRegion>> {
        let mut errors = Vec::new();
        for scope in &self.scopes {
            match scope.wa.describe_workload(workload_id).await {
                Ok(_) => return Ok(scope.clone()),
                Err(error) => errors.push(format!("{}: {error}", scope.key())),
            }
        }
        anyhow::bail!(
            "workload {workload_id} not found in any scope ({})",
            errors.join("; ")
        )
    }
}

/// Runs `step` until it finds nothing to do, fails, or `DRAIN_TIMEOUT` passes.
async fn drain<F, Fut>(what: &str, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        loop {
            match step().await {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        error = crate::display::chain(&error).to_string(),
                        "{what} left queued"
                    );
                    return;
                }
            }
        }
    });
    if drained.await.is_err() {
        tracing::warn!("{what} left queued after {DRAIN_TIMEOUT:?}");
    }
}

/// This daemon's name in leases and claims: host and pid, unique among the
/// processes alive at one time, and the same again when a container restarts
/// (same host name, pid 1) — so a restart after a crash takes over its own
/// leases at once rather than waiting for them to expire. Further daemons in the
/// same process (tests, benchmarks) get a counter.
fn replica_id() -> String {
    static BUILT: AtomicU32 = AtomicU32::new(0);
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty())
        .unwrap_or_else(|| "rel04d".to_owned());
    let pid = std::process::id();
    match BUILT.fetch_add(1, Ordering::Relaxed) {
        0 => format!("{host}-{pid}"),
        n => format!("{host}-{pid}-{}", n + 1),
    }
}

/// Every label value known before the daemon does anything, for the series
/// `/metrics` shows at zero from the start.
fn known_labels(scopes: &[Arc<AccountRegion>]) -> KnownLabels {
    use crate::wellarchitected::{ErrorKind, Operation};
    KnownLabels {
        operations: Operation::ALL.map(Operation::as_str).to_vec(),
        error_kinds: ErrorKind::ALL.map(ErrorKind::as_str).to_vec(),
        retried_kinds: ErrorKind::ALL
            .into_iter()
            .filter(|kind| kind.is_transient())
            .map(ErrorKind::as_str)
            .collect(),
        intakes: Intake::ALL.map(Intake::as_str).to_vec(),
        event_outcomes: EventOutcome::ALL.map(EventOutcome::as_str).to_vec(),
        triggers: Trigger::kinds().to_vec(),
        scopes: scopes.iter().map(|scope| scope.key().to_owned()).collect(),
    }
}
