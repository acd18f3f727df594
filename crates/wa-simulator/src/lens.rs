//! The one question the simulator knows: REL 04 of the `wellarchitected` lens, and
//! the answer state machine (choice statuses, risk).

use super::types::AnswerSpec;

pub const LENS_ALIAS: &str = "wellarchitected";
pub const PILLAR_ID: &str = "reliability";
pub const QUESTION_ID: &str = "prevent-interaction-failure";
pub const QUESTION_TITLE: &str =
    "How do you design interactions in a distributed system to prevent failures?";
pub const QUESTION_DESCRIPTION: &str = "Distributed systems rely on communications networks \
    to interconnect components. Your workload must operate reliably despite data loss or \
    latency over these networks, and components must not negatively impact each other.";

pub const CHOICE_IDENTIFY: &str = "rel_prevent_interaction_failure_identify";
pub const CHOICE_LOOSELY_COUPLED: &str = "rel_prevent_interaction_failure_loosely_coupled_system";
pub const CHOICE_IDEMPOTENT: &str = "rel_prevent_interaction_failure_idempotent";
pub const CHOICE_CONSTANT_WORK: &str = "rel_prevent_interaction_failure_constant_work";
pub const CHOICE_NONE: &str = "rel_prevent_interaction_failure_no";

/// One choice of the question, as `Answer.Choices[]` shows it.
#[derive(Debug, Clone, Copy)]
pub struct ChoiceDef {
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

/// In the Tool's order (idempotent before constant work); the last is "None of these".
pub const CHOICES: [ChoiceDef; 5] = [
    ChoiceDef {
        id: CHOICE_IDENTIFY,
        title: "Identify the kind of distributed systems you depend on",
        description: "Hard real-time, soft real-time and offline systems have different \
                      reliability needs; know which one the workload is.",
    },
    ChoiceDef {
        id: CHOICE_LOOSELY_COUPLED,
        title: "Implement loosely coupled dependencies",
        description: "Queues, streams and workflows keep a component's failure or slowness \
                      from spreading to the components that depend on it.",
    },
    ChoiceDef {
        id: CHOICE_IDEMPOTENT,
        title: "Make mutating operations idempotent",
        description: "A request repeated any number of times has the same effect as one, \
                      so clients can retry safely.",
    },
    ChoiceDef {
        id: CHOICE_CONSTANT_WORK,
        title: "Do constant work",
        description: "Systems that do the same work whatever the load avoid the sudden \
                      changes that cause failures.",
    },
    ChoiceDef {
        id: CHOICE_NONE,
        title: "None of these",
        description: "Choose this if the workload does not follow these best practices.",
    },
];

/// How many of [`CHOICES`] are best practices (all but "None of these").
const BEST_PRACTICES: usize = 4;
const NONE_INDEX: usize = 4;

/// Values of the model's `ChoiceReason` / `AnswerReason` enums (identical lists).
pub const REASONS: [&str; 5] = [
    "OUT_OF_SCOPE",
    "BUSINESS_PRIORITIES",
    "ARCHITECTURE_CONSTRAINTS",
    "OTHER",
    "NONE",
];

pub fn choice_index(id: &str) -> Option<usize> {
    CHOICES.iter().position(|c| c.id == id)
}

/// Parses a reason into its `'static` spelling, or `None` when not an enum value.
pub fn parse_reason(value: &str) -> Option<&'static str> {
    REASONS.iter().copied().find(|r| *r == value)
}

/// The model's `ChoiceStatus` enum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChoiceStatus {
    #[default]
    Unselected,
    Selected,
    NotApplicable,
}

impl ChoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unselected => "UNSELECTED",
            Self::Selected => "SELECTED",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "UNSELECTED" => Some(Self::Unselected),
            "SELECTED" => Some(Self::Selected),
            "NOT_APPLICABLE" => Some(Self::NotApplicable),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChoiceState {
    pub status: ChoiceStatus,
    pub reason: Option<&'static str>,
    pub notes: Option<String>,
}

