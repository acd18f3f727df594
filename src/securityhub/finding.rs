//! A control as an AWS Security Finding Format (ASFF 2018-10-08) finding. Pure:
//! the publisher sends what [`Finding::of`] builds, and the tests check its JSON
//! against botocore's `AwsSecurityFinding` shape.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::{SecurityHubSettings, Severity};
use crate::control::evaluate::Details;
use crate::control::{ControlState, PolicySet};
use crate::store::{ControlRow, is_rel04};

pub const SCHEMA_VERSION: &str = "2018-10-08";
/// ASFF length limits (Security Hub refuses longer values).
const MAX_ID: usize = 512;
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_FIELD: usize = 2048;

/// The `Compliance.Status` of a control state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComplianceStatus {
    Passed,
    Failed,
    Warning,
    NotAvailable,
}

impl ComplianceStatus {
    /// ok → PASSED, alarm → FAILED, error → WARNING; invalid, skipped, tbd (and
    /// removed, whose finding is archived) → NOT_AVAILABLE.
    pub fn of(state: ControlState) -> Self {
        match state {
            ControlState::Ok => ComplianceStatus::Passed,
            ControlState::Alarm => ComplianceStatus::Failed,
            ControlState::Error => ComplianceStatus::Warning,
            ControlState::Invalid
            | ControlState::Skipped
            | ControlState::Tbd
            | ControlState::Removed => ComplianceStatus::NotAvailable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ComplianceStatus::Passed => "PASSED",
            ComplianceStatus::Failed => "FAILED",
            ComplianceStatus::Warning => "WARNING",
            ComplianceStatus::NotAvailable => "NOT_AVAILABLE",
        }
    }
}

/// One finding, every field as Security Hub receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub region: String,
    pub partition: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_observed_at: String,
    pub title: String,
    pub description: String,
    /// The workload ARN (resource type `Other`).
    pub resource_id: String,
    /// `Resources[0].Details.Other`: the workload's name, id and lens.
    pub resource_details: BTreeMap<String, String>,
    pub status: ComplianceStatus,
    /// `Compliance.StatusReasons[0]`: the control state and its reason.
    pub reason_code: String,
    pub reason: String,
    pub severity: Severity,
    pub types: Vec<String>,
    pub archived: bool,
    /// `ProductFields`: the state and each policy's value.
    pub product_fields: BTreeMap<String, String>,
}

/// The finding's stable id: one per control, so a change updates it. REL 04's
/// is its workload ARN and control type, as before controls had questions;
/// any other question's adds its lens and question id, so two controls of one
/// workload never share a finding.
pub fn finding_id(workload_arn: &str, control_type: &str, lens: &str, question_id: &str) -> String {
    let id = if is_rel04(lens, question_id) {
        format!("{workload_arn}/rel04d/{control_type}")
    } else {
        format!("{workload_arn}/rel04d/{control_type}/{lens}/{question_id}")
    };
    truncate(&id, MAX_ID)
}

/// The question, as titles and descriptions name it: `REL 04`; another
/// Framework question by its id; a custom lens's question by its id and lens.
fn question_name(control: &ControlRow, rel04: bool) -> String {
    if rel04 {
        "REL 04".to_owned()
    } else if control.lens == crate::control::policy::LENS_ALIAS {
        control.question_id.clone()
    } else {
        format!("{} of lens {}", control.question_id, control.lens)
    }
}

/// REL 04's title as it always was; another question's names the question.
fn title(control: &ControlRow, rel04: bool) -> String {
    if rel04 {
        format!(
            "REL 04: design interactions to prevent failures ({})",
            display_name(control)
        )
    } else {
        format!(
            "{} ({})",
            question_name(control, rel04),
            display_name(control)
        )
    }
}

