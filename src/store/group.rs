//! Group commit without a writer task of its own.
//!
//! Each caller queues its item and then takes the writer's turn; whoever holds
//! the turn writes everything queued by then (its own item, or none if an
//! earlier turn took it), at most a commit's worth, and answers each item it
//! wrote. So a lone caller commits at once, and under load the callers that
//! arrived during one commit share the next: one transaction, one WAL append
//! (or one PostgreSQL commit) for many. A caller is answered only after the
//! commit that holds its item.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// The commit that held an item was abandoned without an answer (the caller
/// writing it was dropped, or its task panicked).
#[derive(Debug, thiserror::Error)]
#[error("the commit of this write was abandoned")]
pub struct Abandoned;

pub struct GroupCommit<T> {
    queued: Mutex<Vec<T>>,
    turn: tokio::sync::Mutex<()>,
    max_per_commit: usize,
}

impl<T> std::fmt::Debug for GroupCommit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("max_per_commit", &self.max_per_commit)
            .finish_non_exhaustive()
    }
}

impl<T> GroupCommit<T> {
    pub fn new(max_per_commit: usize) -> Self {
        GroupCommit {
            queued: Mutex::default(),
            turn: tokio::sync::Mutex::default(),
            max_per_commit: max_per_commit.max(1),
        }
    }

    /// Queues `item`, whose answer `answered` receives, and waits for that
    /// answer, taking the writer's turn meanwhile. With the turn, the oldest
    /// queued items (up to the most per commit) go to `write`, which must
    /// answer each. `write` runs in the caller's task: a caller dropped
    /// mid-write drops the batch, whose other callers are then told
    /// [`Abandoned`] (a `write` that must survive its caller spawns itself).
    pub async fn submit<R, Fut>(
        &self,
        item: T,
        answered: oneshot::Receiver<R>,
        write: impl Fn(Vec<T>) -> Fut,
    ) -> Result<R, Abandoned>
    where
        Fut: Future<Output = ()>,
    {
        self.submit_gathered(item, answered, || None, write).await
    }

    /// As [`GroupCommit::submit`], but whoever takes the writer's turn first
    /// waits until `gather()` says (when it says), so that callers arriving
    /// meanwhile join its commit.
    pub async fn submit_gathered<R, Fut>(
        &self,
        item: T,
        mut answered: oneshot::Receiver<R>,
        gather: impl Fn() -> Option<Instant>,
        write: impl Fn(Vec<T>) -> Fut,
    ) -> Result<R, Abandoned>
    where
        Fut: Future<Output = ()>,
    {
        self.queued
            .lock()
            .expect("the queue lock is never poisoned")
            .push(item);
        loop {
            tokio::select! {
                biased;
                answer = &mut answered => return answer.map_err(|_| Abandoned),
                _turn = self.turn.lock() => {
                    if let Some(until) = gather() {
                        tokio::time::sleep_until(until).await;
                    }
                    let batch = self.take();
                    if !batch.is_empty() {
                        write(batch).await;
                    }
                }
            }
        }
    }

    fn take(&self) -> Vec<T> {
        let mut queued = self
            .queued
            .lock()
            .expect("the queue lock is never poisoned");
        let take = queued.len().min(self.max_per_commit);
        queued.drain(..take).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    type Item = (usize, oneshot::Sender<usize>);

    /// Callers that arrive while a commit is being written share the next
    /// one, at most `max_per_commit` to a commit, and each gets its own answer.
    #[tokio::test]
    async fn callers_arriving_during_a_commit_share_the_next() {
        let group = GroupCommit::<Item>::new(4);
        let commits: Arc<Mutex<Vec<Vec<usize>>>> = Arc::default();
        let write = |batch: Vec<Item>| {
            let commits = commits.clone();
            async move {
                // A commit takes a while: the others queue meanwhile.
                tokio::task::yield_now().await;
                commits
                    .lock()
                    .unwrap()
                    .push(batch.iter().map(|(n, _)| *n).collect());
                for (n, answer) in batch {
                    let _ = answer.send(n * 10);
                }
            }
        };
        let answers = futures::future::join_all((0..10).map(|n| {
            let (answer, answered) = oneshot::channel();
            group.submit((n, answer), answered, write)
        }))
        .await;
        let answers: Vec<usize> = answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, (0..10).map(|n| n * 10).collect::<Vec<_>>());
        let commits = commits.lock().unwrap();
        assert!(commits.iter().all(|c| !c.is_empty() && c.len() <= 4));
        assert!(commits.len() < 10, "shared: {commits:?}");
        let mut written: Vec<usize> = commits.iter().flatten().copied().collect();
        written.sort_unstable();
        assert_eq!(written, (0..10).collect::<Vec<_>>(), "each written once");
    }

    /// A write that drops an item's answer tells its caller, not hangs it.
    #[tokio::test]
    async fn an_item_left_unanswered_is_abandoned() {
        let group = GroupCommit::<Item>::new(4);
        let (answer, answered) = oneshot::channel();
        let result = group
            .submit((1, answer), answered, |batch| async move { drop(batch) })
            .await;
        assert!(matches!(result, Err(Abandoned)));
    }

    /// Callers arriving one after another, each after the last commit, each
    /// commit alone; told to gather until a moment, the first turn waits for
    /// it and those arriving meanwhile share its commit.
    #[tokio::test(start_paused = true)]
    async fn a_gathering_turn_waits_for_callers_arriving_meanwhile() {
        let ms = std::time::Duration::from_millis(1);
        for gathering in [false, true] {
            let group = Arc::new(GroupCommit::<Item>::new(64));
            let commits: Arc<Mutex<Vec<usize>>> = Arc::default();
            let start = Instant::now();
            let callers = (0..4).map(|n| {
                let (group, commits) = (group.clone(), commits.clone());
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + ms * n as u32).await;
                    let (answer, answered) = oneshot::channel();
                    let gather = || gathering.then_some(start + ms * 5);
                    let write = |batch: Vec<Item>| {
                        let commits = commits.clone();
                        async move {
                            commits.lock().unwrap().push(batch.len());
                            for (n, answer) in batch {
                                let _ = answer.send(n);
                            }
                        }
                    };
                    group
                        .submit_gathered((n, answer), answered, gather, write)
                        .await
                        .unwrap()
                })
            });
            let answers = futures::future::join_all(callers).await;
            let answers: Vec<usize> = answers.into_iter().map(Result::unwrap).collect();
            assert_eq!(answers, vec![0, 1, 2, 3]);
            let commits = commits.lock().unwrap().clone();
            if gathering {
                assert_eq!(commits, vec![4], "one commit at 5 ms");
                assert_eq!(Instant::now(), start + ms * 5);
            } else {
                assert_eq!(commits, vec![1, 1, 1, 1]);
            }
        }
    }
}
