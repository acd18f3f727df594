//! The adaptive rate of one account-region: additive-increase/multiplicative-
//! decrease with a memory of where the Tool last throttled.
//!
//! AWS publishes no rate for the Well-Architected Tool, so rel04d learns it:
//!
//! - **Slow start**: with nothing known, the rate grows by a fixed amount per
//!   successful call, which doubles it about every 15 ms while calls flow
//!   (exponential, like TCP's slow start), until the first throttle.
//! - **Cut**: a throttle takes the rate the Tool accepted over the last second
//!   (successes, not attempts: above a hard limit every extra attempt is a 429)
//!   as the limit, and cuts the rate to [`CUT`] of it. Only one cut per round:
//!   throttles of calls sent before the last cut answer a rate already left
//!   behind. A round in which nothing got through cuts the rate deeper but
//!   keeps the limit: a Tool that counts calls over a window shuts for the rest
//!   of it once slow start has spent it, and opens again at its full rate.
//! - **Reopen**: the first success after such a round measures the limit again,
//!   as what got through in a second (what slow start's burst got through, when
//!   the shut followed it), and the rate resumes at [`CUT`] of it instead of
//!   climbing back from the deep cuts.
//! - **Recover, then probe**: below [`SETTLE`] × limit the rate climbs back fast
//!   (recovery costs little throughput); near the limit it probes slowly, so a
//!   sweep spends very few calls on 429s; past [`ESCAPE`] × limit (the Tool's
//!   limit went up) it climbs fast again.
//!
//! Growth is per success, so a rate the calls do not use (workers are the
//! bottleneck, or nothing runs) does not grow: the caller says whether the call
//! had to wait for its slot. The learned limit is what is persisted and what a
//! restart or another replica resumes from.
//!
//! Pure: no I/O, and time only as the caller passes it; `rate.rs` paces calls
//! with it.

use std::time::Duration;

use tokio::time::Instant;

/// Where an unknown account-region starts: the old fixed default, well under
/// any limit AWS applies to read calls.
pub const INITIAL_RATE: f64 = 10.0;
/// The rate never goes below this, however hard the Tool throttles: retries
/// still make progress, one call per second.
const FLOOR: f64 = 1.0;
/// Requests per second added per success, by phase. With r calls a second, an
/// addition of g per success grows the rate by a factor e^g per second.
const SLOW_START_GROWTH: f64 = 48.0;
const RECOVERY_GROWTH: f64 = 2.0;
const PROBE_GROWTH: f64 = 0.02;
const ESCAPE_GROWTH: f64 = 0.5;
/// A throttle cuts the rate to this fraction of the limit it measured…
pub const CUT: f64 = 0.85;
/// …or to this one when no call sent since the last cut succeeded: the limit is
/// far below (it dropped, or slow start overshot), so get there in few rounds.
const DEEP_CUT: f64 = 0.5;
/// Recovery climbs fast up to this fraction of the limit, probing slowly beyond.
pub const SETTLE: f64 = 0.95;
/// Beyond this multiple of the limit, the old limit no longer holds.
const ESCAPE: f64 = 1.1;
/// The accepted rate is measured over the most recent [`BUCKET`]s that hold
/// [`ENOUGH_SAMPLES`] successes (a second at most: short at high rates, so the
/// estimate is current; long at low ones, so it is not noise)…
const BUCKET: Duration = Duration::from_millis(50);
const WINDOW_BUCKETS: u64 = 20;
const ENOUGH_SAMPLES: u64 = 20;
/// …and only with at least this many; otherwise the attempted rate stands in.
const MIN_SAMPLES: u64 = 5;
/// The rate grows only while under this multiple of the accepted rate: a rate
/// the calls do not use (workers are the bottleneck) proves nothing. Checked
/// when the accepted rate is measured over at most [`UNUSED_SPAN`]: slower
/// measurements lag slow start too much to gate it, and low rates cost nothing.
const UNUSED: f64 = 4.0;
const UNUSED_SPAN: Duration = Duration::from_millis(250);

