//! `notify.settle`: which transitions are announced.
//!
//! A transition T is announced only if the control held T's state for the settle
//! time (the next transition of the control, if any, came at least `settle` after
//! T), and then only if T's state differs from the state last announced: A→B→C
//! with B short-lived is announced as A→C, A→B→A as nothing. There is no step
//! limit: the store keeps the state last announced per control, written with
//! each decision, so a decision reads the transition, the time of the next one
//! and that state, however long the control flapped before.
//!
//! A control that is flapping (see [`super::flapping`]) is held to the longer of
//! `notify.settle` and the flapping window, so its flips are collapsed until it
//! holds a state that long.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::flapping::Flapping;
pub use crate::store::{
    SettleDecision as Decision, SettleFacts as Facts, SettleRule, SettleStep as Step,
};

/// How long after its window a notification without a successor is decided: a
/// transition is stamped before its transaction commits, so the next one,
/// stamped inside the window, may become visible a little after it closes.
pub const SETTLE_GRACE: Duration = Duration::from_secs(5);

/// Whether a state entered at `at` held until `next`. A `next` stamped before
/// `at` (the wall clock was set back between them) says nothing about how long
/// the state held: it counts as held, so the change is announced, not lost.
pub fn held(at: DateTime<Utc>, next: DateTime<Utc>, window: Duration) -> bool {
    match (next - at).to_std() {
        Ok(gap) => gap >= window,
        Err(_) => true,
    }
}

/// The settle rule for one notification.
#[derive(Clone, Debug)]
pub struct Rule {
    /// `notify.settle`; zero announces every transition at once (unless flapping).
    pub settle: Duration,
    /// How long the publisher has watched the row wait, on the monotonic clock
    /// (see `notify::windows`): decides a row no next transition has followed.
    pub pending_for: Duration,
    pub flapping: Flapping,
}

impl Rule {
    /// The window `facts`' transition must hold for.
    pub fn window(&self, facts: &Facts) -> Duration {
        if self.flapping.is_flapping(&facts.recent) {
            self.settle.max(self.flapping.window)
        } else {
            self.settle
        }
    }
}

impl SettleRule for Rule {
    fn held(&self, at: DateTime<Utc>, next: DateTime<Utc>) -> bool {
        held(at, next, self.settle)
    }

    fn recent(&self) -> usize {
        match self.flapping.transitions {
            0 => 0,
            // One more than an episode, to tell where it began.
            n => n + 1,
        }
    }

    fn decide(&self, facts: &Facts) -> Decision {
        let window = self.window(facts);
        let t = &facts.transition;
        match facts.next_at {
            Some(next) if !held(t.at, next, window) => return Decision::Collapse,
            Some(_) => {}
            None if window.is_zero() => {}
            None => {
                let due = window + SETTLE_GRACE;
                if self.pending_for < due {
                    return Decision::Wait(due - self.pending_for);
                }
            }
        }
        // Without a window every transition is sent, as it was recorded (an
        // enforcement keeps its state and is still news).
        if window.is_zero() || facts.baseline.as_deref() != Some(t.to_state.as_str()) {
            Decision::Announce {
                from_state: facts.baseline.clone(),
            }
        } else {
            Decision::Collapse
        }
    }
}

#[cfg(test)]
mod tests;
