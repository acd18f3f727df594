//! A finding's severity and `Types`, from `[securityhub]` and its per-best-practice
//! tables. Pure.
//!
//! What wins: a FAILED finding takes the highest severity among the best
//! practices the control failed, each counting its own
//! `[securityhub.best_practices.<policy>] failed_severity` or, unset, the global
//! `securityhub.failed_severity`; a failure no best practice explains (the
//! question not applicable, "None of these" selected) takes the global one.
//! Its `Types` are `securityhub.types` followed by each failed best practice's
//! own, in best-practice order, without repeats. WARNING (error) is LOW and the
//! rest INFORMATIONAL, with the global types only.
//!
//! Any other question has no per-best-practice tables (its best practices are
//! whatever the Tool's lens holds): a FAILED finding takes the Tool's own
//! judgement of the answer as last read, its `Risk` ([`of_risk`]), with the
//! global types.

use crate::config::{SecurityHubSettings, Severity};
use crate::control::BestPractice;
use crate::control::evaluate::{Check, Details};

use super::finding::ComplianceStatus;

/// The best practices `details` records as failed, in their fixed order.
fn failed(details: &Details) -> Vec<BestPractice> {
    BestPractice::ALL
        .into_iter()
        .filter(|practice| {
            details
                .best_practices
                .iter()
                .any(|c| c.choice_id == practice.choice_id() && c.result == Check::Fail)
        })
        .collect()
}

/// A failed control's severity from the answer's `Risk` as the Tool last
/// returned it: HIGH is HIGH, MEDIUM is MEDIUM, NONE is LOW (the Tool sees no
/// risk, the policies still fail it); no answer read, NOT_APPLICABLE,
/// UNANSWERED or anything else: `failed` (`securityhub.failed_severity`).
pub fn of_risk(details: &Details, failed: Severity) -> Severity {
    let risk = details.question.as_ref().and_then(|q| q.risk.as_deref());
    match risk {
        Some("HIGH") => Severity::High,
        Some("MEDIUM") => Severity::Medium,
        Some("NONE") => Severity::Low,
        _ => failed,
    }
}

