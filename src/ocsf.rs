//! Controls and transitions as OCSF Compliance Findings (class 2003, OCSF 1.5):
//! `rel04d controls --output ocsf` and `rel04d history --output ocsf` write one
//! JSON object per line. Pure; the same status and severity mapping as the
//! Security Hub findings ([`crate::securityhub::finding`]), and the same finding
//! id, so the two correlate.

use std::io::Write;

use chrono::DateTime;
use serde_json::{Map, Value, json};

use crate::config::Severity;
use crate::control::evaluate::Details;
use crate::control::policy::LENS_ALIAS;
use crate::control::{ControlState, PolicySet};
use crate::securityhub::finding::{ComplianceStatus, finding_id};
use crate::store::{ControlRow, TransitionRow, is_rel04};

pub const OCSF_VERSION: &str = "1.5.0";
const CLASS_UID: u32 = 2003;
const CATEGORY_UID: u32 = 2;
const STANDARD: &str = "AWS Well-Architected Framework";
const CONTROL: &str = "REL 04";
pub const RESOURCE_TYPE: &str = "AWS::WellArchitected::Workload";

/// What happened to the finding (OCSF `activity_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Activity {
    Create = 1,
    Update = 2,
    Close = 3,
}

impl Activity {
    fn name(self) -> &'static str {
        match self {
            Activity::Create => "Create",
            Activity::Update => "Update",
            Activity::Close => "Close",
        }
    }
}

/// The OCSF `compliance.status_id`: Pass 1, Warning 2, Fail 3, Unknown 0.
fn compliance_status_id(state: ControlState) -> (u8, &'static str) {
    match ComplianceStatus::of(state) {
        ComplianceStatus::Passed => (1, "Pass"),
        ComplianceStatus::Warning => (2, "Warning"),
        ComplianceStatus::Failed => (3, "Fail"),
        ComplianceStatus::NotAvailable => (0, "Unknown"),
    }
}

/// OCSF `severity_id` as Security Hub's: FAILED `failed`, WARNING Low, else
/// Informational.
fn severity(state: ControlState, failed: Severity) -> (u8, &'static str) {
    let label = match ComplianceStatus::of(state) {
        ComplianceStatus::Failed => failed,
        ComplianceStatus::Warning => Severity::Low,
        _ => Severity::Informational,
    };
    match label {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// Milliseconds since the epoch of a stored RFC 3339 timestamp (0 if malformed,
/// which rel04d never writes).
fn millis(at: &str) -> i64 {
    DateTime::parse_from_rfc3339(at).map_or(0, |t| t.timestamp_millis())
}

fn partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}

/// The policy values of an evaluation, `key: value`, in the order evaluated.
fn policy_values(details: &Value) -> Vec<String> {
    serde_json::from_value::<Details>(details.clone())
        .unwrap_or_default()
        .policies
        .iter()
        .map(|p| format!("{}: {}", p.key.as_str(), p.value))
        .collect()
}

struct Event<'a> {
    activity: Activity,
    /// `compliance.control`: REL 04, or the question's id.
    control: &'a str,
    state: ControlState,
    uid: String,
    title: String,
    reason: &'a str,
    time: &'a str,
    created: Option<&'a str>,
    last_seen: Option<&'a str>,
    policies: Vec<String>,
    resource: Value,
    unmapped: Map<String, Value>,
}

fn event(e: Event<'_>, failed: Severity) -> Value {
    let (status_id, status) = compliance_status_id(e.state);
    let (severity_id, severity_name) = severity(e.state, failed);
    let mut finding_info = json!({
        "uid": e.uid,
        "title": e.title,
        "desc": e.reason,
        "types": [format!("Well-Architected {}", e.control)],
        "modified_time": millis(e.time),
    });
    if let Some(created) = e.created {
        finding_info["created_time"] = json!(millis(created));
        finding_info["first_seen_time"] = json!(millis(created));
    }
    if let Some(last_seen) = e.last_seen {
        finding_info["last_seen_time"] = json!(millis(last_seen));
    }
    let mut compliance = json!({
        "control": e.control,
        "standards": [STANDARD],
        "status_id": status_id,
        "desc": e.reason,
    });
    if !e.policies.is_empty() {
        compliance["requirements"] = json!(e.policies);
    }
    let mut unmapped = e.unmapped;
    unmapped.insert("compliance_status".into(), json!(status));
    json!({
        "activity_id": e.activity as u8,
        "activity_name": e.activity.name(),
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + e.activity as u32,
        "type_name": format!("Compliance Finding: {}", e.activity.name()),
        "time": millis(e.time),
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": if e.state == ControlState::Removed { 5 } else { 1 },
        "message": e.reason,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "rel04d",
                "vendor_name": "rel04d",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "finding_info": finding_info,
        "compliance": compliance,
        "resources": [e.resource],
        "unmapped": unmapped,
    })
}

