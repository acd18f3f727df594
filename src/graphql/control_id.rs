//! A control's GraphQL id (`turbot.id`, the mutations' `id`). REL 04's is its
//! workload id, as before controls had questions, so saved queries and ids
//! still work; any other question's is `<workload id>/<lens>/<question id>`
//! (the lens as configured: an alias or a lens ARN, which holds `/` itself;
//! workload ids and question ids never do).

use crate::config::controls::MAX_NAME;
use crate::control::policy::{LENS_ALIAS, QUESTION_ID};
use crate::store::{ControlRow, Store, is_rel04};

/// The longest id read: a workload ARN or id, a lens ARN and a question id fit
/// well within it; anything longer is refused before any query.
pub const MAX_ID: usize = 1024;

/// What an id names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlId<'a> {
    /// REL 04's control of a workload, by workload id or workload ARN.
    Rel04(&'a str),
    /// The control of `question_id` of `lens` on the workload `workload_id`.
    Question {
        workload_id: &'a str,
        lens: &'a str,
        question_id: &'a str,
    },
}

/// The id of `row`.
pub fn of(row: &ControlRow) -> String {
    id(&row.workload_id, &row.lens, &row.question_id)
}

/// The id of the control of `question_id` of `lens` on the workload `workload_id`.
pub fn id(workload_id: &str, lens: &str, question_id: &str) -> String {
    if is_rel04(lens, question_id) {
        workload_id.to_owned()
    } else {
        format!("{workload_id}/{lens}/{question_id}")
    }
}

impl<'a> ControlId<'a> {
    /// Reads an id; `Err` says what is wrong with it.
    pub fn parse(id: &'a str) -> Result<ControlId<'a>, String> {
        if id.is_empty() || id.len() > MAX_ID {
            return Err(format!(
                "a control id is 1 to {MAX_ID} characters; this one has {}",
                id.len()
            ));
        }
        // A workload ARN holds `/` too: an ARN alone is REL 04's control.
        if id.starts_with("arn:") {
            return Ok(ControlId::Rel04(id));
        }
        let Some((workload_id, rest)) = id.split_once('/') else {
            return Ok(ControlId::Rel04(id));
        };
        let Some((lens, question_id)) = rest.rsplit_once('/') else {
            return Err(format!(
                "control id {id:?} is a workload id, or <workload id>/<lens>/<question id>"
            ));
        };
        if workload_id.is_empty() || lens.is_empty() || question_id.is_empty() {
            return Err(format!(
                "control id {id:?} has an empty part: <workload id>/<lens>/<question id>"
            ));
        }
        if question_id.len() > MAX_NAME {
            return Err(format!(
                "control id {id:?}: a question id is at most {MAX_NAME} characters"
            ));
        }
        Ok(ControlId::Question {
            workload_id,
            lens,
            question_id,
        })
    }

    /// The control named by (workload id, lens, question) arguments: REL 04's
    /// when neither lens nor question is given.
    pub fn of_arguments(
        workload_id: &'a str,
        lens: Option<&'a str>,
        question_id: Option<&'a str>,
    ) -> ControlId<'a> {
        let lens = lens.unwrap_or(LENS_ALIAS);
        let question_id = question_id.unwrap_or(QUESTION_ID);
        if is_rel04(lens, question_id) {
            ControlId::Rel04(workload_id)
        } else {
            ControlId::Question {
                workload_id,
                lens,
                question_id,
            }
        }
    }

    /// The control this id names, if it exists: one indexed read (two for a
    /// REL 04 id that is not a workload id, tried as an ARN).
    pub async fn find(&self, store: &Store) -> anyhow::Result<Option<ControlRow>> {
        match *self {
            ControlId::Rel04(id) => match store.control_by_workload_id(id).await? {
                Some(control) => Ok(Some(control)),
                None => store.control(id).await,
            },
            ControlId::Question {
                workload_id,
                lens,
                question_id,
            } => {
                store
                    .control_by_workload_id_of(workload_id, lens, question_id)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LENS: &str = "arn:aws:wellarchitected:us-east-1:111122223333:lens/data";

    #[test]
    fn rel04_ids_stay_workload_ids_and_arns() {
        assert_eq!(ControlId::parse("abc"), Ok(ControlId::Rel04("abc")));
        let arn = "arn:aws:wellarchitected:us-east-1:111122223333:workload/abc";
        assert_eq!(ControlId::parse(arn), Ok(ControlId::Rel04(arn)));
    }

    #[test]
    fn a_question_id_names_workload_lens_and_question_with_a_lens_arn_holding_slashes() {
        let id = format!("abc/{LENS}/data-retention");
        assert_eq!(
            ControlId::parse(&id),
            Ok(ControlId::Question {
                workload_id: "abc",
                lens: LENS,
                question_id: "data-retention",
            })
        );
        assert_eq!(
            ControlId::parse("abc/wellarchitected/rel05"),
            Ok(ControlId::Question {
                workload_id: "abc",
                lens: "wellarchitected",
                question_id: "rel05",
            })
        );
    }

    #[test]
    fn odd_ids_are_refused_naming_what_is_wrong() {
        for bad in ["", "abc/", "abc//q", "/lens/q", "abc/lens/"] {
            assert!(ControlId::parse(bad).is_err(), "{bad:?}");
        }
        let long = "a".repeat(MAX_ID + 1);
        assert!(ControlId::parse(&long).unwrap_err().contains("1024"));
        let long_question = format!("abc/lens/{}", "q".repeat(MAX_NAME + 1));
        assert!(ControlId::parse(&long_question).is_err());
    }

    #[test]
    fn arguments_without_lens_or_question_name_rel04() {
        assert_eq!(
            ControlId::of_arguments("abc", None, None),
            ControlId::Rel04("abc")
        );
        assert_eq!(
            ControlId::of_arguments("abc", Some(LENS_ALIAS), Some(QUESTION_ID)),
            ControlId::Rel04("abc")
        );
        assert_eq!(
            ControlId::of_arguments("abc", Some(LENS), Some("q")),
            ControlId::Question {
                workload_id: "abc",
                lens: LENS,
                question_id: "q"
            }
        );
    }
}
