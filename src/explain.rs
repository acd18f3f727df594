//! "Why is this control in this state?" — the policy hierarchy as it resolves now,
//! with what was passed over and why, beside the answer as last read and the
//! verdict per best practice.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::control::hierarchy::{Accountability, Level, PassedOver};
// Every value shown comes from the store, where workloads' owners wrote some of it.
use crate::control::{
    Calculated, CalculationTrace, ControlDef, Details, PolicyKey, PolicySet, WorkloadFacts,
    resolve_control,
};
use crate::display::Terminal as T;
use crate::store::ControlRow;

/// One policy's value for a workload and how it was arrived at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyExplanation {
    pub key: PolicyKey,
    pub value: String,
    pub level: Level,
    pub origin: String,
    pub passed_over: Vec<PassedOver>,
    /// The value the last evaluation used, when it differs from today's.
    pub last_evaluated_value: Option<String>,
    /// For a calculated value: the template, a digest of its input (`$`) and its
    /// output, as the last evaluation ran them (calculations run only in evaluations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculation: Option<CalculationTrace>,
    /// The `reason`, `ticket` and `owner` of the setting that supplied the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accountability: Option<Accountability>,
    /// When the setting that supplied the value expires (RFC 3339), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub workload_id: String,
    pub workload_arn: String,
    pub workload_name: String,
    pub account_id: String,
    pub region: String,
    pub state: String,
    pub reason: String,
    pub evaluated_at: Option<String>,
    pub muted: bool,
    pub policies: Vec<PolicyExplanation>,
    /// The question-level facts of the last read (`IsApplicable`, `Risk`, lens).
    pub question: serde_json::Value,
    /// Per best practice: policy, observed status and verdict, from the last evaluation.
    pub best_practices: serde_json::Value,
    pub none_of_these: serde_json::Value,
}

impl Explanation {
    /// The choices as last judged: each best practice, then "none of these".
    pub fn choices(&self) -> impl Iterator<Item = &serde_json::Value> {
        self.best_practices
            .as_array()
            .into_iter()
            .flatten()
            .chain(self.none_of_these.as_object().map(|_| &self.none_of_these))
    }
}

/// The policy values of the control `definition` (the question `control` is
/// about, as configured) for `control`'s workload under `policies` at `now`.
pub fn policy_values(
    definition: &Arc<ControlDef>,
    control: &ControlRow,
    policies: &PolicySet,
    now: DateTime<Utc>,
) -> Vec<PolicyExplanation> {
    let details = recorded_details(control);
    let facts = recorded_facts(control, &details);
    let last_values: BTreeMap<PolicyKey, &str> = details
        .policies
        .iter()
        .map(|p| (p.key.clone(), p.value.as_str()))
        .collect();
    // Calculations as the last evaluation ran them, used or passed over.
    let calculated = Calculated(
        details
            .policies
            .iter()
            .flat_map(|p| {
                let passed_over = p
                    .passed_over_calculations
                    .iter()
                    .map(|c| ((c.origin.clone(), p.key.clone()), c.calculation.clone()));
                let used = p
                    .calculation
                    .clone()
                    .map(|c| ((p.origin.clone(), p.key.clone()), c));
                passed_over.chain(used)
            })
            .collect(),
    );
    resolve_control(definition, policies, &facts, now, &calculated)
        .iter()
        .map(|(key, resolved)| PolicyExplanation {
            key: key.clone(),
            value: resolved.value.clone(),
            level: resolved.level,
            origin: resolved.origin.clone(),
            passed_over: resolved.passed_over.clone(),
            last_evaluated_value: last_values
                .get(key)
                .filter(|v| **v != resolved.value)
                .map(|v| (*v).to_owned()),
            calculation: resolved.calculation.as_deref().cloned(),
            accountability: policies.accountability(&resolved.origin).cloned(),
            expires: policies
                .expiry(&resolved.origin)
                .map(crate::store::timestamp),
        })
        .collect()
}

/// What policy resolution knows of the control's workload; tags are those read
/// at the last evaluation (recorded in its details).
fn recorded_facts<'a>(control: &'a ControlRow, details: &'a Details) -> WorkloadFacts<'a> {
    WorkloadFacts {
        account_id: &control.account_id,
        workload_id: &control.workload_id,
        workload_name: &control.workload_name,
        tags: &details.policy_tags,
    }
}

/// The details of the control's last evaluation, as the evaluator wrote them
/// (empty for a control not evaluated yet).
fn recorded_details(control: &ControlRow) -> Details {
    serde_json::from_str(control.details.as_str()).unwrap_or_default()
}

