//! What bounds sweeping: the workloads a replica's sweeps hold at once, not how
//! many scopes sweep.
//!
//! Every scope sweeps on its own schedule, all at once if their intervals say
//! so. What costs memory is each listed workload from its page until its
//! evaluation is counted (the workload, its control as read, its request), so
//! a sweep takes one unit of the replica's [`SweepBudget`] per workload before it
//! lists a page and gives it back as each evaluation finishes. How much a scope
//! holds follows its own rate ([`page_size`]): a scope limited to 10 calls/s
//! lists 5 workloads at a time and holds at most 20, so hundreds of slow scopes
//! sweep side by side; a fast one lists full pages and holds at most 200, and
//! waits for the budget in turn (the semaphore is first come, first served), so
//! neither starves the other. A fresh scope's pages grow with its rate as it
//! learns it. A listed workload waits as a queued job (~1 KiB) until one of
//! its scope's workers starts it: evaluations started are bounded separately,
//! per scope by its rate and per process (`account_region::workers`), and so
//! are calls in flight (`wellarchitected::CALLS_IN_FLIGHT`).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Workloads a replica's sweeps hold at once: four for each of the 512
/// evaluations the process starts at once (`account_region::workers::STARTED_EVALUATIONS`),
/// enough to keep every one of them fed, and each held one a queued job of
/// ~2.5 KiB (its workload, its controls as read, its queue entry). It was
/// 4,096, as many as the fixed 16 sweeps it replaced held, when every held
/// workload could be a started evaluation.
pub const HELD_WORKLOADS: usize = 2_048;

/// ListWorkloads' largest page, what a sweep lists at its full rate.
pub const MAX_PAGE: usize = 50;
/// The smallest page a slow scope lists: smaller pages would spend more than a
/// sixth of its calls on listing.
pub const MIN_PAGE: usize = 5;
/// A page is about this long of a scope's calls: enough to keep its workers
/// busy while the next page is listed, no more held than that.
const PAGE_SECONDS: f64 = 0.5;

/// How many workloads a scope sweeping at `rate` calls per second lists at a
/// time: about half a second of its evaluations, between [`MIN_PAGE`] and
/// [`MAX_PAGE`]. A sweep requests at most two such pages and holds two more
/// (one handed over, one being listed).
pub fn page_size(rate: f64) -> usize {
    if rate.is_nan() {
        return MIN_PAGE;
    }
    ((rate * PAGE_SECONDS).ceil().clamp(0.0, MAX_PAGE as f64) as usize).clamp(MIN_PAGE, MAX_PAGE)
}

/// The replica's budget of workloads held by sweeps; cheap to clone.
#[derive(Clone, Debug)]
pub struct SweepBudget {
    units: Arc<Semaphore>,
}

impl Default for SweepBudget {
    fn default() -> Self {
        Self::new(HELD_WORKLOADS)
    }
}

impl SweepBudget {
    pub fn new(units: usize) -> Self {
        SweepBudget {
            units: Arc::new(Semaphore::new(units)),
        }
    }

    /// Units not held by any sweep now.
    pub fn available(&self) -> usize {
        self.units.available_permits()
    }

    /// Waits for `units` (at most [`MAX_PAGE`]) and holds them until dropped.
    pub async fn hold(&self, units: usize) -> Held {
        let units = units.min(MAX_PAGE) as u32;
        let permit = self
            .units
            .clone()
            .acquire_many_owned(units)
            .await
            .expect("the sweep budget is never closed");
        Held(Some(permit))
    }
}

/// Units of the budget held for listed workloads; given back when dropped.
#[derive(Debug)]
pub struct Held(Option<OwnedSemaphorePermit>);

impl Held {
    /// Gives back all but `keep` units (a page shorter than asked for).
    pub fn keep(&mut self, keep: usize) {
        let held = self.0.as_ref().map_or(0, |p| p.num_permits());
        if keep < held
            && let Some(permit) = self.0.as_mut()
        {
            drop(permit.split(held - keep));
        }
        if keep == 0 {
            self.0 = None;
        }
    }

    /// One workload's unit, to travel with its request (none when all are taken).
    pub fn take_one(&mut self) -> Held {
        let held = self.0.as_ref().map_or(0, |p| p.num_permits());
        if held <= 1 {
            return Held(self.0.take());
        }
        Held(self.0.as_mut().and_then(|p| p.split(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_about_a_second_of_the_scope_s_rate() {
        assert_eq!(page_size(10.0), MIN_PAGE);
        assert_eq!(page_size(1.0), MIN_PAGE);
        assert_eq!(page_size(0.0), MIN_PAGE);
        assert_eq!(page_size(f64::NAN), MIN_PAGE);
        assert_eq!(page_size(46.2), 24);
        assert_eq!(page_size(100.0), MAX_PAGE);
        assert_eq!(page_size(10_000.0), MAX_PAGE);
        assert_eq!(page_size(f64::INFINITY), MAX_PAGE);
    }

    #[tokio::test]
    async fn held_units_travel_with_each_workload_and_come_back_when_dropped() {
        let budget = SweepBudget::new(100);
        let mut page = budget.hold(30).await;
        assert_eq!(budget.available(), 70);
        page.keep(20);
        assert_eq!(budget.available(), 80, "a short page gives back the rest");
        let ones: Vec<Held> = (0..20).map(|_| page.take_one()).collect();
        assert!(page.take_one().0.is_none(), "nothing left to take");
        assert_eq!(budget.available(), 80);
        drop(ones);
        assert_eq!(budget.available(), 100);
        let mut empty = budget.hold(5).await;
        empty.keep(0);
        assert_eq!(budget.available(), 100, "an empty page holds nothing");
    }

    #[tokio::test]
    async fn asking_for_more_than_a_page_holds_a_page() {
        let budget = SweepBudget::new(100);
        let _held = budget.hold(1_000).await;
        assert_eq!(budget.available(), 100 - MAX_PAGE);
    }
}