fn resource(arn: &str, id: &str, name: Option<&str>, region: &str, account: &str) -> Value {
    let mut resource = json!({
        "uid": arn,
        "type": RESOURCE_TYPE,
        "region": region,
        "cloud_partition": partition(arn),
        "data": { "workload_id": id, "account_id": account },
    });
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        resource["name"] = json!(name);
    }
    resource
}

/// One control's current state (activity Create; Close once removed). The
/// `reason`, `ticket` and `owner` of the settings whose values it used (from
/// `policies`) are in `unmapped.accountability`, by policy.
pub fn control(row: &ControlRow, failed: Severity, policies: &PolicySet) -> Value {
    let mut unmapped = Map::new();
    let details: Details = serde_json::from_str(row.details.as_str()).unwrap_or_default();
    let accountable: Map<String, Value> = details
        .policies
        .iter()
        .filter_map(|p| {
            let a = policies.accountability(&p.origin)?;
            Some((p.key.as_str().to_owned(), json!(a)))
        })
        .collect();
    if !accountable.is_empty() {
        unmapped.insert("accountability".into(), Value::Object(accountable));
    }
    unmapped.insert("lens".into(), json!(row.lens));
    unmapped.insert("question_id".into(), json!(row.question_id));
    unmapped.insert("state".into(), json!(row.state.as_str()));
    unmapped.insert("muted".into(), json!(row.muted));
    let failed = failed_severity(&row.lens, &row.question_id, &details, failed);
    event(
        Event {
            control: control_name(&row.lens, &row.question_id),
            activity: if row.state == ControlState::Removed {
                Activity::Close
            } else {
                Activity::Create
            },
            state: row.state,
            uid: finding_id(
                &row.workload_arn,
                &row.control_type,
                &row.lens,
                &row.question_id,
            ),
            title: title(&row.lens, &row.question_id, &row.workload_name),
            reason: &row.reason,
            time: &row.updated_at,
            created: Some(&row.created_at),
            last_seen: row.evaluated_at.as_deref(),
            policies: policy_values(&row.details.value()),
            resource: resource(
                &row.workload_arn,
                &row.workload_id,
                Some(&row.workload_name),
                &row.region,
                &row.account_id,
            ),
            unmapped,
        },
        failed,
    )
}

/// One transition (activity Create for a new control, Close for a removal,
/// Update otherwise).
pub fn transition(row: &TransitionRow, failed: Severity) -> Value {
    let state = row.to_state.parse().unwrap_or(ControlState::Tbd);
    let activity = match (row.from_state.as_deref(), state) {
        (_, ControlState::Removed) => Activity::Close,
        (None, _) => Activity::Create,
        _ => Activity::Update,
    };
    let mut unmapped = Map::new();
    unmapped.insert("transition_id".into(), json!(row.id));
    unmapped.insert("lens".into(), json!(row.lens));
    unmapped.insert("question_id".into(), json!(row.question_id));
    unmapped.insert("from_state".into(), json!(row.from_state));
    unmapped.insert("to_state".into(), json!(row.to_state));
    unmapped.insert("trigger".into(), json!(row.trigger));
    let details: Details = serde_json::from_value(row.details.clone()).unwrap_or_default();
    let failed = failed_severity(&row.lens, &row.question_id, &details, failed);
    event(
        Event {
            control: control_name(&row.lens, &row.question_id),
            activity,
            state,
            uid: finding_id(
                &row.workload_arn,
                &row.control_type,
                &row.lens,
                &row.question_id,
            ),
            title: title(&row.lens, &row.question_id, &row.workload_id),
            reason: &row.reason,
            time: &row.occurred_at,
            created: None,
            last_seen: None,
            policies: policy_values(&row.details),
            resource: resource(
                &row.workload_arn,
                &row.workload_id,
                None,
                &row.region,
                &row.account_id,
            ),
            unmapped,
        },
        failed,
    )
}

/// `compliance.control`: `REL 04`, or another question's id.
fn control_name<'a>(lens: &str, question_id: &'a str) -> &'a str {
    if is_rel04(lens, question_id) {
        CONTROL
    } else {
        question_id
    }
}

/// The severity of a FAILED finding: `failed` for REL 04; another question's
/// from the answer's Risk as last read, as its Security Hub finding's.
fn failed_severity(lens: &str, question_id: &str, details: &Details, failed: Severity) -> Severity {
    if is_rel04(lens, question_id) {
        failed
    } else {
        crate::securityhub::severity::of_risk(details, failed)
    }
}

/// A finding's title: REL 04's as it always was; another question's names it
/// (and its lens, when that is not the AWS one).
fn title(lens: &str, question_id: &str, workload: &str) -> String {
    if is_rel04(lens, question_id) {
        format!("REL 04 of workload {workload}")
    } else if lens == LENS_ALIAS {
        format!("{question_id} of workload {workload}")
    } else {
        format!("{question_id} ({lens}) of workload {workload}")
    }
}

/// Writes `events` as JSON lines.
pub fn write_lines<W: Write>(
    out: &mut W,
    events: impl Iterator<Item = Value>,
) -> std::io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut *out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests;
