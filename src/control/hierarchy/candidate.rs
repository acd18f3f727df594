//! One policy's candidates and the rule that picks its value.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{Level, PassedOver, ResolvedValue, has_expired};
use crate::control::calculated::CalculationTrace;
use crate::control::policy::PolicyKey;

pub(super) struct Candidate<'a> {
    pub(super) value: Cow<'a, str>,
    pub(super) calculation: Option<Box<CalculationTrace>>,
    pub(super) level: Level,
    pub(super) origin: String,
    pub(super) required: bool,
    pub(super) exception: bool,
    pub(super) expires: Option<DateTime<Utc>>,
    /// Why this candidate may not make the control write answers, if it may
    /// not: a tag, or a value calculated from what a workload's owner controls,
    /// unless the operator allows tags to (`policies.tags.allow_enforce`).
    pub(super) enforce_refused: Option<String>,
}

impl Candidate<'_> {
    fn passed_over(&self, why: String) -> PassedOver {
        PassedOver {
            value: self.value.to_string(),
            level: self.level,
            origin: self.origin.clone(),
            why,
            calculation: self.calculation.clone(),
        }
    }
}

pub(super) fn resolve_key<'a>(
    key: &PolicyKey,
    candidates: impl Iterator<Item = Candidate<'a>>,
    now: DateTime<Utc>,
) -> ResolvedValue {
    let mut current = ResolvedValue {
        value: key.default_value().to_owned(),
        level: Level::Default,
        origin: "built-in default".to_owned(),
        passed_over: Vec::new(),
        calculation: None,
    };
    let mut passed_over = Vec::new();
    // The most senior `required` setting in force, if any: (its origin, its level).
    let mut held_by: Option<(String, Level)> = None;
    for candidate in candidates {
        if let Some(expires) = candidate.expires.filter(|at| has_expired(*at, now)) {
            passed_over.push(candidate.passed_over(format!("expired at {}", expires.to_rfc3339())));
            continue;
        }
        if !key.is_practice()
            && is_enforce(&candidate.value)
            && let Some(why) = &candidate.enforce_refused
        {
            passed_over.push(candidate.passed_over(why.clone()));
            continue;
        }
        if let Some((holder, level)) = &held_by
            && candidate.level > *level
            && !candidate.exception
        {
            passed_over.push(candidate.passed_over(format!(
                "{holder} is required and this setting is not an exception"
            )));
            continue;
        }
        passed_over.push(PassedOver {
            value: std::mem::take(&mut current.value),
            level: current.level,
            origin: std::mem::take(&mut current.origin),
            why: format!("overridden by {}", candidate.origin),
            calculation: current.calculation.take(),
        });
        if candidate.required && held_by.is_none() {
            held_by = Some((candidate.origin.clone(), candidate.level));
        }
        current.value = candidate.value.into_owned();
        current.level = candidate.level;
        current.origin = candidate.origin;
        current.calculation = candidate.calculation;
    }
    current.passed_over = passed_over;
    current
}

/// Whether a question policy's value makes rel04d write answers.
fn is_enforce(value: &str) -> bool {
    value.starts_with("Enforce:")
}
