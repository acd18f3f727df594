//! The work queue between triggers and the evaluator.
//!
//! Keyed by workload id, like controller-runtime's queue: a workload is queued at
//! most once, and evaluated by at most one worker at a time. A request for a
//! workload that is already queued joins it; one for a workload being evaluated
//! marks it to run once more afterwards, so a burst of events becomes at most two
//! evaluations and the last one always sees the latest answer. Every requester gets
//! the result of the first evaluation that started after its request.
//!
//! A job is handed out with a [`Running`] guard, the only way to report its end:
//! an evaluation that never reports (it panicked, its worker was dropped) ends
//! with an error when the guard drops, so its requesters are answered and the
//! workload is queued again by its next trigger instead of staying `running`
//! forever.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::{Notify, oneshot};

use crate::store::ControlRow;
use crate::workload::{Trigger, Workload};

/// What to evaluate.
#[derive(Clone, Debug, PartialEq)]
// A listed workload travels once, from its page to its evaluation: boxing it
// would add an allocation per workload per sweep and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Target {
    /// A workload just listed by a sweep: its summary saves a describe call, and
    /// its control, read with the rest of its page, saves a query.
    Listed(Workload, Stored),
    /// A workload known only by id (an event, a manual request, a vanished one):
    /// the evaluator describes it first.
    Id(String),
    /// A workload whose answer an event says changed (`UpdateAnswer`), and
    /// nothing else: when no policy reads more than the answer (no tag, name or
    /// calculated policies) and its control is active, the evaluator takes the
    /// workload as that control last recorded it and skips describing it.
    Answer(String),
    /// As `Answer`, when the event named the one governed question whose
    /// answer changed (workload id, lens as configured, question id): only
    /// that question's control is evaluated, with one `GetAnswer`.
    AnswerOf(String, String, String),
}

impl Target {
    /// How much a target tells about its workload beyond the id: a fresh
    /// description beats a listed summary beats only the control row.
    fn freshness(&self) -> u8 {
        match self {
            Target::AnswerOf(..) => 0,
            Target::Answer(_) => 1,
            Target::Listed(..) => 2,
            Target::Id(_) => 3,
        }
    }
}

/// A listed workload's controls as the sweep read them, with its whole page
/// (`Controls`), or one control's part of that (`Absent`, `Control`).
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Not read (reading the page failed): the evaluator reads it itself.
    Unread,
    /// The workload has no such control yet.
    Absent,
    Control(Box<ControlRow>),
    /// Every control the workload has (one per lens and question), removed
    /// ones too; none: it has none yet.
    Controls(Vec<ControlRow>),
}

impl Stored {
    /// What was read of the control `(lens, question_id)`.
    pub fn of(&self, lens: &str, question_id: &str) -> Stored {
        let matches = |c: &ControlRow| c.lens == lens && c.question_id == question_id;
        match self {
            Stored::Unread => Stored::Unread,
            Stored::Absent => Stored::Absent,
            Stored::Control(control) if matches(control) => Stored::Control(control.clone()),
            Stored::Control(_) => Stored::Absent,
            Stored::Controls(controls) => match controls.iter().find(|c| matches(c)) {
                Some(control) => Stored::Control(Box::new(control.clone())),
                None => Stored::Absent,
            },
        }
    }

