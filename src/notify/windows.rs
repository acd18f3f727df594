//! When each undecided notification is due for its settle decision, measured on
//! the monotonic clock, so a wall clock set back (or forward) neither holds a
//! notification for the size of the jump nor sends it early.
//!
//! A row's wait starts when this publisher first sees it, credited with the
//! row's wall-clock age at that moment (never below zero, never above the
//! longest window): a publisher that starts (or restarts) after a row was
//! written continues its window where the wall clock says it is; one that
//! first sees a row stamped "in the future" (its own clock was set back since)
//! starts the window over. Either way a row waits at most its window plus
//! [`super::settle::SETTLE_GRACE`] from when it is first seen. A row whose
//! control changed state again is due at once: its decision no longer waits
//! on time.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::store::Undecided;

/// The publisher's clocks: the wall clock (stamps, claims) and the monotonic
/// one (settle windows). The wall clock can be shifted, for tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    wall_offset: chrono::Duration,
}

impl Clock {
    /// A wall clock `offset` away from the system's.
    pub fn shifted(offset: chrono::Duration) -> Clock {
        Clock {
            wall_offset: offset,
        }
    }

    pub fn wall(&self) -> DateTime<Utc> {
        Utc::now() + self.wall_offset
    }

    pub fn monotonic(&self) -> Instant {
        Instant::now()
    }
}

#[derive(Clone, Copy, Debug)]
struct Tracked {
    seen: Instant,
    /// The row's wall-clock age when first seen, clamped.
    credit: Duration,
    /// Due once it has waited this long.
    due_after: Duration,
}

/// The undecided rows a publisher watches (at most about as many as it reads at once).
#[derive(Debug, Default)]
pub struct Windows {
    rows: HashMap<i64, Tracked>,
}

impl Windows {
    /// Takes in the undecided rows just read, oldest first: new ones start their
    /// wait, and rows in the range read that are no longer undecided are
    /// forgotten. `complete`: the read reached the newest row (else rows after
    /// the last one read are kept as they are). `first_due` is how long a new row
    /// waits (its window plus the grace); `max_credit` caps its credited age.
    pub fn observe(
        &mut self,
        undecided: &[Undecided],
        complete: bool,
        (wall, now): (DateTime<Utc>, Instant),
        first_due: Duration,
        max_credit: Duration,
    ) {
        let read_through = match undecided.last() {
            Some(last) if !complete => last.id,
            _ => i64::MAX,
        };
        let read: HashSet<i64> = undecided.iter().map(|row| row.id).collect();
        self.rows
            .retain(|id, _| *id > read_through || read.contains(id));
        for row in undecided {
            self.rows.entry(row.id).or_insert_with(|| Tracked {
                seen: now,
                credit: (wall - row.created_at)
                    .to_std()
                    .unwrap_or_default()
                    .min(max_credit),
                due_after: first_due,
            });
        }
    }

    /// How long `id` has waited, as far as this publisher can tell.
    pub fn pending_for(&self, id: i64, now: Instant) -> Duration {
        self.rows
            .get(&id)
            .map_or(Duration::ZERO, |t| now.duration_since(t.seen) + t.credit)
    }

    /// The ids of `undecided` due now, oldest first, at most `limit`.
    pub fn due(&self, undecided: &[Undecided], now: Instant, limit: usize) -> Vec<i64> {
        undecided
            .iter()
            .filter(|row| {
                row.has_next
                    || self
                        .rows
                        .get(&row.id)
                        .is_some_and(|t| self.pending_for(row.id, now) >= t.due_after)
            })
            .map(|row| row.id)
            .take(limit)
            .collect()
    }

    /// `id` is not due before it has waited `more` beyond now.
    pub fn wait(&mut self, id: i64, now: Instant, more: Duration) {
        let waited = self.pending_for(id, now);
        if let Some(tracked) = self.rows.get_mut(&id) {
            tracked.due_after = waited + more;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn row(id: i64, created_at: DateTime<Utc>, has_next: bool) -> Undecided {
        Undecided {
            id,
            created_at,
            has_next,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_wall_clock_set_back_does_not_hold_a_row_for_the_jump() {
        let written = Utc::now();
        let mut windows = Windows::default();
        let rows = [row(1, written, false)];
        windows.observe(&rows, true, (written, Instant::now()), WINDOW, WINDOW);
        tokio::time::advance(Duration::from_secs(30)).await;
        // The wall clock goes back an hour; the row was already seen.
        let wall = written - chrono::Duration::hours(1);
        windows.observe(&rows, true, (wall, Instant::now()), WINDOW, WINDOW);
        assert_eq!(windows.due(&rows, Instant::now(), 10), Vec::<i64>::new());
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(windows.due(&rows, Instant::now(), 10), [1]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_row_first_seen_after_the_clock_went_back_waits_one_window() {
        let written = Utc::now();
        let wall = written - chrono::Duration::hours(1);
        let mut windows = Windows::default();
        let rows = [row(1, written, false)];
        windows.observe(&rows, true, (wall, Instant::now()), WINDOW, WINDOW);
        tokio::time::advance(WINDOW - Duration::from_secs(1)).await;
        assert!(windows.due(&rows, Instant::now(), 10).is_empty());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(windows.due(&rows, Instant::now(), 10), [1]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_continues_the_window_by_the_rows_age_and_a_jump_forward_is_capped() {
        let now = Utc::now();
        let mut windows = Windows::default();
        let rows = [
            row(1, now - chrono::Duration::seconds(50), false),
            row(2, now - chrono::Duration::hours(5), false),
            row(3, now, true),
        ];
        windows.observe(&rows, true, (now, Instant::now()), WINDOW, WINDOW);
        assert_eq!(windows.due(&rows, Instant::now(), 10), [2, 3]);
        assert_eq!(windows.pending_for(2, Instant::now()), WINDOW);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(windows.due(&rows, Instant::now(), 2), [1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_pushes_the_row_back_and_decided_rows_are_forgotten() {
        let now = Utc::now();
        let mut windows = Windows::default();
        let rows = [row(1, now - chrono::Duration::hours(1), false)];
        windows.observe(&rows, true, (now, Instant::now()), WINDOW, WINDOW);
        windows.wait(1, Instant::now(), Duration::from_secs(5));
        assert!(windows.due(&rows, Instant::now(), 10).is_empty());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(windows.due(&rows, Instant::now(), 10), [1]);
        windows.observe(&[], true, (now, Instant::now()), WINDOW, WINDOW);
        assert_eq!(windows.pending_for(1, Instant::now()), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn rows_after_a_partial_read_keep_their_wait() {
        let now = Utc::now();
        let mut windows = Windows::default();
        let rows = [row(1, now, false), row(2, now, false), row(3, now, false)];
        windows.observe(&rows, true, (now, Instant::now()), WINDOW, WINDOW);
        tokio::time::advance(Duration::from_secs(30)).await;
        // Row 1 was decided; the next read stopped at row 2.
        windows.observe(&rows[1..2], false, (now, Instant::now()), WINDOW, WINDOW);
        assert_eq!(windows.pending_for(1, Instant::now()), Duration::ZERO);
        assert_eq!(
            windows.pending_for(3, Instant::now()),
            Duration::from_secs(30)
        );
    }
}
