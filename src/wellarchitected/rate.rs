//! A client-side rate limit: requests are spaced evenly at `1 / rate`.
//!
//! Each caller reserves the next free slot under a short lock and sleeps until it,
//! so the long-run rate is exact however late the sleeps wake, and idle time earns
//! no burst (the Tool's limits are not published; smooth is the safe shape).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next_slot: Mutex::new(None),
        }
    }

    /// Waits for this caller's turn.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_slot.lock().unwrap();
            let now = Instant::now();
            let slot = next.map_or(now, |next| next.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_requests_evenly_and_keeps_no_burst_after_idling() {
        let limiter = std::sync::Arc::new(RateLimiter::new(10.0));
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..5 {
            let limiter = limiter.clone();
            handles.push(tokio::spawn(async move {
                limiter.acquire().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for handle in handles {
            times.push(handle.await.unwrap() - start);
        }
        times.sort();
        assert_eq!(
            times,
            (0..5)
                .map(|i| Duration::from_millis(100 * i))
                .collect::<Vec<_>>()
        );

        tokio::time::sleep(Duration::from_secs(10)).await;
        let idle_start = Instant::now();
        limiter.acquire().await;
        limiter.acquire().await;
        assert_eq!(Instant::now() - idle_start, Duration::from_millis(100));
    }
}
