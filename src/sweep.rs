//! A sweep: list every workload of a scope and evaluate each, every time.
//!
//! Constant work by design: no change detection, no skipping, so the sweep is the
//! backstop that makes lost or late events harmless. Controls the listing does not
//! show are re-checked by id, which confirms (not infers) that they are gone, and
//! still evaluates them when the listing itself failed.
//!
//! Listing stays a bounded distance ahead of evaluation, so memory does not grow
//! with the number of workloads, and every listed workload holds a unit of the
//! replica's [`SweepBudget`] until its evaluation is counted, so memory does not
//! grow with the number of scopes sweeping either (see [`budget`]). Each listed page's controls are read in one
//! query, and the sweep ends by writing its batched `evaluated_at` bumps, so a
//! sweep that changes nothing costs a few statements per page, not per workload.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::account_region::AccountRegion;
use crate::queue::{Done, Job, Stored, Target};
use crate::reconcile::Reconciled;
use crate::store::{ControlRow, Store};
use crate::workload::Trigger;

pub mod budget;

pub use budget::SweepBudget;
use budget::{Held, page_size};

/// What one sweep of one scope did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub scope: String,
    pub listed: usize,
    pub evaluated: usize,
    pub removed: usize,
    /// Evaluations that could not be recorded (e.g. the database was down).
    pub failed: usize,
    /// Set when the listing failed part-way.
    pub listing_error: Option<String>,
    pub duration: Duration,
}

pub async fn sweep(scope: &AccountRegion, store: &Store, budget: &SweepBudget) -> SweepReport {
    let started = Instant::now();
    let mut requests = Requests {
        scope,
        pending: FuturesUnordered::new(),
        report: SweepReport {
            scope: scope.key().to_owned(),
            ..Default::default()
        },
    };
    // ARNs the listing showed, as 64-bit hashes: a sweep of a thousand workloads
    // keeps 16 KiB, not the ARNs themselves (every scope may sweep at once). Two ARNs
    // colliding (odds ~1e-13 a sweep) would leave a vanished one for the next.
    let hasher = std::hash::RandomState::new();
    let mut seen = HashSet::new();
    // Listing runs beside evaluation, one page ahead: each page's call waits
    // for its rate slot behind the workers' calls, and read in turn (list, then
    // evaluate, then list) it left the workers idle for a call's latency plus
    // that wait on every page. A page's budget is held before it is listed.
    let (pages, mut listed) = tokio::sync::mpsc::channel(1);
    let listing = async move {
        let mut token = None;
        loop {
            let size = page_size(scope.wa.limiter().rate());
            let mut held = budget.hold(size).await;
            let (page, next) = match scope.wa.list_workloads_page(token.take(), size).await {
                Ok((page, next)) => {
                    held.keep(page.len());
                    (Ok((page, held)), next)
                }
                Err(error) => (Err(error), None),
            };
            if pages.send(page).await.is_err() {
                return;
            }
            match next {
                Some(next) => token = Some(next),
                None => return,
            }
        }
    };
    let evaluating = async {
        // Waiting for the next page, finished evaluations are still counted
        // and give back their units: the listing may be waiting for them.
        while let Some(result) = requests.counting(listed.recv()).await {
            let (page, mut held) = match result {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(scope = scope.key(), error = %error, "listing workloads failed; sweep incomplete");
                    requests.report.listing_error = Some(error.to_string());
                    break;
                }
            };
            requests.make_room().await;
            requests.report.listed += page.len();
            let mut stored = read_page(scope, store, &page).await;
            for workload in page {
                seen.insert(hasher.hash_one(&workload.arn));
                let control = match &mut stored {
                    None => Stored::Unread,
                    Some(controls) => {
                        Stored::Controls(controls.remove(&workload.arn).unwrap_or_default())
                    }
                };
                requests.submit(Target::Listed(workload, control), held.take_one());
            }
        }
        // Dropped here, so a listing waiting to hand over a page stops.
        drop(listed);
    };
    futures::future::join(listing, evaluating).await;
    // Known controls the listing did not show are checked one by one: gone ones
    // are confirmed removed; if the listing failed, they are still evaluated (and
    // land in `error` if their account-region is unreachable).
    match store.active_control_keys(scope.key()).await {
        Ok(keys) => {
            for (_, workload_id) in keys
                .into_iter()
                .filter(|(arn, _)| !seen.contains(&hasher.hash_one(arn)))
            {
                requests.make_room().await;
                let held = requests.counting(budget.hold(1)).await;
                requests.submit(Target::Id(workload_id), held);
            }
        }
        Err(error) => {
            tracing::warn!(
                scope = scope.key(),
                error = crate::display::chain(&error).to_string(),
                "cannot list known controls"
            );
            requests.report.failed += 1;
        }
    }
    let mut report = requests.finish().await;
    if let Err(error) = store.flush_evaluated().await {
        tracing::warn!(
            scope = scope.key(),
            error = crate::display::chain(&error).to_string(),
            "cannot write the sweep's evaluation times"
        );
        report.failed += 1;
    }
    report.duration = started.elapsed();
    report
}