#[derive(Clone, Debug, PartialEq)]
pub struct AdaptiveRate {
    rate: f64,
    ceiling: f64,
    /// The rate at which the Tool last throttled; `None` until it has.
    limit: Option<f64>,
    /// Bumped by every cut; calls carry the round they were sent in.
    round: u64,
    /// Successes of calls sent in this round.
    round_successes: u64,
    /// Set by a round in which nothing got through (the Tool shut); the first
    /// success after it measures the limit again.
    shut: bool,
    /// Successes of calls sent in slow start (a scope with nothing learned),
    /// until a round after it gets calls through.
    slow_start_admitted: Option<u64>,
    /// Successes of the last second.
    successes: Throughput,
}

impl AdaptiveRate {
    /// A fresh account-region (`learned` = None) starts at [`INITIAL_RATE`] in slow
    /// start; a known one resumes just under its learned limit. Nothing exceeds
    /// `ceiling`, and a learned limit outside floor..=ceiling (a row edited by
    /// hand, a ceiling lowered since) is taken as the nearest bound, so it is
    /// never saved back as it was read.
    pub fn new(ceiling: f64, learned: Option<f64>) -> Self {
        let learned = learned.filter(|limit| !limit.is_nan());
        let rate = match learned {
            Some(limit) => limit * SETTLE,
            None => INITIAL_RATE,
        };
        let bounds = FLOOR.min(ceiling)..=ceiling;
        AdaptiveRate {
            rate: rate.clamp(*bounds.start(), *bounds.end()),
            ceiling,
            limit: learned.map(|limit| limit.clamp(*bounds.start(), *bounds.end())),
            round: 0,
            round_successes: 0,
            shut: false,
            slow_start_admitted: learned.is_none().then_some(0),
            successes: Throughput::default(),
        }
    }

    /// Requests per second allowed now.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn round(&self) -> u64 {
        self.round
    }

    /// What to remember across sweeps and restarts: the limit where the Tool
    /// throttled, or, while it never has, the rate reached so far.
    pub fn learned(&self) -> f64 {
        self.limit
            .unwrap_or(self.rate)
            .clamp(FLOOR.min(self.ceiling), self.ceiling)
    }

    /// A call of `round` succeeded at `now`; `waited` says whether it waited for
    /// its slot (only then was the rate what held it back).
    pub fn succeeded(&mut self, round: u64, waited: bool, now: Instant) {
        self.successes.add(now);
        if round == 0
            && let Some(admitted) = &mut self.slow_start_admitted
        {
            *admitted += 1;
        }
        if round != self.round {
            return;
        }
        self.round_successes += 1;
        if std::mem::take(&mut self.shut) {
            self.reopened(now);
            return;
        }
        if !waited {
            return;
        }
        if self
            .successes
            .per_second(now)
            .is_some_and(|(used, span)| span <= UNUSED_SPAN && self.rate > UNUSED * used)
        {
            return;
        }
        let growth = match self.limit {
            None => SLOW_START_GROWTH,
            Some(limit) if self.rate < SETTLE * limit => RECOVERY_GROWTH,
            Some(limit) if self.rate < ESCAPE * limit => PROBE_GROWTH,
            Some(_) => ESCAPE_GROWTH,
        };
        self.rate = (self.rate + growth).min(self.ceiling);
    }

    /// The first success after the Tool shut. What it admitted over the last
    /// second is its limit: a window counts exactly that, and a bucket refills
    /// at it. When the shut followed slow start directly, what slow start got
    /// through is: a Tool that lets a burst through and then shuts for most of
    /// a second counts calls over a window, and as it reopens the burst is
    /// leaving the last second. The limit kept through the shut was measured
    /// over that burst's span, far above; climbing back to it from the deep
    /// cuts took seconds and overshot into a second shut.
    fn reopened(&mut self, now: Instant) {
        let last_second = self.successes.over_the_last_second(now);
        let slow_start = self.slow_start_admitted.take().map(|count| count as f64);
        let Some(admitted) = last_second.into_iter().chain(slow_start).reduce(f64::max) else {
            return;
        };
        let bounds = FLOOR.min(self.ceiling)..=self.ceiling;
        let limit = admitted.clamp(*bounds.start(), *bounds.end());
        self.limit = Some(limit);
        self.rate = self.rate.max(limit * CUT).min(self.ceiling);
    }

    /// A call of `round` was throttled at `now`.
    pub fn throttled(&mut self, round: u64, now: Instant) {
        if round != self.round {
            return;
        }
        let accepted = self.successes.per_second(now).map(|(recent, _)| recent);
        let limit = accepted.map_or(self.rate, |accepted| accepted.min(self.rate));
        if self.round > 0 && self.round_successes == 0 {
            // Nothing sent since the last cut got through: the Tool is shut for
            // now (a window full of earlier calls) or its limit dropped. Back
            // off fast, but this says nothing of the rate it admits once open,
            // so the limit stands and recovery climbs back to it quickly.
            self.limit = Some(self.limit.unwrap_or(limit));
            self.rate = (self.rate * DEEP_CUT).max(FLOOR.min(self.ceiling));
            self.shut = true;
        } else {
            if self.round > 0 {
                // Calls got through after slow start: no burst to count.
                self.slow_start_admitted = None;
            }
            self.limit = Some(limit);
            self.rate = (limit * CUT).max(FLOOR.min(self.ceiling));
        }
        self.round += 1;
        self.round_successes = 0;
    }
}

