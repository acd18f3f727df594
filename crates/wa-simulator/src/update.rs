//! UpdateAnswer semantics: validate the whole request first, then apply it to a copy,
//! so a rejected request never half-changes the answer.

use super::catalog::QuestionDef;
use super::errors::ApiError;
use super::lens::{AnswerState, ChoiceStatus, parse_reason};
use super::wire::UpdateAnswerIn;

/// The model's length limits for `Notes` (answer) and `ChoiceNotes`.
const ANSWER_NOTES_MAX: usize = 2084;
const CHOICE_NOTES_MAX: usize = 250;

/// Returns the answer after `req`, or the ValidationException the Tool would send.
///
/// Order: `SelectedChoices` replaces the selected set (listed → SELECTED, previously
/// SELECTED but unlisted → UNSELECTED, NOT_APPLICABLE choices keep their status unless
/// listed); then each `ChoiceUpdates` entry sets that choice's status, reason and notes;
/// then `IsApplicable`, `Notes` and `Reason` are set when present.
///
/// A choice's `Reason` is, per the API reference, "why a choice is non-applicable":
/// only NOT_APPLICABLE choices carry one. A ChoiceUpdate giving a reason with another
/// status is rejected, and a choice that leaves NOT_APPLICABLE loses its reason.
pub fn apply(
    question: &QuestionDef,
    current: &AnswerState,
    req: &UpdateAnswerIn,
) -> Result<AnswerState, ApiError> {
    let mut next = current.clone();

    if let Some(selected) = &req.selected_choices {
        let mut wanted = vec![false; question.choices.len()];
        for id in selected {
            let i = question
                .choice_index(id)
                .ok_or_else(|| unknown_choice("SelectedChoices", id))?;
            wanted[i] = true;
        }
        for (choice, want) in next.choices.iter_mut().zip(wanted) {
            if want {
                choice.status = ChoiceStatus::Selected;
                choice.reason = None;
            } else if choice.status == ChoiceStatus::Selected {
                choice.status = ChoiceStatus::Unselected;
            }
        }
    }

    if let Some(updates) = &req.choice_updates {
        for (id, update) in updates {
            let i = question
                .choice_index(id)
                .ok_or_else(|| unknown_choice("ChoiceUpdates", id))?;
            let status = update.status.as_deref().ok_or_else(|| {
                ApiError::field(
                    "ChoiceUpdates",
                    format!("Status is required for choice {id}"),
                )
            })?;
            let status = ChoiceStatus::parse(status).ok_or_else(|| {
                ApiError::field("ChoiceUpdates", format!("Invalid choice status {status}"))
            })?;
            let reason = update
                .reason
                .as_deref()
                .map(|r| {
                    parse_reason(r).ok_or_else(|| {
                        ApiError::field("ChoiceUpdates", format!("Invalid choice reason {r}"))
                    })
                })
                .transpose()?;
            if reason.is_some() && status != ChoiceStatus::NotApplicable {
                return Err(ApiError::field(
                    "ChoiceUpdates",
                    format!(
                        "Reason is only for NOT_APPLICABLE choices; choice {id} is {}",
                        status.as_str()
                    ),
                ));
            }
            if let Some(notes) = &update.notes {
                check_len("ChoiceUpdates", notes, CHOICE_NOTES_MAX)?;
            }
            let choice = &mut next.choices[i];
            choice.status = status;
            choice.reason = reason;
            choice.notes = update.notes.clone();
        }
    }

    if let Some(notes) = &req.notes {
        check_len("Notes", notes, ANSWER_NOTES_MAX)?;
        next.notes = Some(notes.clone());
    }
    if let Some(reason) = &req.reason {
        let parsed = parse_reason(reason)
            .ok_or_else(|| ApiError::field("Reason", format!("Invalid reason {reason}")))?;
        next.reason = Some(parsed);
    }
    if let Some(applicable) = req.is_applicable {
        next.is_applicable = applicable;
    }
    Ok(next)
}