    /// The controls read of `lens` (`None`: not read).
    pub fn of_lens(&self, lens: &str) -> Option<Vec<&ControlRow>> {
        match self {
            Stored::Unread => None,
            Stored::Absent => Some(Vec::new()),
            Stored::Control(control) => Some(
                std::iter::once(control.as_ref())
                    .filter(|c| c.lens == lens)
                    .collect(),
            ),
            Stored::Controls(controls) => {
                Some(controls.iter().filter(|c| c.lens == lens).collect())
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub target: Target,
    pub trigger: Trigger,
}

impl Job {
    pub fn workload_id(&self) -> &str {
        match &self.target {
            Target::Listed(workload, _) => &workload.id,
            Target::Id(id) | Target::Answer(id) | Target::AnswerOf(id, ..) => id,
        }
    }

    /// Folds a later request into this one. A fresh read (by id) beats a listed
    /// summary beats an answer-only target (so an `UpdateWorkload` and an
    /// `UpdateAnswer` coalesced still describe the workload); an event trigger
    /// beats a manual one beats a sweep, and a later event id beats an earlier
    /// one, so transitions name the latest cause.
    fn absorb(&mut self, later: Job) {
        match (&self.target, &later.target) {
            // Two questions' answers changed: evaluate every control of it.
            (Target::AnswerOf(id, ..), Target::AnswerOf(..)) if self.target != later.target => {
                self.target = Target::Answer(id.clone());
            }
            _ if later.target.freshness() >= self.target.freshness() => {
                self.target = later.target;
            }
            _ => {}
        }
        let rank = |t: &Trigger| match t {
            Trigger::Sweep => 0,
            Trigger::Manual => 1,
            Trigger::Event(_) => 2,
        };
        if rank(&later.trigger) >= rank(&self.trigger) {
            self.trigger = later.trigger;
        }
    }
}

/// What a requester learns: the evaluation's summary, or why it failed.
pub type Done<T> = Result<T, String>;

/// What requesters of an evaluation that ended without a result are told.
pub const ABANDONED: &str = "the evaluation ended without a result (it panicked or was cancelled); \
     the workload is evaluated again on its next trigger";

/// A job being evaluated. Report its end with [`Running::complete`]; dropped
/// without that, it completes the job with [`ABANDONED`].
#[must_use = "dropping it ends the evaluation with an error"]
pub struct Running<'a, T: Clone> {
    queue: &'a WorkQueue<T>,
    workload_id: String,
    completed: bool,
}

impl<T: Clone> Running<'_, T> {
    pub fn workload_id(&self) -> &str {
        &self.workload_id
    }

    /// Reports the end of the evaluation to its requesters.
    pub fn complete(mut self, result: Done<T>) {
        self.completed = true;
        self.queue.complete(&self.workload_id, result);
    }
}

impl<T: Clone> Drop for Running<'_, T> {
    fn drop(&mut self) {
        if !self.completed {
            tracing::error!(
                workload_id = %self.workload_id,
                "an evaluation ended without a result; it runs again on the next trigger"
            );
            self.queue
                .complete(&self.workload_id, Err(ABANDONED.to_owned()));
        }
    }
}

impl<T: Clone> Running<'_, T> {
    /// The job's claim without the borrow of its queue, to hand it to a task
    /// of its own, which takes it back with [`WorkQueue::resume`]. Until then
    /// nothing reports the end for it: resume it at once.
    pub fn hand_over(mut self) -> Claim {
        self.completed = true;
        Claim {
            workload_id: std::mem::take(&mut self.workload_id),
        }
    }
}

/// A running job handed over between tasks (see [`Running::hand_over`]).
#[must_use = "resume it, or its requesters are never answered"]
pub struct Claim {
    workload_id: String,
}

struct Pending<T> {
    job: Job,
    waiters: Vec<oneshot::Sender<Done<T>>>,
}

struct Entry<T> {
    /// The job waiting to run (queued) or, while running, the next run's job.
    next: Option<Pending<T>>,
    /// Waiters of the run in progress.
    running: Option<Vec<oneshot::Sender<Done<T>>>>,
}

struct State<T> {
    order: VecDeque<String>,
    entries: HashMap<String, Entry<T>>,
    closed: bool,
}

pub struct WorkQueue<T> {
    state: Mutex<State<T>>,
    ready: Notify,
}

impl<T: Clone> Default for WorkQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone> WorkQueue<T> {
    pub fn new() -> Self {
        WorkQueue {
            state: Mutex::new(State {
                order: VecDeque::new(),
                entries: HashMap::new(),
                closed: false,
            }),
            ready: Notify::new(),
        }
    }

