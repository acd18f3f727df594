//! Public data types of the simulator's admin API (in-process and `/_sim/` JSON).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::lens::LENS_ALIAS;

/// A workload's answer to one question, as the admin API sees it: REL 04's in
/// [`WorkloadSpec`] and [`WorkloadInfo`], any question's in
/// [`crate::Simulator::set_question_answer`].
///
/// `selected` and `not_applicable` hold full choice ids
/// (e.g. `rel_prevent_interaction_failure_idempotent`); every other choice is
/// `UNSELECTED`. An empty `selected` with `is_applicable: true` is an unanswered
/// question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnswerSpec {
    pub selected: Vec<String>,
    pub not_applicable: Vec<String>,
    pub is_applicable: bool,
}

impl Default for AnswerSpec {
    /// Unanswered and applicable: what a fresh lens review looks like.
    fn default() -> Self {
        Self {
            selected: Vec::new(),
            not_applicable: Vec::new(),
            is_applicable: true,
        }
    }
}

/// What to create. Missing JSON fields take the [`Default`] values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadSpec {
    /// 32 lowercase hex chars (the Tool's id pattern); generated when `None`.
    pub id: Option<String>,
    /// 3–100 chars; an empty name becomes `workload-<first 8 id chars>`.
    pub name: String,
    /// 12-digit owner account id.
    pub owner: String,
    pub lenses: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub answer: AnswerSpec,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        Self {
            id: None,
            name: String::new(),
            owner: "111122223333".to_string(),
            lenses: vec![LENS_ALIAS.to_string()],
            tags: BTreeMap::new(),
            answer: AnswerSpec::default(),
        }
    }
}

/// What UpdateWorkload changes (in-process: [`crate::Simulator::update_workload`]).
/// `None` leaves a member as it is; values are validated as the model's
/// UpdateWorkloadInput demands (lengths, enums, a name unique per owner).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadUpdate {
    /// 3–100 chars, unique among the owner's workloads ignoring case and spaces.
    pub name: Option<String>,
    /// 3–250 chars.
    pub description: Option<String>,
    /// `PRODUCTION` or `PREPRODUCTION`.
    pub environment: Option<String>,
    /// 3–255 chars.
    pub review_owner: Option<String>,
    /// Up to 2084 chars.
    pub notes: Option<String>,
    /// One of the model's WorkloadImprovementStatus values.
    pub improvement_status: Option<String>,
}

/// A snapshot of one simulated workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadInfo {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub owner: String,
    pub region: String,
    pub lenses: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub answer: AnswerSpec,
}

/// Faults injected into the Well-Architected API (never into `/_sim/`).
///
/// Order of checks per call: `deny_workloads` / `deny_operations` (403), `rate_limit_per_second` (429),
/// `throttle_probability` (429), `error_probability` (500), `conflict_probability`
/// (409, only on the writes that model it: UpdateAnswer, UpdateWorkload, DeleteWorkload), `missing_question_workloads` (404, GetAnswer only);
/// `latency` (+ spike) is slept before any answer.
/// Random draws come from an RNG seeded with `seed`, re-seeded on every
/// `set_faults`, so a run is repeatable for the same request sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Faults {
    pub throttle_probability: f64,
    pub error_probability: f64,
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    pub latency_spike_probability: f64,
    #[serde(rename = "latency_spike_ms", with = "millis")]
    pub latency_spike: Duration,
    /// Token bucket refilled at this rate, burst `max(1, rate / 10)`.
    pub rate_limit_per_second: Option<f64>,
    pub deny_workloads: BTreeSet<String>,
    /// 403 AccessDeniedException on every call of these operations (by name, e.g.
    /// `ListWorkloads`): a missing IAM permission.
    pub deny_operations: BTreeSet<String>,
    pub seed: u64,
    /// 409 ConflictException on UpdateAnswer, UpdateWorkload and DeleteWorkload.
    pub conflict_probability: f64,
    /// 404 ResourceNotFoundException (ResourceType QUESTION) on GetAnswer for these
    /// workloads although they have the lens: a lens version without the question.
    pub missing_question_workloads: BTreeSet<String>,
    /// Every call naming one of these workloads waits `latency_spike` more: one
    /// slow workload among fast ones.
    pub slow_workloads: BTreeSet<String>,
}

impl Faults {
    /// Rejects probabilities outside 0..=1 and non-positive rates.
    pub fn validate(&self) -> Result<(), String> {
        let probabilities = [
            ("throttle_probability", self.throttle_probability),
            ("error_probability", self.error_probability),
            ("latency_spike_probability", self.latency_spike_probability),
            ("conflict_probability", self.conflict_probability),
        ];
        for (name, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be within 0..=1, got {p}"));
            }
        }
        match self.rate_limit_per_second {
            Some(r) if !(r.is_finite() && r > 0.0) => {
                Err(format!("rate_limit_per_second must be > 0, got {r}"))
            }
            _ => Ok(()),
        }
    }
}

/// Call counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub total: u64,
    pub ok: u64,
    pub throttled: u64,
    pub error: u64,
    pub denied: u64,
    pub not_found: u64,
    pub validation: u64,
    pub conflict: u64,
}

/// Counts of Well-Architected API calls since start or the last reset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStats {
    pub total: u64,
    /// Summed over all operations.
    pub outcomes: OutcomeCounts,
    /// Keyed by operation name (`ListWorkloads`, `GetAnswer`, `ListAnswers`, ...);
    /// every implemented operation is present.
    pub operations: BTreeMap<String, OutcomeCounts>,
}

impl CallStats {
    /// The counts of one operation (zero when unknown).
    pub fn operation(&self, name: &str) -> OutcomeCounts {
        self.operations.get(name).copied().unwrap_or_default()
    }
}

/// Durations travel as integer milliseconds in the admin JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
