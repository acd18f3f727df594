//! Every branch of an evaluation's decision table, without a Tool or a database.

use super::*;
use crate::control::policy::LENS_ALIAS;
use crate::control::testing::{answer, policies};
use crate::securityhub::finding::tests::control;

const ALL_TRUE: [(&str, &str); 4] = [
    ("identify", "True"),
    ("loosely_coupled", "True"),
    ("idempotent", "True"),
    ("constant_work", "True"),
];
const ALL_SELECTED: [&str; 4] = ["identify", "loosely_coupled", "idempotent", "constant_work"];

fn expected(rel04: &str) -> Expected {
    let mut values = vec![("rel04", rel04)];
    values.extend_from_slice(&ALL_TRUE);
    match control::plan(policies(&values)) {
        Plan::Check(expected) => expected,
        Plan::Decided(outcome) => panic!("{rel04} decides on its own: {outcome:?}"),
    }
}

fn check() -> Expected {
    expected("Check: Choices based on sub policies")
}

fn error(kind: ErrorKind) -> WaError {
    WaError {
        operation: "GetAnswer",
        kind,
        message: "the message".into(),
        attempts: 1,
    }
}

fn recorded(verdict: &Verdict) -> &Outcome {
    match verdict {
        Verdict::Record {
            outcome,
            enforced: None,
        } => outcome,
        other => panic!("not a plain record: {other:?}"),
    }
}

#[test]
fn without_the_lens_nothing_is_done_for_a_control_the_page_showed_inactive() {
    assert_eq!(without_lens(&Stored::Absent, LENS_ALIAS), Verdict::Ignore);
    let mut removed = control(ControlState::Removed);
    removed.removed_at = Some("2026-01-04T00:00:00.000000Z".into());
    assert_eq!(
        without_lens(&Stored::Control(Box::new(removed)), LENS_ALIAS),
        Verdict::Ignore
    );
}

#[test]
fn without_the_lens_an_active_or_unread_control_is_removed() {
    let active = Stored::Control(Box::new(control(ControlState::Ok)));
    for stored in [active, Stored::Unread] {
        assert_eq!(
            without_lens(&stored, LENS_ALIAS),
            Verdict::remove(LENS_NOT_APPLIED)
        );
    }
}

#[test]
fn a_decided_plan_is_recorded_without_reading_the_answer() {
    let mut values = vec![("rel04", "Skip")];
    values.extend_from_slice(&ALL_TRUE);
    let Planned::Apply(verdict) = of_plan(control::plan(policies(&values))) else {
        panic!("Skip needs no answer");
    };
    assert_eq!(recorded(&verdict).state, ControlState::Skipped);
}

#[test]
fn a_plan_that_checks_asks_for_the_answer() {
    let plan = control::plan(policies(&[("rel04", "Check: None of these")]));
    assert!(matches!(of_plan(plan), Planned::Check(_)));
}

#[test]
fn an_answer_read_is_judged_and_recorded() {
    let good = answer(true, &ALL_SELECTED, &[]);
    let Answered::Apply(verdict) = of_answer(&check(), Ok(good)) else {
        panic!("a matching answer is recorded");
    };
    assert_eq!(recorded(&verdict).state, ControlState::Ok);

    let bad = answer(true, &["identify"], &[]);
    let Answered::Apply(verdict) = of_answer(&check(), Ok(bad)) else {
        panic!("Check never enforces");
    };
    assert_eq!(recorded(&verdict).state, ControlState::Alarm);
}

#[test]
fn an_unreadable_answer_is_recorded_as_an_error() {
    let Answered::Apply(verdict) = of_answer(&check(), Err(error(ErrorKind::AccessDenied))) else {
        panic!("an unreadable answer is recorded");
    };
    let outcome = recorded(&verdict);
    assert_eq!(outcome.state, ControlState::Error);
    assert!(outcome.reason.contains("the message"), "{}", outcome.reason);
}

#[test]
fn an_answer_not_found_is_confirmed_before_anything_is_written() {
    let not_found = error(ErrorKind::NotFound);
    assert_eq!(
        of_answer(&check(), Err(not_found.clone())),
        Answered::NotFound(not_found)
    );
}

