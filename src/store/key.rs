//! A control's identity: (workload, lens, question).

use serde::Serialize;

use crate::control::policy::{LENS_ALIAS, QUESTION_ID};

/// Names one control: a question of a lens on a workload. `lens` is the lens as
/// configured (the alias `wellarchitected` for AWS lenses, the lens ARN for a
/// custom lens), `question_id` the Tool's QuestionId.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ControlKey {
    pub workload_arn: String,
    pub lens: String,
    pub question_id: String,
}

impl ControlKey {
    pub fn new(workload_arn: &str, lens: &str, question_id: &str) -> Self {
        ControlKey {
            workload_arn: workload_arn.to_owned(),
            lens: lens.to_owned(),
            question_id: question_id.to_owned(),
        }
    }

    /// REL 04's control of a workload: the default wherever no other question
    /// is named (and every row written before controls had a question).
    pub fn rel04(workload_arn: &str) -> Self {
        ControlKey::new(workload_arn, LENS_ALIAS, QUESTION_ID)
    }

    /// Whether this is REL 04 of the `wellarchitected` lens.
    pub fn is_rel04(&self) -> bool {
        is_rel04(&self.lens, &self.question_id)
    }
}

/// Whether (lens, question) is REL 04 of the `wellarchitected` lens, whose
/// surfaces (finding ids, …) stay what they were before controls had questions.
pub fn is_rel04(lens: &str, question_id: &str) -> bool {
    lens == LENS_ALIAS && question_id == QUESTION_ID
}

impl std::fmt::Display for ControlKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.workload_arn, self.lens, self.question_id
        )
    }
}
