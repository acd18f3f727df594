use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot};

use super::*;
use crate::queue::{Done, Job, Target, WorkQueue};
use crate::workload::Trigger;

#[test]
fn a_scope_starts_what_its_rate_serves_in_the_window_and_a_call() {
    let ms = Duration::from_millis;
    // 10 calls/s: 0.2 s of it is 2; with calls of 300 ms, 5.
    assert_eq!(started_limit(10.0, Duration::ZERO, 32), 2);
    assert_eq!(started_limit(10.0, ms(300), 32), 5);
    assert_eq!(started_limit(1.0, Duration::ZERO, 32), 1, "at least one");
    assert_eq!(started_limit(0.0, Duration::ZERO, 32), 1);
    assert_eq!(started_limit(f64::NAN, ms(5), 32), 1);
    assert_eq!(started_limit(100.0, ms(5), 32), 21);
    assert_eq!(
        started_limit(1_000.0, ms(5), 32),
        32,
        "at most max_concurrency"
    );
    assert_eq!(started_limit(f64::INFINITY, ms(5), 32), 32);
    assert_eq!(started_limit(10.0, Duration::ZERO, 0), 1);
}

/// Evaluations in progress now and at most, across the queues a test serves.
#[derive(Default)]
struct Counts {
    now: AtomicUsize,
    most: AtomicUsize,
    done: AtomicUsize,
}

/// Serves `queue` with evaluations that each take a second.
fn serve(
    queue: &Arc<WorkQueue<u32>>,
    started: &Arc<Semaphore>,
    limit: impl Fn() -> usize + Send + Sync + 'static,
    counts: &Arc<Counts>,
) -> tokio::task::JoinHandle<()> {
    let counts = counts.clone();
    spawn(
        "test worker".to_owned(),
        queue.clone(),
        started.clone(),
        limit,
        move |_job| {
            let counts = counts.clone();
            async move {
                let now = counts.now.fetch_add(1, Ordering::SeqCst) + 1;
                counts.most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                counts.now.fetch_sub(1, Ordering::SeqCst);
                Ok(counts.done.fetch_add(1, Ordering::SeqCst) as u32)
            }
        },
    )
}

fn push(queue: &WorkQueue<u32>, jobs: usize) -> Vec<oneshot::Receiver<Done<u32>>> {
    (0..jobs)
        .map(|n| {
            queue.push(Job {
                target: Target::Id(format!("w{n}")),
                trigger: Trigger::Sweep,
            })
        })
        .collect()
}

async fn all_answered(answers: Vec<oneshot::Receiver<Done<u32>>>) {
    for answer in answers {
        tokio::time::timeout(Duration::from_secs(3_600), answer)
            .await
            .expect("answered")
            .unwrap()
            .unwrap();
    }
}

/// A scope limited to 10 calls/s (2 evaluations started, with calls taking
/// no time) never has more than 2 evaluations started, however much is
/// queued; it used to start up to `max_concurrency` (32), each waiting
/// seconds for its rate slot.
#[tokio::test(start_paused = true)]
async fn a_scope_limited_to_10_calls_a_second_never_has_more_than_2_evaluations_started() {
    let queue = Arc::new(WorkQueue::new());
    let started = Arc::new(Semaphore::new(STARTED_EVALUATIONS));
    let counts = Arc::new(Counts::default());
    let workers = serve(
        &queue,
        &started,
        || started_limit(10.0, Duration::ZERO, 32),
        &counts,
    );
    let answers = push(&queue, 40);
    all_answered(answers).await;
    assert_eq!(counts.most.load(Ordering::SeqCst), 2);
    assert_eq!(counts.done.load(Ordering::SeqCst), 40);
    queue.close();
    workers.await.unwrap();
}

/// Scopes share the process's evaluations started, each worker taking one per
/// evaluation in turn, so both scopes progress and together never exceed it.
#[tokio::test(start_paused = true)]
async fn scopes_together_start_at_most_the_process_s_evaluations() {
    let started = Arc::new(Semaphore::new(3));
    let counts = Arc::new(Counts::default());
    let (one, other) = (Arc::new(WorkQueue::new()), Arc::new(WorkQueue::new()));
    let workers = [
        serve(&one, &started, || 2, &counts),
        serve(&other, &started, || 2, &counts),
    ];
    let (first, second) = (push(&one, 30), push(&other, 30));
    // In turn: the second scope's first job does not wait for all of the
    // first's (30 jobs, 2 at once, would be 15 s).
    let early = tokio::time::timeout(Duration::from_secs(3), async {
        let mut second = second.into_iter();
        second.next().unwrap().await.unwrap().unwrap();
        second
    })
    .await
    .expect("the second scope was served in turn");
    all_answered(first).await;
    all_answered(early.collect()).await;
    assert_eq!(counts.most.load(Ordering::SeqCst), 3);
    assert_eq!(started.available_permits(), 3, "every one given back");
    one.close();
    other.close();
    for workers in workers {
        workers.await.unwrap();
    }
}

/// The limit follows the rate both ways while the queue stays busy: workers
/// are added when it rises and stop between jobs when it falls.
#[tokio::test(start_paused = true)]
async fn workers_follow_the_limit_up_and_down() {
    let queue = Arc::new(WorkQueue::new());
    let started = Arc::new(Semaphore::new(STARTED_EVALUATIONS));
    let counts = Arc::new(Counts::default());
    let limit = Arc::new(AtomicUsize::new(1));
    let workers = {
        let limit = limit.clone();
        serve(
            &queue,
            &started,
            move || limit.load(Ordering::SeqCst),
            &counts,
        )
    };
    let answers = push(&queue, 200);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(counts.most.load(Ordering::SeqCst), 1);
    limit.store(5, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(counts.most.load(Ordering::SeqCst), 5, "risen");
    limit.store(2, Ordering::SeqCst);
    // Within a job's time every worker over the limit has stopped.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    for _ in 0..20 {
        seen.lock().unwrap().push(counts.now.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        seen.lock().unwrap().iter().all(|&now| now <= 2),
        "fallen: {:?}",
        seen.lock().unwrap()
    );
    all_answered(answers).await;
    queue.close();
    workers.await.unwrap();
}
