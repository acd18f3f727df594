//! The structured record of an evaluation (the control's `details`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::control::answer::ChoiceStatus;
use crate::control::calculated::CalculationTrace;
use crate::control::hierarchy::Level;
use crate::control::lens_status::LensStatus;
use crate::control::policy::PolicyKey;

/// The structured record of an evaluation, stored as the control's `details` and
/// read back by `explain` (it round-trips through JSON).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Details {
    /// For each of the five policies: the value used and where it came from.
    pub policies: Vec<PolicyDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionDetail>,
    pub best_practices: Vec<ChoiceDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none_of_these: Option<ChoiceDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The workload's policy tags as read (`policies.tags`), so `explain` can
    /// replay the hierarchy of this evaluation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policy_tags: BTreeMap<String, String>,
    /// The workload as GetWorkload described it (AWS's field names), when this
    /// evaluation described it: GraphQL serves it as `resource.data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<serde_json::Value>,
    /// What was left out to keep details within their bound, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omitted: Option<String>,
    /// The status of the workload's review of this lens, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens_status: Option<LensStatus>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyDetail {
    pub key: PolicyKey,
    pub value: String,
    pub source: Level,
    pub origin: String,
    /// The template, its input and its output, for a calculated value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculation: Option<CalculationTrace>,
    /// The calculations of settings passed over, so `explain` can replay them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over_calculations: Vec<PassedOverCalculation>,
}

/// A calculation whose value was passed over, and the setting it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PassedOverCalculation {
    pub origin: String,
    pub calculation: CalculationTrace,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuestionDetail {
    pub question_id: String,
    pub is_applicable: bool,
    pub risk: Option<String>,
    pub lens_arn: Option<String>,
}

/// One choice: the policy that governs it, what was observed and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChoiceDetail {
    pub choice_id: String,
    pub title: String,
    /// The policy value deciding this choice (for "None of these": the rule applied).
    pub policy: String,
    pub source: Level,
    pub observed: Option<ChoiceStatus>,
    pub result: Check,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Pass,
    Fail,
    NotChecked,
    /// The lens does not offer this choice.
    Missing,
}
