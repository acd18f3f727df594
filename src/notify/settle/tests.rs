use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::store::RecentStep;

const SETTLE: Duration = Duration::from_secs(600);

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(seconds)
}

fn rule(settle: Duration) -> Rule {
    Rule {
        settle,
        pending_for: Duration::MAX,
        flapping: Flapping {
            transitions: 4,
            window: Duration::from_secs(3600),
        },
    }
}

/// The decision of every step of `steps` (`(seconds, to_state)`, from no
/// state), made in order as the store makes them: each from the memory the
/// decisions before it left, and the next step's time.
fn decisions(steps: &[(i64, &str)], rule: &Rule) -> Vec<Decision> {
    let mut memory: Option<String> = None;
    let mut from = None;
    let mut out = Vec::new();
    for (i, (seconds, to)) in steps.iter().enumerate() {
        let facts = Facts {
            workload_id: "w".into(),
            transition: Step {
                from_state: from.replace(to.to_string()),
                to_state: to.to_string(),
                at: at(*seconds),
            },
            next_at: steps.get(i + 1).map(|(s, _)| at(*s)),
            baseline: memory.clone(),
            recent: steps[..=i]
                .iter()
                .rev()
                .map(|(s, to)| RecentStep {
                    at: at(*s),
                    // A different answer each state: never flapping here.
                    details: json!({"question": {}, "best_practices": [{"observed": to}]})
                        .to_string(),
                })
                .collect(),
        };
        let decision = rule.decide(&facts);
        if let Decision::Announce { .. } = decision {
            memory = Some(to.to_string());
        }
        out.push(decision);
    }
    out
}

fn announce(from: Option<&str>) -> Decision {
    Decision::Announce {
        from_state: from.map(str::to_owned),
    }
}

#[test]
fn a_flip_back_inside_the_window_announces_nothing() {
    let got = decisions(
        &[(0, "tbd"), (1, "ok"), (5000, "alarm"), (5100, "ok")],
        &rule(SETTLE),
    );
    use Decision::Collapse;
    assert_eq!(got, [Collapse, announce(None), Collapse, Collapse]);
}

#[test]
fn two_changes_inside_the_window_are_announced_as_one() {
    let got = decisions(
        &[(0, "ok"), (5000, "alarm"), (5100, "error")],
        &rule(SETTLE),
    );
    assert_eq!(
        got,
        [announce(None), Decision::Collapse, announce(Some("ok"))]
    );
}

/// Changes that each hold are each announced, from the one before; without a
/// window every transition is, even one keeping its state (an enforcement).
#[test]
fn changes_that_hold_are_each_announced_from_the_previous_one() {
    let settle = SETTLE.as_secs() as i64;
    let holding: &[(i64, &str)] = &[(0, "ok"), (settle, "alarm"), (3 * settle, "ok")];
    let unwindowed: &[(i64, &str)] = &[(0, "ok"), (1, "alarm"), (2, "alarm")];
    for (steps, settle) in [(holding, SETTLE), (unwindowed, Duration::ZERO)] {
        assert_eq!(
            decisions(steps, &rule(settle)),
            [
                announce(None),
                announce(Some("ok")),
                announce(Some("alarm"))
            ],
            "{steps:?}"
        );
    }
}

/// The case: alarm → invalid → ok cycled 213 times inside settle
/// windows, then alarm holds. It must be announced, from `ok` (the state
/// announced first), however long the cycling went on.
#[test]
fn an_alarm_that_holds_after_any_number_of_flips_is_announced() {
    let mut steps = vec![(0, "ok")];
    let mut t = 1000;
    for _ in 0..213 {
        for state in ["alarm", "invalid", "ok"] {
            steps.push((t, state));
            t += 1;
        }
    }
    steps.push((t, "alarm"));
    let got = decisions(&steps, &rule(Duration::from_secs(5)));
    let announced: Vec<_> = got
        .iter()
        .enumerate()
        .filter(|(_, d)| **d != Decision::Collapse)
        .collect();
    assert_eq!(
        announced,
        [
            (0, &announce(None)),
            (steps.len() - 1, &announce(Some("ok")))
        ]
    );
}

#[test]
fn a_state_without_a_successor_waits_its_window_and_the_grace() {
    let mut rule = rule(SETTLE);
    rule.pending_for = Duration::from_secs(100);
    let facts = Facts {
        workload_id: "w".into(),
        transition: Step {
            from_state: None,
            to_state: "ok".into(),
            at: at(0),
        },
        next_at: None,
        baseline: None,
        recent: vec![],
    };
    assert_eq!(
        rule.decide(&facts),
        Decision::Wait(SETTLE + SETTLE_GRACE - Duration::from_secs(100))
    );
    rule.pending_for = SETTLE + SETTLE_GRACE;
    assert_eq!(rule.decide(&facts), announce(None));
}

#[test]
fn a_successor_stamped_before_its_predecessor_counts_as_held() {
    assert!(held(at(100), at(50), SETTLE));
    assert!(!held(at(100), at(101), SETTLE));
    assert!(held(at(100), at(700), SETTLE));
}

/// A flapping control (same answer, four changes within the flapping window)
/// is held to the flapping window even without `notify.settle`: its flips
/// collapse, and the state it then keeps is announced once.
#[test]
fn a_flapping_control_is_held_to_the_flapping_window() {
    let mut rule = rule(Duration::ZERO);
    rule.flapping.window = Duration::from_secs(60);
    let same = json!({"question": {}, "best_practices": [{"observed": "SELECTED"}]}).to_string();
    let states = ["ok", "alarm", "ok", "alarm", "ok", "alarm", "ok"];
    let times = [0, 10, 20, 30, 40, 50, 300];
    let mut memory = None;
    let mut got = Vec::new();
    for i in 0..states.len() {
        let facts = Facts {
            workload_id: "w".into(),
            transition: Step {
                from_state: None,
                to_state: states[i].into(),
                at: at(times[i]),
            },
            next_at: times.get(i + 1).map(|s| at(*s)),
            baseline: memory.clone(),
            recent: (0..=i)
                .rev()
                .map(|j| RecentStep {
                    at: at(times[j]),
                    details: same.clone(),
                })
                .collect(),
        };
        let decision = rule.decide(&facts);
        if let Decision::Announce { .. } = decision {
            memory = Some(states[i].to_owned());
        }
        got.push(decision);
    }
    use Decision::Collapse;
    assert_eq!(
        got,
        [
            announce(None),
            announce(Some("ok")),
            announce(Some("alarm")),
            // The fourth change within a minute: flapping; held 10 s, collapsed.
            Collapse,
            Collapse,
            // Held 250 s ≥ 60 s: announced from the state last announced.
            announce(Some("ok")),
            // Out of the flapping window again: announced at once.
            announce(Some("alarm")),
        ]
    );
}
