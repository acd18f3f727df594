//! One shutdown for the whole daemon, and supervision of its long-running tasks.
//!
//! Every task gets the same [`CancellationToken`] and is spawned on one
//! [`TaskTracker`]: a stop signal cancels the token, and completion is the
//! tracker emptying (as mini-redis sees completion by dropping senders). A task
//! that ends while the token is not cancelled has died: the supervisor records
//! which one, and cancels everything, so the process exits non-zero and its
//! supervisor (ECS, systemd, Kubernetes) restarts it instead of leaving a daemon
//! running half-alive.
//!
//! Evaluation workers are the exception ([`replace_on_panic`]): a panic there is
//! one workload's bug, so the worker is replaced and the daemon keeps serving.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long in-flight work may take to finish after the stop signal: one
/// deadline for everything (evaluations being recorded, messages being handled,
/// notifications being sent).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The daemon's tasks, their shared token, and the first one that died.
#[derive(Clone, Default)]
pub struct Supervisor {
    token: CancellationToken,
    tracker: TaskTracker,
    died: Arc<Mutex<Option<String>>>,
}

impl Supervisor {
    pub fn new() -> Supervisor {
        Supervisor::default()
    }

    /// The token every task watches.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Runs `task` until it ends; ending before shutdown is a death.
    pub fn spawn<F>(&self, name: impl Into<String>, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        let (token, died) = (self.token.clone(), self.died.clone());
        self.tracker.spawn(async move {
            task.await;
            if !token.is_cancelled() {
                tracing::error!(task = %name, "a daemon task ended unexpectedly; stopping");
                died.lock().unwrap().get_or_insert(name);
                token.cancel();
            }
        });
    }

    /// Which task died, if one did.
    pub fn died(&self) -> Option<String> {
        self.died.lock().unwrap().clone()
    }

    /// Resolves when shutdown has begun (a stop signal or a death).
    pub async fn cancelled(&self) {
        self.token.cancelled().await
    }

    /// Begins shutdown: every task sees the token cancelled.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Cancels every task and waits, up to [`DRAIN_TIMEOUT`], for all of them;
    /// false when some were still running at the deadline.
    pub async fn shut_down(&self) -> bool {
        self.token.cancel();
        self.tracker.close();
        tokio::time::timeout(DRAIN_TIMEOUT, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// How long a replaced task waits before its successor starts, so a task that
/// panics at once every time cannot spin a core.
const REPLACE_AFTER: Duration = Duration::from_millis(100);

/// Runs the task `start` makes until it returns; one that panics is logged and
/// replaced by a fresh one. For tasks whose panic is one job's failure, not the
/// daemon's (an evaluation worker): unlike [`Supervisor::spawn`], which stops
/// everything when a daemon task dies, this keeps the work served.
pub async fn replace_on_panic<F, Fut>(name: &str, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt;
    loop {
        match std::panic::AssertUnwindSafe(start()).catch_unwind().await {
            Ok(()) => return,
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(task = %name, panic = %message, "a task panicked; replacing it");
                tokio::time::sleep(REPLACE_AFTER).await;
            }
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_before_shutdown_stops_everything_and_is_named() {
        let supervisor = Supervisor::new();
        let token = supervisor.token();
        supervisor.spawn("steady", async move { token.cancelled().await });
        supervisor.spawn("fragile", async {
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        supervisor.cancelled().await;
        assert_eq!(supervisor.died().as_deref(), Some("fragile"));
        assert!(supervisor.shut_down().await);
    }

    #[tokio::test(start_paused = true)]
    async fn tasks_ending_at_shutdown_are_not_deaths() {
        let supervisor = Supervisor::new();
        for name in ["a", "b"] {
            let token = supervisor.token();
            supervisor.spawn(name, async move { token.cancelled().await });
        }
        assert!(supervisor.shut_down().await);
        assert_eq!(supervisor.died(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ignores_shutdown_is_abandoned_at_the_deadline() {
        let supervisor = Supervisor::new();
        supervisor.spawn("stubborn", std::future::pending());
        assert!(!supervisor.shut_down().await);
    }
}