fn unknown_choice(field: &'static str, id: &str) -> ApiError {
    ApiError::field(
        field,
        format!("[Validation] Choice {id} is not a valid choice for this question"),
    )
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::field(
            field,
            format!("{field} exceeds {max} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::lens::{CHOICE_CONSTANT_WORK, CHOICE_IDEMPOTENT, CHOICE_IDENTIFY, rel04};
    use crate::types::AnswerSpec;
    use crate::wire::ChoiceUpdateIn;

    fn state(selected: &[&str], na: &[&str]) -> AnswerState {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect();
        AnswerState::from_spec(
            rel04(),
            &AnswerSpec {
                selected: s(selected),
                not_applicable: s(na),
                is_applicable: true,
            },
        )
        .unwrap()
    }

    #[test]
    fn selected_choices_replace_the_set_but_keep_not_applicable() {
        let cur = state(&[CHOICE_IDENTIFY], &[CHOICE_CONSTANT_WORK]);
        let req = UpdateAnswerIn {
            selected_choices: Some(vec![CHOICE_IDEMPOTENT.to_string()]),
            ..Default::default()
        };
        let next = apply(rel04(), &cur, &req).unwrap();
        assert_eq!(next.to_spec(rel04()).selected, vec![CHOICE_IDEMPOTENT]);
        assert_eq!(
            next.to_spec(rel04()).not_applicable,
            vec![CHOICE_CONSTANT_WORK]
        );
    }

    #[test]
    fn choice_updates_set_status_and_reject_bad_input_atomically() {
        let cur = state(&[CHOICE_IDENTIFY], &[]);
        let update = |status: Option<&str>| ChoiceUpdateIn {
            status: status.map(String::from),
            reason: Some("OUT_OF_SCOPE".into()),
            notes: None,
        };
        let mut req = UpdateAnswerIn {
            choice_updates: Some(HashMap::from([(
                CHOICE_IDENTIFY.to_string(),
                update(Some("NOT_APPLICABLE")),
            )])),
            ..Default::default()
        };
        let next = apply(rel04(), &cur, &req).unwrap();
        assert_eq!(next.to_spec(rel04()).not_applicable, vec![CHOICE_IDENTIFY]);
        assert!(next.to_spec(rel04()).selected.is_empty());

        for bad in [
            ("nope", update(Some("NOT_APPLICABLE"))),
            (CHOICE_IDEMPOTENT, update(Some("SELECTED"))),
            (CHOICE_IDEMPOTENT, update(Some("UNSELECTED"))),
            (CHOICE_IDEMPOTENT, update(None)),
            (CHOICE_IDEMPOTENT, update(Some("MAYBE"))),
        ] {
            req.choice_updates = Some(HashMap::from([(bad.0.to_string(), bad.1)]));
            let err = apply(rel04(), &cur, &req).unwrap_err();
            assert_eq!(err.code(), "ValidationException");
        }
    }

    #[test]
    fn a_choice_that_leaves_not_applicable_loses_its_reason() {
        let na = ChoiceUpdateIn {
            status: Some("NOT_APPLICABLE".into()),
            reason: Some("OUT_OF_SCOPE".into()),
            notes: None,
        };
        let req = UpdateAnswerIn {
            choice_updates: Some(HashMap::from([(CHOICE_IDEMPOTENT.to_string(), na)])),
            ..Default::default()
        };
        let idem = rel04().choice_index(CHOICE_IDEMPOTENT).unwrap();
        let with_reason = apply(rel04(), &state(&[], &[]), &req).unwrap();
        assert_eq!(with_reason.choices[idem].reason, Some("OUT_OF_SCOPE"));

        let select = UpdateAnswerIn {
            selected_choices: Some(vec![CHOICE_IDEMPOTENT.to_string()]),
            ..Default::default()
        };
        let selected = apply(rel04(), &with_reason, &select).unwrap();
        assert_eq!(selected.choices[idem].status, ChoiceStatus::Selected);
        assert_eq!(selected.choices[idem].reason, None);

        let unselect = UpdateAnswerIn {
            choice_updates: Some(HashMap::from([(
                CHOICE_IDEMPOTENT.to_string(),
                ChoiceUpdateIn {
                    status: Some("UNSELECTED".into()),
                    ..Default::default()
                },
            )])),
            ..Default::default()
        };
        assert_eq!(
            apply(rel04(), &with_reason, &unselect).unwrap().choices[idem].reason,
            None
        );
    }
}
