//! The answer to a question as read from the Well-Architected Tool, in core terms.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::lens_status::LensStatus;

/// The status of one choice, as the Tool's `ChoiceStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChoiceStatus {
    Selected,
    NotApplicable,
    Unselected,
}

impl ChoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChoiceStatus::Selected => "SELECTED",
            ChoiceStatus::NotApplicable => "NOT_APPLICABLE",
            ChoiceStatus::Unselected => "UNSELECTED",
        }
    }
}

impl fmt::Display for ChoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The question-level facts and every choice's status.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ObservedAnswer {
    pub is_applicable: bool,
    /// The Tool's `Risk` (UNANSWERED, HIGH, MEDIUM, NONE, NOT_APPLICABLE), when given.
    pub risk: Option<String>,
    pub lens_arn: Option<String>,
    /// Every choice the lens offers for this question; a choice id absent here is
    /// missing from the lens.
    pub choices: BTreeMap<String, ChoiceStatus>,
    /// Each choice's title as the Tool gave it (`Choices[].Title`): reasons and
    /// `explain` print these, so a lens update's wording needs no release.
    pub titles: BTreeMap<String, String>,
    /// The status of the workload's review of the lens (`ListLensReviews`), when read.
    pub lens_status: Option<LensStatus>,
}

impl ObservedAnswer {
    /// Merges the Tool's three views of a choice into one status per choice.
    ///
    /// `Choices` lists what exists, `SelectedChoices` what is selected, and
    /// `ChoiceAnswers` carries explicit statuses (NOT_APPLICABLE lives only there).
    /// A choice listed in `SelectedChoices` is selected whatever `ChoiceAnswers`
    /// says; one with no explicit status is unselected. Ids that are selected but
    /// not listed in `Choices` are still recorded, so nothing the Tool said is lost.
    pub fn from_parts<'a>(
        choices: impl IntoIterator<Item = &'a str>,
        selected: impl IntoIterator<Item = &'a str>,
        choice_answers: impl IntoIterator<Item = (&'a str, ChoiceStatus)>,
    ) -> BTreeMap<String, ChoiceStatus> {
        let mut statuses: BTreeMap<String, ChoiceStatus> = choices
            .into_iter()
            .map(|id| (id.to_owned(), ChoiceStatus::Unselected))
            .collect();
        for (id, status) in choice_answers {
            if let Some(slot) = statuses.get_mut(id) {
                *slot = status;
            }
        }
        for id in selected {
            statuses.insert(id.to_owned(), ChoiceStatus::Selected);
        }
        statuses
    }

    /// The status of `choice_id`, or `None` when the lens does not offer it.
    pub fn status(&self, choice_id: &str) -> Option<ChoiceStatus> {
        self.choices.get(choice_id).copied()
    }

    /// The Tool's title of `choice_id`, or the id itself when the Tool gave none.
    pub fn title<'a>(&'a self, choice_id: &'a str) -> &'a str {
        self.titles
            .get(choice_id)
            .map(String::as_str)
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(choice_id)
    }

    pub fn is_selected(&self, choice_id: &str) -> bool {
        self.status(choice_id) == Some(ChoiceStatus::Selected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_merge_selected_choices_and_choice_answers() {
        let statuses = ObservedAnswer::from_parts(
            ["a", "b", "c", "d"],
            ["a"],
            [
                ("b", ChoiceStatus::NotApplicable),
                ("c", ChoiceStatus::Unselected),
                ("a", ChoiceStatus::Unselected),
            ],
        );
        assert_eq!(
            statuses["a"],
            ChoiceStatus::Selected,
            "SelectedChoices wins"
        );
        assert_eq!(statuses["b"], ChoiceStatus::NotApplicable);
        assert_eq!(statuses["c"], ChoiceStatus::Unselected);
        assert_eq!(
            statuses["d"],
            ChoiceStatus::Unselected,
            "no status means unselected"
        );
    }

    #[test]
    fn unknown_ids_in_choice_answers_do_not_invent_choices_but_selected_ones_are_kept() {
        let statuses = ObservedAnswer::from_parts(["a"], ["z"], [("y", ChoiceStatus::Selected)]);
        assert_eq!(statuses.get("y"), None);
        assert_eq!(statuses.get("z"), Some(&ChoiceStatus::Selected));
    }

    #[test]
    fn titles_are_the_tools_or_else_the_choice_id() {
        let answer = ObservedAnswer {
            titles: BTreeMap::from([
                ("a".to_owned(), "Title of a".to_owned()),
                ("b".to_owned(), " ".to_owned()),
            ]),
            ..Default::default()
        };
        assert_eq!(answer.title("a"), "Title of a");
        assert_eq!(answer.title("b"), "b", "a blank title is no title");
        assert_eq!(answer.title("c"), "c");
    }
}
