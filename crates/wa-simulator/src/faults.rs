//! Fault injection: one decision per API call, taken at arrival under one short lock.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use super::types::Faults;

/// A fault that replaces the normal answer of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    Denied,
    RateLimited,
    Throttled,
    Internal,
    Conflict,
    QuestionMissing,
}

/// What to do with one call: wait `delay`, then answer with `fault` or normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub delay: Duration,
    pub fault: Option<Injected>,
}

/// The hard rate limit: refills `rate` tokens per second up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// Starts full, so the first `burst` calls always pass.
    pub fn new(rate: f64, now: Instant) -> Self {
        let burst = (rate / 10.0).max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct EngineState {
    faults: Faults,
    rng: SmallRng,
    bucket: Option<TokenBucket>,
}

pub struct FaultEngine {
    state: Mutex<EngineState>,
}

impl Default for FaultEngine {
    fn default() -> Self {
        Self::new(Faults::default())
    }
}

impl FaultEngine {
    pub fn new(faults: Faults) -> Self {
        Self {
            state: Mutex::new(Self::fresh(faults)),
        }
    }

    fn fresh(faults: Faults) -> EngineState {
        EngineState {
            rng: SmallRng::seed_from_u64(faults.seed),
            bucket: faults
                .rate_limit_per_second
                .map(|r| TokenBucket::new(r, Instant::now())),
            faults,
        }
    }

    /// Replaces the faults and restarts the RNG and the bucket.
    pub fn set(&self, faults: Faults) {
        *self.lock() = Self::fresh(faults);
    }

    pub fn get(&self) -> Faults {
        self.lock().faults.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EngineState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides the fate of one call of operation `op`. `workload` is the id the call
    /// names, if any; `can_conflict` is true only for UpdateAnswer.
    pub fn decide(
        &self,
        op: &str,
        workload: Option<&str>,
        can_conflict: bool,
        now: Instant,
    ) -> Decision {
        let mut guard = self.lock();
        let EngineState {
            faults,
            rng,
            bucket,
        } = &mut *guard;
        // Draw only for non-zero probabilities: a fault-free simulator does no RNG work
        // and the sequence for one fault type does not depend on unrelated settings.
        let mut roll = |p: f64| p > 0.0 && rng.random::<f64>() < p;
        let mut delay = faults.latency;
        if roll(faults.latency_spike_probability) {
            delay += faults.latency_spike;
        }
        if workload.is_some_and(|w| faults.slow_workloads.contains(w)) {
            delay += faults.latency_spike;
        }
        let denied = faults.deny_operations.contains(op)
            || workload.is_some_and(|w| faults.deny_workloads.contains(w));
        let fault = if denied {
            Some(Injected::Denied)
        } else if bucket.as_mut().is_some_and(|b| !b.try_take(now)) {
            Some(Injected::RateLimited)
        } else if roll(faults.throttle_probability) {
            Some(Injected::Throttled)
        } else if roll(faults.error_probability) {
            Some(Injected::Internal)
        } else if can_conflict && roll(faults.conflict_probability) {
            Some(Injected::Conflict)
        } else if op == "GetAnswer"
            && workload.is_some_and(|w| faults.missing_question_workloads.contains(w))
        {
            Some(Injected::QuestionMissing)
        } else {
            None
        };
        Decision { delay, fault }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_at_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(20.0, t0); // burst 2
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0));
        // 50 ms at 20/s refills exactly one token.
        let t1 = t0 + Duration::from_millis(50);
        assert!(b.try_take(t1));
        assert!(!b.try_take(t1));
        // A long pause refills only up to the burst.
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!((0..5).filter(|_| b.try_take(t2)).count(), 2);
    }

    #[test]
    fn bucket_burst_is_a_tenth_of_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000.0, t0);
        assert_eq!((0..500).filter(|_| b.try_take(t0)).count(), 100);
    }

    fn throttled_pattern(seed: u64, p: f64, n: usize) -> Vec<bool> {
        let engine = FaultEngine::new(Faults {
            throttle_probability: p,
            seed,
            ..Faults::default()
        });
        let now = Instant::now();
        (0..n)
            .map(|_| {
                engine.decide("GetWorkload", None, false, now).fault == Some(Injected::Throttled)
            })
            .collect()
    }

    #[test]
    fn probabilities_are_deterministic_per_seed_and_roughly_right() {
        let a = throttled_pattern(7, 0.3, 10_000);
        assert_eq!(a, throttled_pattern(7, 0.3, 10_000));
        assert_ne!(a, throttled_pattern(8, 0.3, 10_000));
        let hits = a.iter().filter(|t| **t).count();
        assert!(
            (2_700..3_300).contains(&hits),
            "{hits} throttles of 10000 at p=0.3"
        );
        assert!(throttled_pattern(7, 0.0, 1_000).iter().all(|t| !t));
        assert!(throttled_pattern(7, 1.0, 1_000).iter().all(|t| *t));
    }

    #[test]
    fn deny_wins_and_conflict_only_when_allowed() {
        let engine = FaultEngine::new(Faults {
            deny_workloads: ["w1".to_string()].into(),
            conflict_probability: 1.0,
            latency: Duration::from_millis(5),
            ..Faults::default()
        });
        let now = Instant::now();
        let d = engine.decide("UpdateAnswer", Some("w1"), true, now);
        assert_eq!(d.fault, Some(Injected::Denied));
        assert_eq!(d.delay, Duration::from_millis(5));
        let decide = |w, conflict| engine.decide("UpdateAnswer", Some(w), conflict, now).fault;
        assert_eq!(decide("w2", true), Some(Injected::Conflict));
        assert_eq!(decide("w2", false), None);
        engine.set(Faults {
            deny_operations: ["ListWorkloads".to_string()].into(),
            ..Faults::default()
        });
        let fault = |op| engine.decide(op, None, false, now).fault;
        assert_eq!(fault("ListWorkloads"), Some(Injected::Denied));
        assert_eq!(fault("GetWorkload"), None);
    }
}
