//! `notify.settle`: which transitions are announced, decided from the history alone.
//!
//! A transition T is announced only if the control held T's state for the settle
//! time, that is, the next transition of the control (if any) came at least
//! `settle` after T. It is then announced as a change from the state last
//! announced — the state of the latest earlier transition that held — so
//! A→B→C with B short-lived is announced as A→C, and A→B→A as nothing (T's state
//! is the one already announced).
//!
//! The decision reads only `transitions`, which is never updated, so it is the
//! same whenever and however often it is made: a publisher killed mid-decision,
//! a restart inside the window, or two replicas reach the same answer.

use chrono::{DateTime, Duration, Utc};

pub use crate::store::{SettleHistory as History, SettleStep as Step};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send, as a change from this state (`None`: the control was new).
    Announce { from_state: Option<String> },
    /// Do not send: the state did not hold, or is the one already announced.
    Collapse,
}

/// Whether a step that began at `at` held until `next` (exclusive of shorter stays).
fn held(at: DateTime<Utc>, next: Option<DateTime<Utc>>, settle: Duration) -> bool {
    next.is_none_or(|next| next - at >= settle)
}

/// Decides a transition whose settle window has passed (the caller checks that
/// `now >= transition.at + settle` when there is no next transition).
pub fn decide(history: &History, settle: Duration) -> Decision {
    let t = &history.transition;
    if !held(t.at, history.next_at, settle) {
        return Decision::Collapse;
    }
    let mut successor = t.at;
    // Without an earlier state that held, the oldest state read stands: the
    // control's first (none) when the history is whole, else the best guess.
    let mut baseline = t.from_state.clone();
    for step in &history.earlier {
        if held(step.at, Some(successor), settle) {
            baseline = Some(step.to_state.clone());
            break;
        }
        successor = step.at;
        baseline = step.from_state.clone();
    }
    if baseline.as_deref() == Some(t.to_state.as_str()) {
        Decision::Collapse
    } else {
        Decision::Announce {
            from_state: baseline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: i64 = 600;

    /// Steps of one control: `(seconds since start, to_state)`, from no state.
    fn chain(steps: &[(i64, &str)]) -> Vec<Step> {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let mut from = None;
        steps
            .iter()
            .map(|(at, to)| Step {
                from_state: from.replace(to.to_string()),
                to_state: to.to_string(),
                at: start + Duration::seconds(*at),
            })
            .collect()
    }

    /// The decision for every step of `steps`, in order.
    fn decisions(steps: &[(i64, &str)]) -> Vec<Decision> {
        let chain = chain(steps);
        (0..chain.len())
            .map(|i| {
                let history = History {
                    transition: chain[i].clone(),
                    next_at: chain.get(i + 1).map(|s| s.at),
                    earlier: chain[..i].iter().rev().cloned().collect(),
                };
                decide(&history, Duration::seconds(SETTLE))
            })
            .collect()
    }

    fn announce(from: Option<&str>) -> Decision {
        Decision::Announce {
            from_state: from.map(str::to_owned),
        }
    }

    #[test]
    fn a_flip_back_inside_the_window_announces_nothing() {
        let got = decisions(&[(0, "tbd"), (1, "ok"), (5000, "alarm"), (5100, "ok")]);
        assert_eq!(
            got,
            [
                Decision::Collapse,
                announce(None),
                Decision::Collapse,
                Decision::Collapse
            ]
        );
    }

    #[test]
    fn two_changes_inside_the_window_are_announced_as_one() {
        let got = decisions(&[(0, "ok"), (5000, "alarm"), (5100, "error")]);
        assert_eq!(
            got,
            [announce(None), Decision::Collapse, announce(Some("ok"))]
        );
    }

    #[test]
    fn changes_that_hold_are_each_announced_from_the_previous_one() {
        let got = decisions(&[(0, "ok"), (SETTLE, "alarm"), (3 * SETTLE, "ok")]);
        assert_eq!(
            got,
            [
                announce(None),
                announce(Some("ok")),
                announce(Some("alarm"))
            ]
        );
    }

    #[test]
    fn a_long_flapping_run_collapses_to_where_it_ends() {
        let mut steps = vec![(0, "ok")];
        for i in 1..=20 {
            steps.push((1000 + i * 10, if i % 2 == 1 { "alarm" } else { "ok" }));
        }
        steps.push((1300, "alarm"));
        let got = decisions(&steps);
        let announced: Vec<_> = got
            .iter()
            .enumerate()
            .filter(|(_, d)| **d != Decision::Collapse)
            .collect();
        assert_eq!(
            announced,
            [(0, &announce(None)), (21, &announce(Some("ok")))]
        );
    }
}
