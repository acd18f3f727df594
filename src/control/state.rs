//! The six control states, plus the `removed` pseudo-state of transitions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlState {
    /// The control exists (workload found) but has not been evaluated yet.
    Tbd,
    Skipped,
    Invalid,
    Error,
    Ok,
    Alarm,
    /// Not a control state: recorded when a workload or its lens disappears.
    /// Evaluation never produces it.
    Removed,
}

impl ControlState {
    pub const ALL: [ControlState; 7] = [
        ControlState::Tbd,
        ControlState::Skipped,
        ControlState::Invalid,
        ControlState::Error,
        ControlState::Ok,
        ControlState::Alarm,
        ControlState::Removed,
    ];

    /// What Guardrails calls `state:active`: the states that need attention or count.
    pub const ACTIVE: [ControlState; 4] = [
        ControlState::Ok,
        ControlState::Alarm,
        ControlState::Invalid,
        ControlState::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlState::Tbd => "tbd",
            ControlState::Skipped => "skipped",
            ControlState::Invalid => "invalid",
            ControlState::Error => "error",
            ControlState::Ok => "ok",
            ControlState::Alarm => "alarm",
            ControlState::Removed => "removed",
        }
    }
}

impl fmt::Display for ControlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Rows and tests compare states with their names (`row.state == "ok"`).
impl PartialEq<str> for ControlState {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ControlState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl FromStr for ControlState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ControlState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown state {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for state in ControlState::ALL {
            assert_eq!(state.as_str().parse::<ControlState>().unwrap(), state);
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert!("OK".parse::<ControlState>().is_err());
    }
}