/// Successes counted in [`BUCKET`]-wide buckets over the last second.
#[derive(Clone, Debug, Default, PartialEq)]
struct Throughput {
    /// The instant bucket 0 starts at: the first success.
    origin: Option<Instant>,
    /// (bucket number, successes in it), indexed by bucket number modulo the ring.
    ring: [(u64, u64); WINDOW_BUCKETS as usize],
}

impl Throughput {
    fn bucket(&mut self, now: Instant) -> (Instant, u64) {
        let origin = *self.origin.get_or_insert(now);
        let elapsed = now.saturating_duration_since(origin);
        (origin, (elapsed.as_nanos() / BUCKET.as_nanos()) as u64)
    }

    fn add(&mut self, now: Instant) {
        let (_, number) = self.bucket(now);
        let slot = &mut self.ring[(number % WINDOW_BUCKETS) as usize];
        if slot.0 != number {
            *slot = (number, 0);
        }
        slot.1 += 1;
    }

    /// Successes per second over the whole last second (or since the first
    /// success, if more recent), with at least [`MIN_SAMPLES`].
    fn over_the_last_second(&self, now: Instant) -> Option<f64> {
        let origin = self.origin?;
        let elapsed = now.saturating_duration_since(origin);
        let current = (elapsed.as_nanos() / BUCKET.as_nanos()) as u64;
        let first = current.saturating_sub(WINDOW_BUCKETS - 1);
        let count: u64 = (first..=current)
            .map(|number| self.ring[(number % WINDOW_BUCKETS) as usize])
            .filter(|(at, _)| (first..=current).contains(at))
            .map(|(_, successes)| successes)
            .sum();
        let span = elapsed.saturating_sub(BUCKET * first as u32);
        (count >= MIN_SAMPLES && !span.is_zero()).then(|| count as f64 / span.as_secs_f64())
    }