/// The controls of one listed page, by ARN; `None` when they cannot be read (each
/// evaluation then reads its own, and reports the failure).
async fn read_page(
    scope: &AccountRegion,
    store: &Store,
    page: &[crate::workload::Workload],
) -> Option<HashMap<String, Vec<ControlRow>>> {
    let arns: Vec<&str> = page.iter().map(|w| w.arn.as_str()).collect();
    match store.controls_by_arn(&arns).await {
        Ok(controls) => Some(controls),
        Err(error) => {
            tracing::warn!(
                scope = scope.key(),
                error = crate::display::chain(&error).to_string(),
                "cannot read a page's controls"
            );
            None
        }
    }
}

type Outcome = Result<Done<Reconciled>, tokio::sync::oneshot::error::RecvError>;

/// A requested evaluation, holding its workload's unit of the budget until it
/// finishes.
struct Pending {
    done: tokio::sync::oneshot::Receiver<Done<Reconciled>>,
    _held: Held,
}

impl std::future::Future for Pending {
    type Output = Outcome;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Outcome> {
        std::pin::Pin::new(&mut self.done).poll(cx)
    }
}

/// The evaluations a sweep has requested and not yet seen finish.
struct Requests<'a> {
    scope: &'a AccountRegion,
    pending: FuturesUnordered<Pending>,
    report: SweepReport,
}

impl Requests<'_> {
    fn submit(&mut self, target: Target, held: Held) {
        let job = Job {
            target,
            trigger: Trigger::Sweep,
        };
        self.pending.push(Pending {
            done: self.scope.submit(job),
            _held: held,
        });
    }

    /// Waits until at most a page (at the scope's rate now) is outstanding, so
    /// the next page keeps the workers busy while this one finishes.
    async fn make_room(&mut self) {
        while self.pending.len() > page_size(self.scope.wa.limiter().rate()) {
            if let Some(done) = self.pending.next().await {
                self.report.count(done);
            }
        }
    }

    /// Waits for `wanted` while counting evaluations as they finish, so each
    /// gives back its unit of the budget when it ends, not when the sweep next
    /// has room to look. Units held by finished evaluations nobody counted were
    /// a wait cycle: the listing waited for units, the sweep for its page.
    async fn counting<F: std::future::Future>(&mut self, wanted: F) -> F::Output {
        let mut wanted = std::pin::pin!(wanted);
        loop {
            tokio::select! {
                biased;
                output = &mut wanted => return output,
                Some(done) = self.pending.next(), if !self.pending.is_empty() => {
                    self.report.count(done);
                }
            }
        }
    }

    async fn finish(mut self) -> SweepReport {
        while let Some(done) = self.pending.next().await {
            self.report.count(done);
        }
        self.report
    }
}

impl SweepReport {
    fn count(&mut self, done: Outcome) {
        match done {
            Ok(Ok(Reconciled::Removed)) => self.removed += 1,
            Ok(Ok(_)) => self.evaluated += 1,
            Ok(Err(_)) | Err(_) => self.failed += 1,
        }
    }
}
