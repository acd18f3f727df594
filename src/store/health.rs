//! Whether the store is taking writes: the wedge detector behind `/healthz` and
//! the intake's 503.
//!
//! A store that refuses every write (a full disk, a read-only file system, a
//! connection stuck in a broken state) must not look healthy: the daemon would
//! run on, evaluating and recording nothing. The tracker remembers since when
//! writes have failed without one success in between; readers compare that with
//! their own bound.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct WriteHealth {
    /// When the first write failed since the last one that succeeded.
    failing_since: Mutex<Option<Instant>>,
}

impl WriteHealth {
    /// Records the outcome of one write.
    pub fn observe(&self, succeeded: bool) {
        let mut failing_since = self.failing_since.lock().unwrap();
        match (succeeded, *failing_since) {
            (true, _) => *failing_since = None,
            (false, None) => *failing_since = Some(Instant::now()),
            (false, Some(_)) => {}
        }
    }

    /// How long every write has been failing; `None` when the last one succeeded.
    pub fn failing_for(&self) -> Option<Duration> {
        self.failing_since
            .lock()
            .unwrap()
            .map(|since| since.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_from_the_first_until_a_success() {
        let health = WriteHealth::default();
        assert_eq!(health.failing_for(), None);
        health.observe(false);
        std::thread::sleep(Duration::from_millis(20));
        health.observe(false);
        let failing = health.failing_for().expect("failing");
        assert!(
            failing >= Duration::from_millis(20),
            "counted from the first failure"
        );
        health.observe(true);
        assert_eq!(health.failing_for(), None);
    }
}