/// The stored answer. Statuses live in one place (per choice), so the wire's
/// `SelectedChoices` and `ChoiceAnswers` are both derived and can never disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerState {
    pub choices: [ChoiceState; 5],
    pub is_applicable: bool,
    pub notes: Option<String>,
    pub reason: Option<&'static str>,
}

impl AnswerState {
    /// Builds the state from an admin spec; unknown or doubly listed ids are errors.
    pub fn from_spec(spec: &AnswerSpec) -> Result<Self, String> {
        let mut state = Self {
            choices: Default::default(),
            is_applicable: spec.is_applicable,
            notes: None,
            reason: None,
        };
        for (ids, status) in [
            (&spec.selected, ChoiceStatus::Selected),
            (&spec.not_applicable, ChoiceStatus::NotApplicable),
        ] {
            for id in ids {
                let i = choice_index(id).ok_or_else(|| format!("unknown choice id {id:?}"))?;
                let slot = &mut state.choices[i].status;
                if *slot != ChoiceStatus::Unselected && *slot != status {
                    return Err(format!("choice {id:?} is both selected and not applicable"));
                }
                *slot = status;
            }
        }
        Ok(state)
    }

    pub fn to_spec(&self) -> AnswerSpec {
        AnswerSpec {
            selected: self
                .ids_with(ChoiceStatus::Selected)
                .map(String::from)
                .collect(),
            not_applicable: self
                .ids_with(ChoiceStatus::NotApplicable)
                .map(String::from)
                .collect(),
            is_applicable: self.is_applicable,
        }
    }

    /// Choice ids with `status`, in the Tool's order.
    pub fn ids_with(&self, status: ChoiceStatus) -> impl Iterator<Item = &'static str> + '_ {
        CHOICES
            .iter()
            .zip(&self.choices)
            .filter(move |(_, c)| c.status == status)
            .map(|(def, _)| def.id)
    }

    /// The simulator's simplified risk rule (the real Tool uses per-lens risk rules).
    pub fn risk(&self) -> &'static str {
        if !self.is_applicable {
            return "NOT_APPLICABLE";
        }
        let selected = |i: usize| self.choices[i].status == ChoiceStatus::Selected;
        if !(0..CHOICES.len()).any(selected) {
            return "UNANSWERED";
        }
        if selected(NONE_INDEX) {
            return "HIGH";
        }
        match (0..BEST_PRACTICES).filter(|&i| selected(i)).count() {
            0 => "HIGH",
            1 | 2 => "MEDIUM",
            _ => "NONE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(selected: &[&str], is_applicable: bool) -> AnswerSpec {
        AnswerSpec {
            selected: selected.iter().map(|s| s.to_string()).collect(),
            not_applicable: vec![],
            is_applicable,
        }
    }

    #[test]
    fn risk_follows_selected_best_practices() {
        let all = [
            CHOICE_IDENTIFY,
            CHOICE_LOOSELY_COUPLED,
            CHOICE_IDEMPOTENT,
            CHOICE_CONSTANT_WORK,
        ];
        let risk = |s: AnswerSpec| AnswerState::from_spec(&s).unwrap().risk();
        assert_eq!(risk(spec(&all, true)), "NONE");
        assert_eq!(risk(spec(&all[..3], true)), "NONE");
        assert_eq!(risk(spec(&all[..2], true)), "MEDIUM");
        assert_eq!(risk(spec(&all[..1], true)), "MEDIUM");
        assert_eq!(risk(spec(&[], true)), "UNANSWERED");
        assert_eq!(risk(spec(&[CHOICE_NONE], true)), "HIGH");
        assert_eq!(risk(spec(&all, false)), "NOT_APPLICABLE");
    }

    #[test]
    fn spec_round_trips_and_rejects_bad_ids() {
        let mut s = spec(&[CHOICE_IDEMPOTENT], true);
        s.not_applicable = vec![CHOICE_CONSTANT_WORK.to_string()];
        assert_eq!(AnswerState::from_spec(&s).unwrap().to_spec(), s);
        assert!(AnswerState::from_spec(&spec(&["nope"], true)).is_err());
        s.not_applicable = vec![CHOICE_IDEMPOTENT.to_string()];
        assert!(AnswerState::from_spec(&s).is_err());
    }
}
