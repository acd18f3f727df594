//! The answer state machine (choice statuses, risk) of any question of the catalog
//! (`catalog.rs`), and the ids of REL 04, the question the simulator's generated
//! fleets answer.

use super::catalog::{QuestionDef, framework};
use super::types::AnswerSpec;

pub const LENS_ALIAS: &str = "wellarchitected";
pub const PILLAR_ID: &str = "reliability";
pub const QUESTION_ID: &str = "prevent-interaction-failure";
pub const QUESTION_TITLE: &str =
    "How do you design interactions in a distributed system to prevent failures?";

pub const CHOICE_IDENTIFY: &str = "rel_prevent_interaction_failure_identify";
pub const CHOICE_LOOSELY_COUPLED: &str = "rel_prevent_interaction_failure_loosely_coupled_system";
pub const CHOICE_IDEMPOTENT: &str = "rel_prevent_interaction_failure_idempotent";
pub const CHOICE_CONSTANT_WORK: &str = "rel_prevent_interaction_failure_constant_work";
pub const CHOICE_NONE: &str = "rel_prevent_interaction_failure_no";

/// REL 04 of the `wellarchitected` lens, as the catalog's data has it.
pub fn rel04() -> &'static QuestionDef {
    framework()
        .question(QUESTION_ID)
        .map(|(_, q)| q)
        .expect("the wellarchitected lens has REL 04")
}

/// Values of the model's `ChoiceReason` / `AnswerReason` enums (identical lists).
pub const REASONS: [&str; 5] = [
    "OUT_OF_SCOPE",
    "BUSINESS_PRIORITIES",
    "ARCHITECTURE_CONSTRAINTS",
    "OTHER",
    "NONE",
];

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

/// The stored answer to one question. Statuses live in one place (per choice, in the
/// question's order), so the wire's `SelectedChoices` and `ChoiceAnswers` are both
/// derived and can never disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerState {
    pub choices: Vec<ChoiceState>,
    pub is_applicable: bool,
    pub notes: Option<String>,
    pub reason: Option<&'static str>,
}

impl AnswerState {
    /// Unanswered and applicable: what a fresh lens review holds.
    pub fn fresh(question: &QuestionDef) -> Self {
        Self {
            choices: vec![ChoiceState::default(); question.choices.len()],
            is_applicable: true,
            notes: None,
            reason: None,
        }
    }

    /// Builds the state from an admin spec; unknown or doubly listed ids are errors.
    pub fn from_spec(question: &QuestionDef, spec: &AnswerSpec) -> Result<Self, String> {
        let mut state = Self::fresh(question);
        state.is_applicable = spec.is_applicable;
        for (ids, status) in [
            (&spec.selected, ChoiceStatus::Selected),
            (&spec.not_applicable, ChoiceStatus::NotApplicable),
        ] {
            for id in ids {
                let i = question.choice_index(id).ok_or_else(|| {
                    format!("unknown choice id {id:?} of question {}", question.id)
                })?;
                let slot = &mut state.choices[i].status;
                if *slot != ChoiceStatus::Unselected && *slot != status {
                    return Err(format!("choice {id:?} is both selected and not applicable"));
                }
                *slot = status;
            }
        }
        Ok(state)
    }

    pub fn to_spec(&self, question: &QuestionDef) -> AnswerSpec {
        let ids = |status| self.ids_with(question, status).map(String::from).collect();
        AnswerSpec {
            selected: ids(ChoiceStatus::Selected),
            not_applicable: ids(ChoiceStatus::NotApplicable),
            is_applicable: self.is_applicable,
        }
    }

    /// Choice ids with `status`, in the Tool's order.
    pub fn ids_with<'a>(
        &'a self,
        question: &'a QuestionDef,
        status: ChoiceStatus,
    ) -> impl Iterator<Item = &'a str> + 'a {
        question
            .choices
            .iter()
            .zip(&self.choices)
            .filter(move |(_, c)| c.status == status)
            .map(|(def, _)| def.id.as_str())
    }

    /// The simulator's simplified risk rule (the real Tool uses per-lens risk rules):
    /// HIGH when "None of these" or no best practice is selected, NONE when at least
    /// three quarters of the best practices are, else MEDIUM.
    pub fn risk(&self, question: &QuestionDef) -> &'static str {
        if !self.is_applicable {
            return "NOT_APPLICABLE";
        }
        // (is "None of these", is selected) per choice.
        let choices: Vec<(bool, bool)> = question
            .choices
            .iter()
            .zip(&self.choices)
            .map(|(def, c)| (def.none_of_these, c.status == ChoiceStatus::Selected))
            .collect();
        if !choices.iter().any(|&(_, selected)| selected) {
            return "UNANSWERED";
        }
        if choices.iter().any(|&(none, selected)| none && selected) {
            return "HIGH";
        }
        let practices = choices.iter().filter(|&&(none, _)| !none).count();
        match choices.iter().filter(|&&(none, sel)| !none && sel).count() {
            0 => "HIGH",
            n if 4 * n >= 3 * practices => "NONE",
            _ => "MEDIUM",
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
        let risk = |s: AnswerSpec| AnswerState::from_spec(rel04(), &s).unwrap().risk(rel04());
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
        assert_eq!(
            AnswerState::from_spec(rel04(), &s)
                .unwrap()
                .to_spec(rel04()),
            s
        );
        assert!(AnswerState::from_spec(rel04(), &spec(&["nope"], true)).is_err());
        s.not_applicable = vec![CHOICE_IDEMPOTENT.to_string()];
        assert!(AnswerState::from_spec(rel04(), &s).is_err());
    }
}