/// The severity and types of a finding in `status` with `details`, of REL 04's
/// control (`rel04`) or another question's.
pub fn severity_and_types(
    status: ComplianceStatus,
    details: &Details,
    settings: &SecurityHubSettings,
    rel04: bool,
) -> (Severity, Vec<String>) {
    let mut types = settings.types.clone();
    let severity = match status {
        ComplianceStatus::Failed if !rel04 => of_risk(details, settings.failed_severity),
        ComplianceStatus::Failed => {
            let tables: Vec<_> = failed(details)
                .into_iter()
                .map(|practice| settings.best_practices.get(practice.policy_key().as_str()))
                .collect();
            for table in tables.iter().flatten() {
                for entry in &table.types {
                    if !types.contains(entry) {
                        types.push(entry.clone());
                    }
                }
            }
            tables
                .iter()
                .map(|table| {
                    table
                        .and_then(|t| t.failed_severity)
                        .unwrap_or(settings.failed_severity)
                })
                .max()
                .unwrap_or(settings.failed_severity)
        }
        ComplianceStatus::Warning => Severity::Low,
        _ => Severity::Informational,
    };
    (severity, types)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BestPracticeFinding;
    use crate::control::evaluate::ChoiceDetail;
    use crate::control::hierarchy::Level;

    fn details(failed: &[BestPractice]) -> Details {
        Details {
            best_practices: BestPractice::ALL
                .into_iter()
                .map(|p| ChoiceDetail {
                    choice_id: p.choice_id().to_owned(),
                    title: p.choice_id().to_owned(),
                    policy: "True".to_owned(),
                    source: Level::Global,
                    observed: None,
                    result: if failed.contains(&p) {
                        Check::Fail
                    } else {
                        Check::Pass
                    },
                })
                .collect(),
            ..Details::default()
        }
    }

    fn settings() -> SecurityHubSettings {
        let mut settings = SecurityHubSettings::default();
        settings.best_practices.insert(
            "idempotent".into(),
            BestPracticeFinding {
                failed_severity: Some(Severity::Critical),
                types: vec!["Effects/Data Exposure".into()],
            },
        );
        settings.best_practices.insert(
            "constant_work".into(),
            BestPracticeFinding {
                failed_severity: Some(Severity::Low),
                types: vec![],
            },
        );
        settings
    }

    #[test]
    fn a_failed_finding_takes_the_highest_of_its_failed_best_practices() {
        let s = settings();
        let global = s.types.clone();
        let (severity, types) = severity_and_types(
            ComplianceStatus::Failed,
            &details(&[BestPractice::Idempotent, BestPractice::ConstantWork]),
            &s,
            true,
        );
        assert_eq!(severity, Severity::Critical);
        assert_eq!(
            types,
            [global.clone(), vec!["Effects/Data Exposure".into()]].concat()
        );
        // A lower per-practice severity wins when it is the only failure…
        let only = details(&[BestPractice::ConstantWork]);
        assert_eq!(
            severity_and_types(ComplianceStatus::Failed, &only, &s, true),
            (Severity::Low, global.clone())
        );
        // …but an unconfigured failed practice counts the global one.
        let both = details(&[BestPractice::Identify, BestPractice::ConstantWork]);
        assert_eq!(
            severity_and_types(ComplianceStatus::Failed, &both, &s, true).0,
            Severity::Medium
        );
        // A failure no best practice explains: the global severity.
        assert_eq!(
            severity_and_types(ComplianceStatus::Failed, &details(&[]), &s, true),
            (Severity::Medium, global)
        );
    }

    #[test]
    fn other_statuses_ignore_the_best_practice_tables() {
        let s = settings();
        let failed = details(&[BestPractice::Idempotent]);
        assert_eq!(
            severity_and_types(ComplianceStatus::Warning, &failed, &s, true),
            (Severity::Low, s.types.clone())
        );
        assert_eq!(
            severity_and_types(ComplianceStatus::Passed, &failed, &s, true),
            (Severity::Informational, s.types.clone())
        );
    }

    fn with_risk(risk: Option<&str>) -> Details {
        Details {
            question: Some(crate::control::evaluate::QuestionDetail {
                question_id: "data-retention".into(),
                is_applicable: true,
                risk: risk.map(str::to_owned),
                lens_arn: None,
            }),
            ..details(&[BestPractice::Idempotent])
        }
    }

    #[test]
    fn another_questions_failure_takes_the_answers_risk_not_rel04s_tables() {
        let s = settings();
        let failed =
            |risk| severity_and_types(ComplianceStatus::Failed, &with_risk(risk), &s, false);
        assert_eq!(failed(Some("HIGH")), (Severity::High, s.types.clone()));
        assert_eq!(failed(Some("MEDIUM")).0, Severity::Medium);
        assert_eq!(failed(Some("NONE")).0, Severity::Low);
        // Nothing to go by: the global severity, never REL 04's `idempotent` table.
        for risk in [None, Some("UNANSWERED"), Some("NOT_APPLICABLE")] {
            assert_eq!(
                failed(risk),
                (Severity::Medium, s.types.clone()),
                "{risk:?}"
            );
        }
        assert_eq!(
            severity_and_types(
                ComplianceStatus::Warning,
                &with_risk(Some("HIGH")),
                &s,
                false
            )
            .0,
            Severity::Low
        );
    }

    /// The finding sent is built with them.
    #[test]
    fn the_finding_carries_the_best_practices_severity_and_types() {
        let mut row =
            crate::securityhub::finding::tests::control(crate::control::ControlState::Alarm);
        row.details = crate::store::JsonText::of(
            &serde_json::to_value(details(&[BestPractice::Idempotent])).unwrap(),
        );
        let asff = super::super::finding::Finding::of(&row, &settings(), "t").to_asff();
        assert_eq!(
            asff["FindingProviderFields"]["Severity"]["Label"],
            "CRITICAL"
        );
        assert_eq!(
            asff["FindingProviderFields"]["Types"][1],
            "Effects/Data Exposure"
        );
    }
}