    /// Requests an evaluation; the receiver resolves when one that covers this
    /// request finishes (or errors if the queue shuts down first).
    pub fn push(&self, job: Job) -> oneshot::Receiver<Done<T>> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state.lock().unwrap();
        if state.closed {
            let _ = tx.send(Err("shutting down".to_owned()));
            return rx;
        }
        let key = job.workload_id().to_owned();
        let entry = state.entries.entry(key.clone()).or_insert(Entry {
            next: None,
            running: None,
        });
        let newly_queued = entry.next.is_none() && entry.running.is_none();
        match &mut entry.next {
            Some(pending) => {
                pending.job.absorb(job);
                pending.waiters.push(tx);
            }
            None => {
                entry.next = Some(Pending {
                    job,
                    waiters: vec![tx],
                })
            }
        }
        if newly_queued {
            state.order.push_back(key);
            drop(state);
            self.ready.notify_one();
        }
        rx
    }

    /// Takes the next job, waiting for one, with the guard that reports its end;
    /// `None` once the queue is closed.
    pub async fn pop(&self) -> Option<(Job, Running<'_, T>)> {
        loop {
            let notified = self.ready.notified();
            if let Some(popped) = self.try_pop() {
                return Some(popped);
            }
            if self.state.lock().unwrap().closed {
                return None;
            }
            notified.await;
        }
    }

    /// Takes the next job if one is queued, without waiting; `None` when none
    /// is or the queue is closed.
    pub fn try_pop(&self) -> Option<(Job, Running<'_, T>)> {
        let mut state = self.state.lock().unwrap();
        if state.closed {
            return None;
        }
        let key = state.order.pop_front()?;
        let entry = state
            .entries
            .get_mut(&key)
            .expect("queued keys have entries");
        let pending = entry.next.take().expect("queued entries have a job");
        entry.running = Some(pending.waiters);
        Some((
            pending.job,
            Running {
                queue: self,
                workload_id: key,
                completed: false,
            },
        ))
    }

    /// Takes back a job handed over with [`Running::hand_over`].
    pub fn resume(&self, claim: Claim) -> Running<'_, T> {
        Running {
            queue: self,
            workload_id: claim.workload_id,
            completed: false,
        }
    }

    /// Reports the end of the running evaluation of `workload_id` (through its
    /// [`Running`] guard only). A poisoned lock is taken anyway: this also runs
    /// while a panic unwinds, and the state is consistent between statements.
    fn complete(&self, workload_id: &str, result: Done<T>) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = state.entries.get_mut(workload_id) else {
            return;
        };
        for waiter in entry.running.take().unwrap_or_default() {
            let _ = waiter.send(result.clone());
        }
        if entry.next.is_some() {
            state.order.push_back(workload_id.to_owned());
            drop(state);
            self.ready.notify_one();
        } else {
            state.entries.remove(workload_id);
            if state.entries.is_empty() {
                // A sweep's burst grew them; an idle scope (most of a thousand,
                // between sweeps) should not keep that capacity.
                state.entries.shrink_to_fit();
                state.order.shrink_to_fit();
            }
        }
    }

    /// A worker: evaluates jobs one after another with `evaluate` until the queue
    /// closes. Each job's guard reports its end, also when `evaluate` panics.
    pub async fn serve<F, Fut>(&self, evaluate: F)
    where
        F: Fn(Job) -> Fut,
        Fut: Future<Output = Done<T>>,
    {
        while let Some((job, running)) = self.pop().await {
            running.complete(evaluate(job).await);
        }
    }

    /// Stops handing out work; queued requests fail with "shutting down".
    pub fn close(&self) {
        let mut state = self.state.lock().unwrap();
        state.closed = true;
        state.order.clear();
        for entry in state.entries.values_mut() {
            for waiter in entry.next.take().map(|p| p.waiters).unwrap_or_default() {
                let _ = waiter.send(Err("shutting down".to_owned()));
            }
        }
        drop(state);
        self.ready.notify_waiters();
    }

    /// Workloads queued or running, for metrics.
    pub fn len(&self) -> usize {
        self.state.lock().unwrap().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
