//! Flapping the Tool's answer did not cause: a control that changed state
//! `transitions` times within `window` while what it read from outside — the
//! answer (applicability, risk, each choice's status) and the workload's policy
//! tags — stayed the same. A calculated policy that reads the control's own
//! state does that: each verdict changes its input, which changes the verdict.
//!
//! Such a control's notifications are collapsed until it holds a state for the
//! window (see [`super::settle::Rule::window`]); the publisher logs a WARN and
//! counts it when a control starts flapping.

use std::time::Duration;

use serde_json::{Value, json};

use crate::store::RecentStep;

/// `notify.flapping_transitions` within `notify.flapping_window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flapping {
    /// How many transitions make a control flapping; 0 turns detection off.
    pub transitions: usize,
    pub window: Duration,
}

impl Flapping {
    pub const OFF: Flapping = Flapping {
        transitions: 0,
        window: Duration::ZERO,
    };

    /// Whether the newest of `recent` (newest first) is a step of flapping: it
    /// and the `transitions - 1` before it came within the window, all with the
    /// same known outside input.
    pub fn is_flapping(&self, recent: &[RecentStep]) -> bool {
        if self.transitions < 2 || self.window.is_zero() || recent.len() < self.transitions {
            return false;
        }
        let steps = &recent[..self.transitions];
        let newest = steps[0].at;
        let oldest = steps[self.transitions - 1].at;
        let within = (newest - oldest)
            .to_std()
            .is_ok_and(|span| span <= self.window);
        if !within {
            return false;
        }
        let first = outside_input(&steps[0].details);
        first.is_some()
            && steps[1..]
                .iter()
                .all(|s| outside_input(&s.details) == first)
    }

    /// Whether the newest of `recent` is the step at which flapping began (the
    /// one before it was not flapping yet): the moment to warn, once per episode.
    pub fn starts(&self, recent: &[RecentStep]) -> bool {
        self.is_flapping(recent) && !self.is_flapping(recent.get(1..).unwrap_or_default())
    }
}

/// What a transition's `details` say rel04d read from outside: the answer and the
/// policy tags. `None` when the answer was not read (an error, an invalid
/// policy): an unknown input is never "unchanged".
fn outside_input(details: &str) -> Option<Value> {
    let details: Value = serde_json::from_str(details).ok()?;
    let question = details.get("question")?.clone();
    let choices: Vec<Value> = details
        .get("best_practices")
        .and_then(Value::as_array)
        .map(|choices| {
            choices
                .iter()
                .map(|c| json!([c.get("choice_id"), c.get("observed")]))
                .collect()
        })
        .unwrap_or_default();
    Some(json!({
        "question": question,
        "choices": choices,
        "none_of_these": details.get("none_of_these").and_then(|c| c.get("observed")),
        "policy_tags": details.get("policy_tags"),
    }))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    const RULE: Flapping = Flapping {
        transitions: 4,
        window: Duration::from_secs(60),
    };

    fn details(answer: &str, policy: &str) -> String {
        json!({
            "policies": [{"key": "rel04", "value": policy}],
            "question": {"question_id": "REL 4", "is_applicable": true, "risk": "NONE"},
            "best_practices": [{"choice_id": "a", "observed": answer, "policy": policy}],
            "none_of_these": {"choice_id": "none", "observed": "UNSELECTED"},
        })
        .to_string()
    }

    /// Steps `(seconds, answer)`, oldest first, returned newest first.
    fn recent(steps: &[(i64, &str)]) -> Vec<RecentStep> {
        steps
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (at, answer))| RecentStep {
                at: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(*at),
                // The policy value changes with each step, as a self-reading
                // calculation's does: it is not outside input.
                details: details(answer, if i % 2 == 0 { "Check" } else { "Skip" }),
            })
            .collect()
    }

    #[test]
    fn k_changes_within_the_window_on_the_same_answer_are_flapping() {
        let steps = recent(&[
            (0, "SELECTED"),
            (10, "SELECTED"),
            (20, "SELECTED"),
            (30, "SELECTED"),
        ]);
        assert!(RULE.is_flapping(&steps));
        assert!(RULE.starts(&steps), "the fourth change starts it");
        assert!(!RULE.is_flapping(&steps[1..]), "three are not enough");
    }

    #[test]
    fn a_changed_answer_is_not_flapping() {
        let steps = recent(&[
            (0, "SELECTED"),
            (10, "UNSELECTED"),
            (20, "SELECTED"),
            (30, "UNSELECTED"),
        ]);
        assert!(!RULE.is_flapping(&steps));
    }

    #[test]
    fn changes_spread_wider_than_the_window_are_not_flapping() {
        let steps = recent(&[
            (0, "SELECTED"),
            (30, "SELECTED"),
            (50, "SELECTED"),
            (61, "SELECTED"),
        ]);
        assert!(!RULE.is_flapping(&steps));
        let steps = recent(&[
            (1, "SELECTED"),
            (30, "SELECTED"),
            (50, "SELECTED"),
            (61, "SELECTED"),
        ]);
        assert!(RULE.is_flapping(&steps), "exactly the window still counts");
    }

    #[test]
    fn it_starts_once_per_episode() {
        let steps = recent(&[
            (0, "SELECTED"),
            (10, "SELECTED"),
            (20, "SELECTED"),
            (30, "SELECTED"),
            (40, "SELECTED"),
        ]);
        assert!(RULE.is_flapping(&steps));
        assert!(!RULE.starts(&steps), "already flapping at the step before");
    }

    #[test]
    fn an_unread_answer_or_detection_off_is_never_flapping() {
        let mut steps = recent(&[
            (0, "SELECTED"),
            (10, "SELECTED"),
            (20, "SELECTED"),
            (30, "SELECTED"),
        ]);
        assert!(!Flapping::OFF.is_flapping(&steps));
        for step in &mut steps {
            step.details = json!({"error": "throttled"}).to_string();
        }
        assert!(!RULE.is_flapping(&steps));
    }
}