impl Finding {
    /// The finding of `control` as of `now` (an RFC 3339 timestamp).
    pub fn of(control: &ControlRow, settings: &SecurityHubSettings, now: &str) -> Finding {
        let partition = control
            .workload_arn
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
            .to_owned();
        let account = &control.account_id;
        let region = &control.region;
        let status = ComplianceStatus::of(control.state);
        let details: Details = serde_json::from_str(control.details.as_str()).unwrap_or_default();
        let lens = details
            .question
            .as_ref()
            .and_then(|q| q.lens_arn.clone())
            .unwrap_or_else(|| crate::control::policy::LENS_ALIAS.to_owned());
        let mut resource_details = BTreeMap::new();
        resource_details.insert("WorkloadId".to_owned(), control.workload_id.clone());
        resource_details.insert("Lens".to_owned(), lens);
        if !control.workload_name.trim().is_empty() {
            resource_details.insert("WorkloadName".to_owned(), control.workload_name.clone());
        }
        let rel04 = is_rel04(&control.lens, &control.question_id);
        let (severity, types) =
            super::severity::severity_and_types(status, &details, settings, rel04);
        let mut product_fields = BTreeMap::new();
        product_fields.insert("rel04d/State".to_owned(), control.state.to_string());
        for policy in &details.policies {
            let value = truncate(&policy.value, MAX_FIELD);
            if !value.trim().is_empty() {
                product_fields.insert(format!("rel04d/Policy/{}", policy.key.as_str()), value);
            }
        }
        let reason = if control.reason.trim().is_empty() {
            format!("The control is {}", control.state)
        } else {
            truncate(&control.reason, MAX_FIELD)
        };
        Finding {
            id: finding_id(
                &control.workload_arn,
                &control.control_type,
                &control.lens,
                &control.question_id,
            ),
            product_arn: format!(
                "arn:{partition}:securityhub:{region}:{account}:product/{account}/default"
            ),
            generator_id: format!("rel04d/{}", control.control_type),
            aws_account_id: account.clone(),
            region: region.clone(),
            created_at: control.created_at.clone(),
            updated_at: now.to_owned(),
            last_observed_at: control
                .evaluated_at
                .clone()
                .unwrap_or_else(|| control.updated_at.clone()),
            title: truncate(&title(control, rel04), MAX_TITLE),
            description: truncate(
                &format!(
                    "Whether workload {} answers the Well-Architected question {} as its policies require. {reason}",
                    display_name(control),
                    question_name(control, rel04),
                ),
                MAX_DESCRIPTION,
            ),
            resource_id: control.workload_arn.clone(),
            resource_details,
            status,
            reason_code: format!("REL04D_{}", control.state.as_str().to_uppercase()),
            reason,
            severity,
            types,
            archived: control.state == ControlState::Removed,
            product_fields,
            partition,
        }
    }

    /// Adds, for each policy value the control used, the `reason`, `ticket` and
    /// `owner` of the setting that supplied it (`ProductFields`
    /// `rel04d/Policy/<key>/Reason`, …).
    pub fn with_accountability(mut self, control: &ControlRow, policies: &PolicySet) -> Self {
        let details: Details = serde_json::from_str(control.details.as_str()).unwrap_or_default();
        for policy in &details.policies {
            let Some(accountability) = policies.accountability(&policy.origin) else {
                continue;
            };
            for (field, value) in accountability.fields() {
                let mut name = field.to_owned();
                name[..1].make_ascii_uppercase();
                self.product_fields.insert(
                    format!("rel04d/Policy/{}/{name}", policy.key.as_str()),
                    truncate(value, MAX_FIELD),
                );
            }
        }
        self
    }

    pub fn record_state(&self) -> &'static str {
        if self.archived { "ARCHIVED" } else { "ACTIVE" }
    }

    /// The finding as ASFF JSON: what is measured for batching and validated in
    /// the tests (the SDK adapter sends the same fields).
    pub fn to_asff(&self) -> Value {
        json!({
            "SchemaVersion": SCHEMA_VERSION,
            "Id": self.id,
            "ProductArn": self.product_arn,
            "ProductName": "rel04d",
            "CompanyName": "rel04d",
            "GeneratorId": self.generator_id,
            "AwsAccountId": self.aws_account_id,
            "Region": self.region,
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "FirstObservedAt": self.created_at,
            "LastObservedAt": self.last_observed_at,
            "Title": self.title,
            "Description": self.description,
            "Resources": [{
                "Type": "Other",
                "Id": self.resource_id,
                "Partition": self.partition,
                "Region": self.region,
                "Details": { "Other": self.resource_details },
            }],
            "Compliance": {
                "Status": self.status.as_str(),
                "StatusReasons": [{ "ReasonCode": self.reason_code, "Description": self.reason }],
            },
            "FindingProviderFields": {
                "Severity": { "Label": self.severity.as_str(), "Original": self.severity.as_str() },
                "Types": self.types,
            },
            "ProductFields": self.product_fields,
            "RecordState": self.record_state(),
        })
    }
}

