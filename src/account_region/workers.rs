//! A scope's workers, started on demand and bounded twice: by what its rate
//! can serve soon ([`started_limit`]) and by the evaluations the whole process
//! has started ([`STARTED_EVALUATIONS`]).
//!
//! What costs memory while a fleet sweeps is a started evaluation: its boxed
//! future (~5 KiB, its rare paths and writes boxed apart) and what it has
//! read, held while it waits for its scope's next rate slot. A job still
//! queued is its workload and control as listed (~1 KiB). A thousand scopes
//! limited to 10 calls/s each started up to 32 evaluations (the budget's
//! 4,096 units filled with ~4,070 of them, most waiting seconds for their
//! slot); now a scope starts about what its rate serves in [`START_WINDOW`]
//! plus a call's latency, and the process at most [`STARTED_EVALUATIONS`],
//! taken in turn (first come, first served) per evaluation, so the rest wait
//! as queued jobs and no scope starves another.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::queue::{self, Done, Job, WorkQueue};

/// Evaluations started at once across every scope of this process (each
/// ~5 KiB and what it read). With each scope's evaluations waiting at most
/// about [`START_WINDOW`] for their slot, 512 start ~2,500 evaluations a
/// second, more than two cores evaluate, and the calls they make go out 128 at
/// a time anyway (`wellarchitected::CALLS_IN_FLIGHT`). 256 measured a tenth
/// of a fleet's calls throttled (BENCHMARKS.md, "Fleet").
pub const STARTED_EVALUATIONS: usize = 512;

/// How long of its rate a scope's started evaluations may wait for their
/// slots, beyond a call's latency.
pub const START_WINDOW: Duration = Duration::from_millis(200);

/// Evaluations a scope calling at `rate` per second, with calls taking
/// `latency`, starts at once: what it serves in [`START_WINDOW`] plus a call,
/// at least one, at most `concurrency` (`aws.max_concurrency`). Counting the
/// latency keeps a far region's calls waiting for their slots, which is what
/// lets an adaptive rate grow: fewer evaluations than its rate times its
/// latency would leave the rate unused and unlearned.
pub fn started_limit(rate: f64, latency: Duration, concurrency: usize) -> usize {
    let wanted = rate * (START_WINDOW + latency).as_secs_f64();
    if wanted.is_nan() {
        return 1;
    }
    (wanted.ceil().min(concurrency as f64) as usize).clamp(1, concurrency.max(1))
}

/// The workers of one queue: how many run, and a wake-up for the task that
/// starts them when one stops or finishes a job (its limit may have risen).
#[derive(Default)]
struct Running {
    count: AtomicUsize,
    changed: Notify,
}

/// Serves `queue` with workers started on demand: one task waits for queued
/// work and starts a worker for it while fewer than `limit()` run (read again
/// whenever a worker finishes a job). Each evaluation holds one of `started`
/// from before it takes its job until it ends; a worker stops when the queue
/// is empty or it is over the limit. A worker whose evaluation panics is
/// replaced (see [`crate::shutdown::replace_on_panic`]). The returned task ends
/// once the queue is closed and every worker has recorded its evaluation.
pub fn spawn<T, L, E, Fut>(
    name: String,
    queue: Arc<WorkQueue<T>>,
    started: Arc<Semaphore>,
    limit: L,
    evaluate: E,
) -> JoinHandle<()>
where
    T: Clone + Send + 'static,
    L: Fn() -> usize + Send + Sync + 'static,
    E: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Done<T>> + Send,
{
    let worker = Arc::new(Worker {
        name,
        queue,
        started,
        limit,
        evaluate,
        running: Running::default(),
    });
    tokio::spawn(async move {
        loop {
            worker
                .wait_until(|running| running < (worker.limit)())
                .await;
            let Some((job, claim)) = worker.queue.pop().await else {
                break;
            };
            worker.running.count.fetch_add(1, Ordering::SeqCst);
            let first = std::sync::Mutex::new(Some((job, claim.hand_over())));
            let worker = worker.clone();
            tokio::spawn(async move {
                crate::shutdown::replace_on_panic(&worker.name, || async {
                    let first = first.lock().unwrap().take();
                    let first = first.map(|(job, claim)| (job, worker.queue.resume(claim)));
                    worker.work(first).await
                })
                .await;
                worker.running.count.fetch_sub(1, Ordering::SeqCst);
                worker.running.changed.notify_one();
            });
        }
        // Closed: wait for the workers still recording what they hold.
        worker.wait_until(|running| running == 0).await;
    })
}

struct Worker<T, L, E> {
    name: String,
    queue: Arc<WorkQueue<T>>,
    started: Arc<Semaphore>,
    limit: L,
    evaluate: E,
    running: Running,
}

impl<T, L, E, Fut> Worker<T, L, E>
where
    T: Clone,
    L: Fn() -> usize,
    E: Fn(Job) -> Fut,
    Fut: Future<Output = Done<T>>,
{
    /// Waits until `ready` holds of the workers running, checking again
    /// whenever one finishes a job or stops.
    async fn wait_until(&self, ready: impl Fn(usize) -> bool) {
        loop {
            let changed = self.running.changed.notified();
            if ready(self.running.count.load(Ordering::SeqCst)) {
                return;
            }
            changed.await;
        }
    }

    /// Evaluates `first` (the job this worker was started for), then queued
    /// jobs one after another until there is none, or this worker is one too
    /// many for its scope's rate now.
    async fn work(&self, mut first: Option<(Job, queue::Running<'_, T>)>) {
        loop {
            // The rate fell: stop between jobs. Two workers stopping at once
            // leave one fewer than the limit, which the next job starts again.
            if first.is_none() && self.running.count.load(Ordering::SeqCst) > (self.limit)() {
                return;
            }
            let _started = self.started.acquire().await.expect("never closed");
            let Some((job, running)) = first.take().or_else(|| self.queue.try_pop()) else {
                return;
            };
            // Boxed: a worker waiting for its place holds only this loop's
            // state; the evaluation's, the larger, is allocated once it starts.
            running.complete(Box::pin((self.evaluate)(job)).await);
            self.running.changed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests;
