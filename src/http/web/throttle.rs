//! Failed `/login` attempts, bounded: a token bucket per client (an IPv4 address,
//! or an IPv6 /64, which one host is commonly given whole) and one for every
//! client together. A failure spends a token; a client whose bucket (or the
//! global one) is empty is answered 429 with `Retry-After` before its token is
//! even compared, so guessing runs at the refill rate whatever the request rate.
//! Successful logins spend nothing.
//!
//! Memory is bounded: at most [`MAX_CLIENTS`] buckets are kept; a bucket that
//! has refilled is the same as none and is dropped first; past the bound a new
//! client has only the global bucket. Failures are logged at WARN, at most one
//! line per [`LOG_EVERY`], which counts the failures left out, so a flood of
//! guesses cannot flood the log.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Failures one client may make in a burst, and how fast it may make more.
pub const CLIENT_BURST: f64 = 10.0;
pub const CLIENT_REFILL_PER_SECOND: f64 = 1.0 / 6.0;
/// Failures all clients together may make in a burst, and how fast more.
pub const GLOBAL_BURST: f64 = 100.0;
pub const GLOBAL_REFILL_PER_SECOND: f64 = 2.0;
/// Client buckets kept at most.
pub const MAX_CLIENTS: usize = 10_000;
/// At most one WARN line about failed logins per this long.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, burst: f64, per_second: f64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(burst);
        self.at = now;
    }

    /// How long until one token is there (zero when one is).
    fn wait(&self, per_second: f64) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) / per_second)
        }
    }
}

/// What to log about a failure, when a line is due.
#[derive(Debug, PartialEq)]
pub struct LogLine {
    pub client: IpAddr,
    /// Failures since the last line that were not logged.
    pub unlogged: u64,
}

#[derive(Debug)]
struct State {
    clients: HashMap<IpAddr, Bucket>,
    global: Bucket,
    last_log: Option<Instant>,
    unlogged: u64,
    /// When full buckets were last dropped: at most once per [`SWEEP_EVERY`], so
    /// a flood of new addresses at the bound costs no scan each.
    last_sweep: Option<Instant>,
}

const SWEEP_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct LoginThrottle {
    state: Mutex<State>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(Instant::now())
    }
}

/// The key a client's failures count under: its IPv4 address, or its IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
        v4 => v4,
    }
}

impl LoginThrottle {
    pub fn new(now: Instant) -> LoginThrottle {
        LoginThrottle {
            state: Mutex::new(State {
                clients: HashMap::new(),
                global: Bucket::full(GLOBAL_BURST, now),
                last_log: None,
                unlogged: 0,
                last_sweep: None,
            }),
        }
    }

    /// Whether `client` may try a token now; if not, how long until it may.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap();
        state
            .global
            .refill(GLOBAL_BURST, GLOBAL_REFILL_PER_SECOND, now);
        let mut wait = state.global.wait(GLOBAL_REFILL_PER_SECOND);
        if let Some(bucket) = state.clients.get_mut(&client_key(client)) {
            bucket.refill(CLIENT_BURST, CLIENT_REFILL_PER_SECOND, now);
            wait = wait.max(bucket.wait(CLIENT_REFILL_PER_SECOND));
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    /// Records a wrong token from `client`; returns a line to log when one is due.
    pub fn failed(&self, client: IpAddr, now: Instant) -> Option<LogLine> {
        let mut state = self.state.lock().unwrap();
        let state = &mut *state;
        state
            .global
            .refill(GLOBAL_BURST, GLOBAL_REFILL_PER_SECOND, now);
        state.global.tokens = (state.global.tokens - 1.0).max(0.0);
        let key = client_key(client);
        let sweep_due = state
            .last_sweep
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY);
        if sweep_due && !state.clients.contains_key(&key) && state.clients.len() >= MAX_CLIENTS {
            state.last_sweep = Some(now);
            state.clients.retain(|_, bucket| {
                bucket.refill(CLIENT_BURST, CLIENT_REFILL_PER_SECOND, now);
                bucket.tokens < CLIENT_BURST
            });
        }
        if state.clients.len() < MAX_CLIENTS || state.clients.contains_key(&key) {
            let bucket = state
                .clients
                .entry(key)
                .or_insert(Bucket::full(CLIENT_BURST, now));
            bucket.refill(CLIENT_BURST, CLIENT_REFILL_PER_SECOND, now);
            bucket.tokens = (bucket.tokens - 1.0).max(0.0);
        }
        let due = state
            .last_log
            .is_none_or(|at| now.saturating_duration_since(at) >= LOG_EVERY);
        if due {
            state.last_log = Some(now);
            Some(LogLine {
                client,
                unlogged: std::mem::take(&mut state.unlogged),
            })
        } else {
            state.unlogged += 1;
            None
        }
    }

    #[cfg(test)]
    fn clients(&self) -> usize {
        self.state.lock().unwrap().clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn one_client_is_stopped_after_its_burst_and_told_when_to_retry() {
        let now = Instant::now();
        let throttle = LoginThrottle::new(now);
        let client = ip("192.0.2.1");
        for _ in 0..CLIENT_BURST as usize {
            assert_eq!(throttle.check(client, now), Ok(()));
            throttle.failed(client, now);
        }
        let wait = throttle.check(client, now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(6));
        // Another client is not held back by this one.
        assert_eq!(throttle.check(ip("192.0.2.2"), now), Ok(()));
        assert_eq!(throttle.check(client, now + wait), Ok(()));
    }

    #[test]
    fn an_ipv6_64_counts_as_one_client() {
        let now = Instant::now();
        let throttle = LoginThrottle::new(now);
        for n in 0..CLIENT_BURST as usize {
            throttle.failed(ip(&format!("2001:db8::{n:x}")), now);
        }
        assert!(throttle.check(ip("2001:db8::ffff:1"), now).is_err());
        assert!(throttle.check(ip("2001:db8:0:1::1"), now).is_ok());
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn many_clients_together_are_stopped_by_the_global_bucket() {
        let now = Instant::now();
        let throttle = LoginThrottle::new(now);
        for n in 0..GLOBAL_BURST as u32 {
            throttle.failed(IpAddr::V4(n.into()), now);
        }
        let wait = throttle.check(ip("198.51.100.7"), now).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
    }

    #[test]
    fn memory_is_bounded_whatever_the_number_of_clients() {
        let now = Instant::now();
        let throttle = LoginThrottle::new(now);
        for n in 0..(MAX_CLIENTS as u32 * 3) {
            throttle.failed(IpAddr::V4(n.into()), now);
        }
        assert_eq!(throttle.clients(), MAX_CLIENTS);
        // Refilled buckets are dropped to make room for new clients.
        let later = now + Duration::from_secs(3600);
        throttle.failed(ip("203.0.113.9"), later);
        assert_eq!(throttle.clients(), 1);
    }

    #[test]
    fn failures_are_logged_at_most_once_per_interval_with_the_rest_counted() {
        let now = Instant::now();
        let throttle = LoginThrottle::new(now);
        let client = ip("192.0.2.1");
        let lines: Vec<_> = (0..3000)
            .filter_map(|_| throttle.failed(client, now))
            .collect();
        assert_eq!(
            lines,
            [LogLine {
                client,
                unlogged: 0
            }]
        );
        let next = throttle.failed(client, now + LOG_EVERY);
        assert_eq!(
            next,
            Some(LogLine {
                client,
                unlogged: 2999
            })
        );
    }
}