fn display_name(control: &ControlRow) -> &str {
    if control.workload_name.trim().is_empty() {
        &control.workload_id
    } else {
        &control.workload_name
    }
}

/// At most `max` characters, cut on a character boundary, ending in `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::control::policy::QUESTION_ID;
    use crate::store::JsonText;

    pub(crate) fn control(state: ControlState) -> ControlRow {
        ControlRow {
            workload_id: "0123abcd".into(),
            workload_arn: "arn:aws:wellarchitected:eu-west-1:111122223333:workload/0123abcd".into(),
            workload_name: "payments".into(),
            account_id: "111122223333".into(),
            region: "eu-west-1".into(),
            control_type: "rel04".into(),
            lens: "wellarchitected".into(),
            question_id: "prevent-interaction-failure".into(),
            lens_status: None,
            state,
            reason: "Idempotent is not selected".into(),
            details: JsonText::of(&json!({
                "policies": [{"key": "idempotent", "value": "True", "source": "global", "origin": "policies.global"}],
                "best_practices": [],
            })),
            created_at: "2026-01-01T00:00:00.000000Z".into(),
            updated_at: "2026-01-02T00:00:00.500000Z".into(),
            evaluated_at: Some("2026-01-03T00:00:00.000000Z".into()),
            removed_at: None,
            muted: false,
            mute: None,
            scanned_by: "111122223333/eu-west-1".into(),
            version: 3,
            claimed_by: None,
        }
    }

    /// Two controls of one workload are two findings; REL 04's id is the one it
    /// had before controls had questions.
    #[test]
    fn each_control_of_a_workload_has_its_own_finding_and_rel04s_id_is_unchanged() {
        let settings = SecurityHubSettings::default();
        let rel04 = control(ControlState::Ok);
        let mut rel05 = rel04.clone();
        rel05.question_id = "prevent-interaction-failure-2".into();
        let mut custom = rel04.clone();
        custom.lens = "arn:aws:wellarchitected:eu-west-1:111122223333:lens/abc".into();
        let ids: Vec<String> = [&rel04, &rel05, &custom]
            .iter()
            .map(|c| Finding::of(c, &settings, "2026-01-03T00:00:00.000000Z").id)
            .collect();
        assert_eq!(
            ids[0],
            "arn:aws:wellarchitected:eu-west-1:111122223333:workload/0123abcd/rel04d/rel04"
        );
        assert_eq!(
            ids[1],
            format!("{}/wellarchitected/prevent-interaction-failure-2", ids[0])
        );
        assert_eq!(
            ids[2],
            format!("{}/{}/{}", ids[0], custom.lens, QUESTION_ID)
        );
    }

    #[test]
    fn every_state_maps_to_its_compliance_status_and_severity() {
        let settings = SecurityHubSettings::default();
        let expected = [
            (ControlState::Ok, "PASSED", "INFORMATIONAL", "ACTIVE"),
            (ControlState::Alarm, "FAILED", "MEDIUM", "ACTIVE"),
            (ControlState::Error, "WARNING", "LOW", "ACTIVE"),
            (
                ControlState::Invalid,
                "NOT_AVAILABLE",
                "INFORMATIONAL",
                "ACTIVE",
            ),
            (
                ControlState::Skipped,
                "NOT_AVAILABLE",
                "INFORMATIONAL",
                "ACTIVE",
            ),
            (
                ControlState::Tbd,
                "NOT_AVAILABLE",
                "INFORMATIONAL",
                "ACTIVE",
            ),
            (
                ControlState::Removed,
                "NOT_AVAILABLE",
                "INFORMATIONAL",
                "ARCHIVED",
            ),
        ];
        assert_eq!(expected.len(), ControlState::ALL.len());
        for (state, status, severity, record) in expected {
            let asff = Finding::of(&control(state), &settings, "2026-02-01T00:00:00Z").to_asff();
            assert_eq!(asff["Compliance"]["Status"], status, "{state}");
            assert_eq!(
                asff["FindingProviderFields"]["Severity"]["Label"], severity,
                "{state}"
            );
            assert_eq!(asff["RecordState"], record, "{state}");
            assert_eq!(
                asff["Compliance"]["StatusReasons"][0]["ReasonCode"],
                format!("REL04D_{}", state.as_str().to_uppercase())
            );
        }
    }

    #[test]
    fn the_finding_is_the_workloads_in_its_own_account_and_region() {
        let settings = SecurityHubSettings {
            failed_severity: Severity::High,
            ..SecurityHubSettings::default()
        };
        let asff = Finding::of(
            &control(ControlState::Alarm),
            &settings,
            "2026-02-01T00:00:00Z",
        )
        .to_asff();
        assert_eq!(asff["SchemaVersion"], "2018-10-08");
        assert_eq!(
            asff["Id"],
            "arn:aws:wellarchitected:eu-west-1:111122223333:workload/0123abcd/rel04d/rel04"
        );
        assert_eq!(
            asff["ProductArn"],
            "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
        );
        assert_eq!(asff["AwsAccountId"], "111122223333");
        assert_eq!(asff["Resources"][0]["Type"], "Other");
        assert_eq!(
            asff["Resources"][0]["Id"],
            control(ControlState::Ok).workload_arn
        );
        assert_eq!(
            asff["Resources"][0]["Details"]["Other"],
            json!({"Lens": "wellarchitected", "WorkloadId": "0123abcd", "WorkloadName": "payments"})
        );
        assert_eq!(
            asff["Compliance"]["StatusReasons"][0]["Description"],
            "Idempotent is not selected"
        );
        assert_eq!(asff["FindingProviderFields"]["Severity"]["Label"], "HIGH");
        assert_eq!(
            asff["FindingProviderFields"]["Types"],
            json!(["Software and Configuration Checks/AWS Security Best Practices"])
        );
        assert_eq!(asff["UpdatedAt"], "2026-02-01T00:00:00Z");
        assert_eq!(asff["LastObservedAt"], "2026-01-03T00:00:00.000000Z");
    }

    #[test]
    fn the_id_is_the_same_whatever_the_state_and_other_partitions_keep_theirs() {
        let settings = SecurityHubSettings::default();
        let ok = Finding::of(&control(ControlState::Ok), &settings, "a");
        let alarm = Finding::of(&control(ControlState::Alarm), &settings, "b");
        assert_eq!(ok.id, alarm.id);
        let mut china = control(ControlState::Ok);
        china.workload_arn = "arn:aws-cn:wellarchitected:cn-north-1:111122223333:workload/x".into();
        china.region = "cn-north-1".into();
        let finding = Finding::of(&china, &settings, "a");
        assert!(
            finding
                .product_arn
                .starts_with("arn:aws-cn:securityhub:cn-north-1:")
        );
        assert_eq!(finding.partition, "aws-cn");
    }

    #[test]
    fn long_names_and_reasons_are_cut_to_the_asff_limits() {
        let mut long = control(ControlState::Alarm);
        long.workload_name = "n".repeat(5_000);
        long.reason = "é".repeat(5_000);
        let finding = Finding::of(&long, &SecurityHubSettings::default(), "a");
        assert_eq!(finding.title.chars().count(), MAX_TITLE);
        assert_eq!(finding.description.chars().count(), MAX_DESCRIPTION);
        assert_eq!(finding.reason.chars().count(), MAX_FIELD);
        assert!(finding.reason.ends_with('…'));
    }

    /// A policy set whose global setting has a reason, a ticket and an owner.
    pub(crate) fn accountable_policies() -> PolicySet {
        PolicySet {
            settings: vec![crate::control::PolicySetting {
                scope: crate::control::Scope::Global,
                values: Default::default(),
                calculated: Default::default(),
                required: false,
                exception: true,
                expires: None,
                origin: "policies.global".into(),
                accountability: crate::control::hierarchy::Accountability {
                    reason: Some("approved for the migration".into()),
                    ticket: Some("CHG-9".into()),
                    owner: None,
                },
            }],
            tag_prefix: None,
            tags_may_enforce: false,
        }
    }

    #[test]
    fn the_settings_reason_ticket_and_owner_are_product_fields() {
        let row = control(ControlState::Alarm);
        let finding = Finding::of(&row, &SecurityHubSettings::default(), "t")
            .with_accountability(&row, &accountable_policies());
        let fields = &finding.to_asff()["ProductFields"];
        assert_eq!(
            fields["rel04d/Policy/idempotent/Reason"],
            "approved for the migration"
        );
        assert_eq!(fields["rel04d/Policy/idempotent/Ticket"], "CHG-9");
        assert_eq!(fields["rel04d/Policy/idempotent/Owner"], Value::Null);
        let plain = Finding::of(&row, &SecurityHubSettings::default(), "t")
            .with_accountability(&row, &PolicySet::default());
        assert_eq!(plain.product_fields.len(), 2, "state and one policy value");
    }
}