#[test]
fn a_wrong_answer_under_enforce_is_enforced_after_its_alarm() {
    let enforce = expected("Enforce: Choices based on sub policies");
    let bad = answer(true, &["identify"], &[]);
    match of_answer(&enforce, Ok(bad.clone())) {
        Answered::Enforce { observed, alarm } => {
            assert_eq!(observed, bad);
            assert_eq!(alarm.state, ControlState::Alarm);
        }
        other => panic!("not enforced: {other:?}"),
    }
    // A right answer under Enforce is only recorded.
    let good = answer(true, &ALL_SELECTED, &[]);
    let Answered::Apply(verdict) = of_answer(&enforce, Ok(good)) else {
        panic!("nothing to enforce");
    };
    assert_eq!(recorded(&verdict).state, ControlState::Ok);
}

#[test]
fn not_found_with_the_lens_still_applied_is_an_error_not_a_removal() {
    let verdict = of_redescribed(&check(), &error(ErrorKind::NotFound), true);
    let outcome = recorded(&verdict);
    assert_eq!(outcome.state, ControlState::Error);
    assert!(
        outcome.reason.contains("the question is not in the lens"),
        "{}",
        outcome.reason
    );
}

#[test]
fn not_found_with_the_lens_gone_removes() {
    let verdict = of_redescribed(&check(), &error(ErrorKind::NotFound), false);
    assert_eq!(verdict, Verdict::remove(LENS_NOT_APPLIED));
}

#[test]
fn a_workload_gone_is_removed_and_one_out_of_reach_is_an_error() {
    let gone = of_undescribable(&error(ErrorKind::NotFound));
    assert_eq!(gone, Verdict::remove(WORKLOAD_GONE));
    let verdict = of_undescribable(&error(ErrorKind::Throttled));
    let outcome = recorded(&verdict);
    assert_eq!(outcome.state, ControlState::Error);
    assert!(
        outcome
            .reason
            .starts_with("Could not describe the workload: "),
        "{}",
        outcome.reason
    );
    assert_eq!(
        outcome.details.error.as_deref(),
        Some(&*error(ErrorKind::Throttled).to_string())
    );
}

#[test]
fn a_read_back_that_matches_is_ok_and_any_other_is_an_error() {
    let enforce = expected("Enforce: Choices based on sub policies");
    let good = answer(true, &ALL_SELECTED, &[]);
    assert_eq!(of_read_back(&enforce, Ok(&good)).state, ControlState::Ok);

    let bad = answer(true, &["identify"], &[]);
    let still = of_read_back(&enforce, Ok(&bad));
    assert_eq!(still.state, ControlState::Error);
    assert!(
        still
            .reason
            .starts_with("Enforced, but the answer still does not match: ")
    );

    let failed = of_read_back(&enforce, Err(&error(ErrorKind::Timeout)));
    assert_eq!(failed.state, ControlState::Error);
    assert!(
        failed.reason.contains("read-back after enforce failed"),
        "{}",
        failed.reason
    );
}

#[test]
fn enforce_writes_unless_someone_else_just_changed_the_answer_or_that_is_unknown() {
    let enforce = expected("Enforce: Choices based on sub policies");
    let alarm = control::judge(&enforce, &answer(true, &["identify"], &[]));
    assert_eq!(
        before_enforce(&enforce, alarm.clone(), Ok(None)),
        Enforcing::Write(alarm.clone())
    );

    let changed_at = chrono::Utc::now();
    let deferral = Deferral {
        changed_at,
        resumes_at: changed_at + chrono::Duration::minutes(10),
    };
    let Enforcing::Hold(verdict) = before_enforce(&enforce, alarm.clone(), Ok(Some(deferral)))
    else {
        panic!("a recent change by someone else defers Enforce");
    };
    let deferred = recorded(&verdict);
    assert_eq!(deferred.state, ControlState::Alarm);
    assert!(
        deferred.reason.starts_with(&alarm.reason) && deferred.reason.contains("Enforce deferred"),
        "{}",
        deferred.reason
    );

    let unknown = Err("GetWorkload failed: throttled".to_owned());
    let Enforcing::Hold(verdict) = before_enforce(&enforce, alarm, unknown) else {
        panic!("not knowing holds Enforce back");
    };
    let held = recorded(&verdict);
    assert_eq!(held.state, ControlState::Error);
    assert!(held.reason.contains("enforce held back"), "{}", held.reason);
}