/// Why `control` is in its state; `definition` is the question it is about, as
/// configured (its policy names), for any question of any lens.
pub fn explain(
    definition: &Arc<ControlDef>,
    control: &ControlRow,
    policies: &PolicySet,
    now: DateTime<Utc>,
) -> Explanation {
    let details = recorded_details(control);
    let json = |value: serde_json::Result<serde_json::Value>| value.unwrap_or_default();
    Explanation {
        workload_id: control.workload_id.clone(),
        workload_arn: control.workload_arn.clone(),
        workload_name: control.workload_name.clone(),
        account_id: control.account_id.clone(),
        region: control.region.clone(),
        state: control.state.to_string(),
        reason: control.reason.clone(),
        evaluated_at: control.evaluated_at.clone(),
        muted: control.muted,
        policies: policy_values(definition, control, policies, now),
        question: json(serde_json::to_value(&details.question)),
        best_practices: json(serde_json::to_value(&details.best_practices)),
        none_of_these: json(serde_json::to_value(&details.none_of_these)),
    }
}

/// The explanation as text for a terminal.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Workload {} ({}), account {}, {}",
        T(&e.workload_name),
        T(&e.workload_id),
        T(&e.account_id),
        T(&e.region)
    );
    let muted = if e.muted { " [muted]" } else { "" };
    let evaluated = T(e.evaluated_at.as_deref().unwrap_or("never"));
    let _ = writeln!(
        out,
        "State: {}{muted} — {} (evaluated {evaluated})\n",
        e.state,
        T(&e.reason)
    );
    let _ = writeln!(out, "Policies (value ← level: where it was set):");
    for p in &e.policies {
        let _ = writeln!(
            out,
            "  {:<16} {}  ← {}: {}",
            p.key.as_str(),
            T(&p.value),
            p.level,
            T(&p.origin)
        );
        if p.accountability.is_some() || p.expires.is_some() {
            let shown: Vec<String> = p
                .accountability
                .iter()
                .flat_map(|a| a.fields())
                .map(|(name, value)| format!("{name}: {}", T(value)))
                .chain(p.expires.iter().map(|at| format!("expires {at}")))
                .collect();
            let _ = writeln!(out, "  {:<16}   {}", "", shown.join("; "));
        }
        if let Some(last) = &p.last_evaluated_value {
            let _ = writeln!(
                out,
                "  {:<16} (the last evaluation used {}; the next one will use {})",
                "",
                T(last),
                T(&p.value)
            );
        }
        if let Some(calculation) = &p.calculation {
            let _ = writeln!(
                out,
                "  {:<16}   calculated by template: {}",
                "",
                T(calculation.template.trim())
            );
            if let Some(input) = &calculation.input_digest {
                let _ = writeln!(
                    out,
                    "  {:<16}   its input ($): {} bytes, sha256 {}: {}",
                    "",
                    input.bytes,
                    input.sha256,
                    T(&input.excerpt)
                );
            }
            match (&calculation.output, &calculation.error) {
                (_, Some(error)) => {
                    let _ = writeln!(out, "  {:<16}   failed: {}", "", T(error));
                }
                (Some(output), None) => {
                    let _ = writeln!(
                        out,
                        "  {:<16}   its output: {}",
                        "",
                        T(format!("{output:?}"))
                    );
                }
                (None, None) => {}
            }
        }
        for skipped in &p.passed_over {
            let _ = writeln!(
                out,
                "  {:<16}   passed over {} ({}: {}) — {}",
                "",
                T(&skipped.value),
                skipped.level,
                T(&skipped.origin),
                T(&skipped.why)
            );
        }
    }
    if let Some(question) = e.question.as_object() {
        let applicable = if question["is_applicable"] == true {
            "applicable"
        } else {
            "not applicable"
        };
        let risk = T(question["risk"].as_str().unwrap_or("unknown"));
        let _ = writeln!(
            out,
            "\nAnswer as last read: question {applicable}, risk {risk}"
        );
        for choice in e.choices() {
            let _ = writeln!(
                out,
                "  {:<56} policy {:<22} observed {:<15} {}",
                T(choice["title"].as_str().unwrap_or("")),
                T(choice["policy"].as_str().unwrap_or("")),
                T(choice["observed"].as_str().unwrap_or("missing")),
                T(choice["result"].as_str().unwrap_or(""))
            );
        }
    } else {
        let _ = writeln!(
            out,
            "\nNo answer was read (the policies decided the state on their own, or it could not be read)."
        );
    }
    out
}

pub mod plan;

#[cfg(test)]
mod tests;