    /// Recent successes per second, and the span measured: over the latest
    /// buckets that hold [`ENOUGH_SAMPLES`] (the current one partly elapsed), at
    /// most a second back.
    fn per_second(&self, now: Instant) -> Option<(f64, Duration)> {
        let origin = self.origin?;
        let elapsed = now.saturating_duration_since(origin);
        let current = (elapsed.as_nanos() / BUCKET.as_nanos()) as u64;
        let mut count = 0;
        let mut first = current;
        for number in (current.saturating_sub(WINDOW_BUCKETS - 1)..=current).rev() {
            let (at, successes) = self.ring[(number % WINDOW_BUCKETS) as usize];
            if at == number {
                count += successes;
            }
            first = number;
            if count >= ENOUGH_SAMPLES {
                break;
            }
        }
        let span = elapsed.saturating_sub(BUCKET * first as u32);
        (count >= MIN_SAMPLES && !span.is_zero()).then(|| (count as f64 / span.as_secs_f64(), span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        Instant::now()
    }

    /// `count` successes of `round` (`waited` for their slots), `every` apart
    /// from `start`.
    fn succeed(
        rate: &mut AdaptiveRate,
        round: u64,
        waited: bool,
        count: u32,
        start: Instant,
        every: Duration,
    ) {
        for i in 0..count {
            rate.succeeded(round, waited, start + every * i);
        }
    }

    #[test]
    fn slow_start_grows_exponentially_per_success_and_only_when_waiting() {
        let mut rate = AdaptiveRate::new(10_000.0, None);
        assert_eq!(rate.rate(), INITIAL_RATE);
        rate.succeeded(0, false, now());
        assert_eq!(rate.rate(), INITIAL_RATE, "an unused rate does not grow");
        for _ in 0..100 {
            rate.succeeded(0, true, now());
        }
        assert_eq!(rate.rate(), INITIAL_RATE + 100.0 * SLOW_START_GROWTH);
        assert_eq!(rate.learned(), rate.rate(), "no limit seen yet");
    }

    #[test]
    fn a_throttle_cuts_once_per_round_and_remembers_the_limit() {
        let mut rate = AdaptiveRate::new(10_000.0, Some(100.0));
        let before = rate.rate();
        rate.throttled(0, now());
        assert_eq!(rate.rate(), before * CUT);
        assert_eq!(rate.learned(), before);
        // More throttles of calls sent before the cut change nothing.
        rate.throttled(0, now());
        rate.succeeded(0, true, now());
        assert_eq!(rate.rate(), before * CUT);
        rate.succeeded(1, false, now());
        rate.throttled(1, now());
        assert_eq!(rate.rate(), before * CUT * CUT);
        // A round in which nothing succeeded cuts deeper.
        rate.throttled(2, now());
        assert_eq!(rate.rate(), before * CUT * CUT * DEEP_CUT);
    }

    #[test]
    fn a_round_in_which_nothing_got_through_keeps_the_limit_it_cuts_below() {
        let start = Instant::now();
        let mut rate = AdaptiveRate::new(10_000.0, Some(300.0));
        succeed(&mut rate, 0, false, 100, start, Duration::from_millis(3));
        rate.throttled(0, start + Duration::from_millis(300));
        let limit = rate.learned();
        // The Tool is shut: round after round, nothing gets through.
        for round in 1..6 {
            rate.throttled(round, start + Duration::from_millis(300 + 10 * round));
        }
        assert_eq!(
            rate.learned(),
            limit,
            "a shut Tool says nothing of its rate"
        );
        assert!(rate.rate() < limit * CUT * DEEP_CUT.powi(4));
        // Once it opens, the rate resumes under what got through in the last
        // second (100 calls in 400 ms), then climbs at recovery's pace.
        let shut = rate.rate();
        let round = rate.round();
        rate.succeeded(round, true, start + Duration::from_millis(400));
        let reopened = rate.rate();
        assert!(reopened > shut, "resumed at {reopened}, shut at {shut}");
        assert_eq!(reopened, rate.learned() * CUT);
        for i in 1..10 {
            rate.succeeded(round, true, start + Duration::from_millis(400 + i));
        }
        assert_eq!(rate.rate(), reopened + 9.0 * RECOVERY_GROWTH);
    }

    /// Slow start lets 300 calls through in 150 ms, then the Tool shuts (a
    /// one-second window) until they age out.
    fn shut_after_slow_start(start: Instant) -> AdaptiveRate {
        let mut rate = AdaptiveRate::new(10_000.0, None);
        succeed(&mut rate, 0, true, 300, start, Duration::from_micros(500));
        rate.throttled(0, start + Duration::from_millis(150));
        for round in 1..8 {
            rate.throttled(round, start + Duration::from_millis(150 + 50 * round));
        }
        rate
    }

    #[test]
    fn a_tool_that_reopens_after_slow_start_s_burst_is_resumed_at_what_the_burst_got_through() {
        let start = Instant::now();
        let mut rate = shut_after_slow_start(start);
        assert!(rate.learned() > 1_000.0, "measured over the burst's span");
        assert!(rate.rate() < 20.0, "deep cuts while shut");
        let round = rate.round();
        rate.succeeded(round, true, start + Duration::from_millis(1_050));
        assert_eq!(rate.learned(), 300.0, "the burst: what a window admits");
        assert_eq!(rate.rate(), 300.0 * CUT);
    }

    #[test]
    fn a_tool_that_reopens_after_a_drop_is_resumed_at_what_it_admitted_in_the_last_second() {
        let start = Instant::now();
        let mut rate = AdaptiveRate::new(10_000.0, Some(100.0));
        // 20 calls a second get through for a second, then a round gets none.
        succeed(&mut rate, 0, false, 20, start, Duration::from_millis(50));
        rate.throttled(0, start + Duration::from_millis(1_000));
        rate.throttled(1, start + Duration::from_millis(1_010));
        let shut = rate.rate();
        rate.succeeded(2, true, start + Duration::from_millis(1_020));
        let learned = rate.learned();
        assert!((19.0..=22.0).contains(&learned), "learned {learned}");
        assert_eq!(rate.rate(), shut.max(learned * CUT));
    }

    #[test]
    fn a_burst_whose_next_rounds_got_through_is_not_taken_for_a_window() {
        let start = Instant::now();
        let mut rate = AdaptiveRate::new(10_000.0, None);
        succeed(&mut rate, 0, true, 300, start, Duration::from_micros(500));
        rate.throttled(0, start + Duration::from_millis(150));
        // A bucket: the next round gets calls through, then throttles.
        rate.succeeded(1, false, start + Duration::from_millis(160));
        rate.throttled(1, start + Duration::from_millis(170));
        // Much later the Tool shuts and reopens: only the last second counts.
        let later = start + Duration::from_secs(5);
        succeed(&mut rate, 2, false, 10, later, Duration::from_millis(100));
        rate.throttled(2, later + Duration::from_millis(1_000));
        rate.throttled(3, later + Duration::from_millis(1_010));
        rate.succeeded(4, true, later + Duration::from_millis(1_020));
        let learned = rate.learned();
        assert!(learned < 15.0, "learned {learned}, not the burst's 300");
    }

    #[test]
    fn recovery_is_fast_probing_near_the_limit_slow() {
        let mut rate = AdaptiveRate::new(10_000.0, Some(100.0));
        rate.throttled(0, now()); // limit 95, rate 80.75
        let round = rate.round();
        let mut successes = 0;
        while rate.rate() < SETTLE * 95.0 {
            rate.succeeded(round, true, now());
            successes += 1;
        }
        assert!(successes <= 10, "{successes} successes to recover");
        let settled = rate.rate();
        for _ in 0..100 {
            rate.succeeded(round, true, now());
        }
        assert!(rate.rate() - settled <= 100.0 * PROBE_GROWTH + 1e-9);
    }

    #[test]
    fn the_ceiling_and_the_floor_hold() {
        let mut rate = AdaptiveRate::new(25.0, None);
        for _ in 0..100 {
            rate.succeeded(0, true, now());
        }
        assert_eq!(rate.rate(), 25.0);
        for round in 0..100 {
            rate.throttled(round, now());
        }
        assert_eq!(rate.rate(), FLOOR);
        assert_eq!(AdaptiveRate::new(0.5, None).rate(), 0.5);
        assert_eq!(AdaptiveRate::new(20.0, Some(1_000.0)).rate(), 20.0);
    }

    #[test]
    fn a_learned_limit_resumes_just_under_it() {
        let rate = AdaptiveRate::new(10_000.0, Some(200.0));
        assert_eq!(rate.rate(), 200.0 * SETTLE);
        assert_eq!(rate.learned(), 200.0);
    }

    #[test]
    fn a_poisoned_learned_limit_is_clamped_in_what_is_kept_and_saved() {
        let tiny = AdaptiveRate::new(10_000.0, Some(1e-300));
        assert_eq!(tiny.rate(), FLOOR);
        assert_eq!(tiny.learned(), FLOOR, "saved back as read");
        let huge = AdaptiveRate::new(50.0, Some(1e300));
        assert_eq!(huge.learned(), 50.0);
        let infinite = AdaptiveRate::new(50.0, Some(f64::INFINITY));
        assert_eq!(infinite.learned(), 50.0);
        assert_eq!(
            AdaptiveRate::new(50.0, Some(f64::NAN)).learned(),
            INITIAL_RATE
        );
    }

    #[test]
    fn the_limit_is_what_the_tool_accepted_not_what_was_tried() {
        let start = Instant::now();
        let mut rate = AdaptiveRate::new(10_000.0, Some(100.0));
        // 20 successes a second for a second, while attempting 95 a second.
        for i in 0..20 {
            rate.succeeded(0, false, start + Duration::from_millis(50 * i));
        }
        rate.throttled(0, start + Duration::from_secs(1));
        let learned = rate.learned();
        assert!((19.0..=21.0).contains(&learned), "learned {learned}");
        assert_eq!(rate.rate(), learned * CUT);
    }
}
