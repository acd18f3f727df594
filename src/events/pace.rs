//! How fast events arrive, for what waits a little for others to join it
//! while they come fast: the inbox's reads and intake's commits. Slower, a
//! window would gather one event, saving nothing for its length of latency,
//! so nothing waits.

use std::time::Duration;

use tokio::time::Instant;

/// Events per second from which reads and commits are paced: a window then
/// gathers two or more. With every read paced, the p99 at 50/s rose from 2.9
/// to 8.4 ms on one machine; at 200/s pacing the reads saves an eighth of the
/// CPU per event for ~6 ms (BENCHMARKS.md, "Seventh pass").
pub const PACE_FROM: f64 = 150.0;

/// How far back the rate looks: an arrival counts for less the older it
/// is, by `exp(-age / RATE_MEMORY)`.
pub const RATE_MEMORY: Duration = Duration::from_millis(50);

/// Recent arrivals, each weighed by its age at the last one: their rate
/// times [`RATE_MEMORY`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ArrivalRate {
    weight: f64,
    last: Option<Instant>,
}

impl ArrivalRate {
    /// `count` events arrived at `now`.
    pub fn arrived(&mut self, now: Instant, count: usize) {
        self.weight = self.weight_at(now) + count as f64;
        self.last = Some(now);
    }

    /// Whether events have been arriving at [`PACE_FROM`] or faster.
    pub fn busy(&self, now: Instant) -> bool {
        self.weight_at(now) >= PACE_FROM * RATE_MEMORY.as_secs_f64()
    }

    fn weight_at(&self, now: Instant) -> f64 {
        let Some(last) = self.last else {
            return 0.0;
        };
        let age = now.saturating_duration_since(last);
        self.weight * (-age.as_secs_f64() / RATE_MEMORY.as_secs_f64()).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn arrivals(rate: &mut ArrivalRate, from: Instant, every: Duration, until: Instant) -> Instant {
        let mut at = from;
        while at < until {
            rate.arrived(at, 1);
            at += every;
        }
        at - every
    }

    #[test]
    fn busy_from_the_pacing_rate_and_no_longer_once_it_falls() {
        let start = Instant::now();
        let mut rate = ArrivalRate::default();
        assert!(!rate.busy(start));
        let last = arrivals(&mut rate, start, MS * 10, start + MS * 1000);
        assert!(!rate.busy(last), "100/s");
        let last = arrivals(&mut rate, last + MS * 5, MS * 5, last + MS * 1000);
        assert!(rate.busy(last), "200/s");
        assert!(rate.busy(last + MS * 5));
        assert!(!rate.busy(last + MS * 100), "nothing for 100 ms");
        let last = arrivals(&mut rate, last + MS * 20, MS * 20, last + MS * 500);
        assert!(!rate.busy(last), "50/s");
    }

    #[test]
    fn a_batch_counts_as_its_events() {
        let start = Instant::now();
        let mut rate = ArrivalRate::default();
        rate.arrived(start, 10);
        assert!(rate.busy(start));
        assert!(!rate.busy(start + MS * 100));
    }
}
