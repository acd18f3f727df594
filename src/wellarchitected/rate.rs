//! The client-side rate limit of one account-region: calls are spaced evenly at
//! `1 / rate`, where the rate is fixed (a number in `aws.max_requests_per_second`)
//! or adaptive (`"auto"`, see [`super::adaptive`]).
//!
//! Callers queue for the next slot one at a time (a fair async mutex), and each
//! slot is spaced at the rate in force when its caller reaches the head, so a cut
//! slows the very next call instead of calls already booked at the old rate.
//! Slots are counted from the previous slot, not from when a sleep woke, so the
//! long-run rate is exact however late the timer fires; idle time earns no burst
//! (the Tool's limits are not published; smooth is the safe shape).
//!
//! A call also needs one of the process's places in flight (shared by every
//! scope). It takes it at its slot, before the next caller of its scope may
//! take one, and that next slot is spaced from when the call could go: calls
//! that took their slots first and then queued for a place left together once
//! places freed, and a Tool with no burst throttled all but the first of
//! them, round after round, until every scope of a busy fleet sat at the floor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::adaptive::AdaptiveRate;
use crate::config::{RequestRate, bounds};

#[derive(Debug)]
pub struct RateLimiter {
    rate: Mutex<Rate>,
    last_slot: tokio::sync::Mutex<Option<Instant>>,
    /// Wakes the caller waiting for its slot when the rate jumped up (slow start
    /// at low rates), so it need not sleep out a slot spaced at the old rate.
    raised: tokio::sync::Notify,
}

/// A rise by this factor or more wakes the caller waiting for its slot.
const WAKE_ON_RISE: f64 = 1.2;

#[derive(Debug)]
enum Rate {
    Fixed(f64),
    /// Boxed: it carries a second of success counts.
    Adaptive(Box<AdaptiveRate>),
}

/// One call's place in the schedule, handed back with its outcome.
#[derive(Clone, Copy, Debug)]
pub struct Permit {
    round: u64,
    waited: bool,
}

/// What became of a call, as far as the rate is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    Succeeded,
    Throttled,
    /// Any other error: says nothing about the rate.
    Failed,
}

impl RateLimiter {
    /// A fixed rate.
    pub fn new(per_second: f64) -> Self {
        Self::with(Rate::Fixed(per_second))
    }

    /// An adaptive rate under `ceiling`, resuming from `learned` when known.
    pub fn adaptive(ceiling: f64, learned: Option<f64>) -> Self {
        Self::with(Rate::Adaptive(Box::new(AdaptiveRate::new(
            ceiling, learned,
        ))))
    }

    /// The limiter `aws.max_requests_per_second` and its ceiling ask for;
    /// `learned` is this account-region's remembered limit, if any.
    pub fn from_settings(rate: RequestRate, ceiling: Option<f64>, learned: Option<f64>) -> Self {
        match rate {
            RequestRate::Fixed(rate) => Self::new(rate),
            RequestRate::Auto => Self::adaptive(
                ceiling.unwrap_or(*bounds::REQUESTS_PER_SECOND.end()),
                learned,
            ),
        }
    }

    fn with(rate: Rate) -> Self {
        RateLimiter {
            rate: Mutex::new(rate),
            last_slot: tokio::sync::Mutex::new(None),
            raised: tokio::sync::Notify::new(),
        }
    }

    fn current(&self) -> (f64, u64) {
        match &*self.rate.lock().unwrap() {
            Rate::Fixed(rate) => (*rate, 0),
            Rate::Adaptive(adaptive) => (adaptive.rate(), adaptive.round()),
        }
    }

    /// Requests per second allowed now.
    pub fn rate(&self) -> f64 {
        self.current().0
    }

    /// What an adaptive limiter has learned (to persist); `None` for a fixed rate.
    pub fn learned(&self) -> Option<f64> {
        match &*self.rate.lock().unwrap() {
            Rate::Fixed(_) => None,
            Rate::Adaptive(adaptive) => Some(adaptive.learned()),
        }
    }

    /// Waits for this caller's turn; report the call's outcome with the permit.
    pub async fn acquire(&self) -> Permit {
        let (permit, _) = self.acquire_slot(None).await;
        permit
    }

    /// Waits for this caller's turn and then for one of `places` (the calls in
    /// flight across scopes), which the caller holds while its call is sent.
    pub async fn acquire_in_flight(
        &self,
        places: &Arc<Semaphore>,
    ) -> (Permit, OwnedSemaphorePermit) {
        let (permit, place) = self.acquire_slot(Some(places)).await;
        (permit, place.expect("asked for a place"))
    }

    async fn acquire_slot(
        &self,
        places: Option<&Arc<Semaphore>>,
    ) -> (Permit, Option<OwnedSemaphorePermit>) {
        let mut last_slot = self.last_slot.lock().await;
        // The first call counts as held back: there is nothing else to learn from.
        let mut waited = last_slot.is_none();
        let (slot, round) = loop {
            let (rate, round) = self.current();
            let now = Instant::now();
            let slot = last_slot.map_or(now, |last| {
                (last + Duration::from_secs_f64(1.0 / rate)).max(now)
            });
            if slot <= now {
                break (slot, round);
            }
            waited = true;
            tokio::select! {
                _ = tokio::time::sleep_until(slot) => break (slot, round),
                // The rate rose: space this slot at the new rate.
                _ = self.raised.notified() => {}
            }
        };
        // Still holding the scope's queue: the next caller's slot is spaced
        // from when this call gets its place, not from the slot it waited for
        // (shifted by that wait only, so a late timer still costs no rate).
        let asked = Instant::now();
        let place = futures::future::OptionFuture::from(places.map(|p| p.clone().acquire_owned()))
            .await
            .map(|place| place.expect("places in flight are never closed"));
        *last_slot = Some(slot + (Instant::now() - asked));
        (Permit { round, waited }, place)
    }

    /// Lets an adaptive rate learn from the outcome of a call.
    pub fn record(&self, permit: Permit, outcome: CallOutcome) {
        let mut rate = self.rate.lock().unwrap();
        let Rate::Adaptive(adaptive) = &mut *rate else {
            return;
        };
        let now = Instant::now();
        let before = adaptive.rate();
        match outcome {
            CallOutcome::Succeeded => adaptive.succeeded(permit.round, permit.waited, now),
            CallOutcome::Throttled => adaptive.throttled(permit.round, now),
            CallOutcome::Failed => {}
        }
        if adaptive.rate() >= before * WAKE_ON_RISE {
            self.raised.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests;
