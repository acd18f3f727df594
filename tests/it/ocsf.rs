//! `--output ocsf`: OCSF Compliance Findings (class 2003) as JSON lines, checked
//! with py-ocsf-models (PyPI) by `scripts/validate-ocsf.py`, run with the Python
//! named in `$REL04D_OCSF_PYTHON` (a venv with py-ocsf-models; scripts/test.sh
//! makes it).

use std::io::Write;
use std::process::Command;

use rel04d::config::Severity;
use rel04d::control::ControlState;
use rel04d::store::{ControlRow, TransitionRow};
use rel04d_simulator::Simulator;
use serde_json::{Value, json};

use crate::common::process::{rel04d, stdout_of};
use crate::common::*;

/// Runs the validator on `lines`; its exit status and what it said.
fn validate(lines: &str) -> (bool, String) {
    let python = std::env::var("REL04D_OCSF_PYTHON")
        .expect("REL04D_OCSF_PYTHON is not set: run scripts/test.sh (a venv with py-ocsf-models)");
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(lines.as_bytes()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/validate-ocsf.py");
    let out = Command::new(python)
        .arg(script)
        .arg(file.path())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn lines(events: impl IntoIterator<Item = Value>) -> String {
    events.into_iter().map(|e| format!("{e}\n")).collect()
}

fn control(state: ControlState) -> ControlRow {
    control_row(
        &format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/w-{state}"),
        state,
    )
}

fn transition(from: Option<ControlState>, to: ControlState) -> TransitionRow {
    TransitionRow {
        id: 1,
        workload_id: "w".into(),
        workload_arn: format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/w"),
        account_id: "111122223333".into(),
        region: REGION.into(),
        control_type: "rel04".into(),
        lens: "wellarchitected".into(),
        question_id: "prevent-interaction-failure".into(),
        from_state: from.map(|s| s.to_string()),
        to_state: to.to_string(),
        reason: "r".into(),
        details: json!({}),
        trigger: "sweep".into(),
        event_id: None,
        action: None,
        changes: None,
        muted: false,
        occurred_at: "2026-01-01T00:00:00.000000Z".into(),
    }
}

#[test]
fn every_state_and_transition_validates_against_py_ocsf_models() {
    // The global setting (the fixture's policy origin) says why, and whose it is.
    let dir = tempfile::tempdir().unwrap();
    let policies = settings(
        &dir,
        "sqlite://unused.db?mode=rwc",
        "[policies.global]\nidempotent = \"True\"\nreason = \"agreed\"\nowner = \"team-a\"\n",
    )
    .policies
    .to_policy_set()
    .unwrap();
    let mut events: Vec<Value> = ControlState::ALL
        .iter()
        .map(|&s| rel04d::ocsf::control(&control(s), Severity::Medium, &policies))
        .collect();
    assert_eq!(
        events[0]["unmapped"]["accountability"]["idempotent"]["owner"],
        "team-a"
    );
    for &to in &ControlState::ALL {
        events.push(rel04d::ocsf::transition(
            &transition(None, to),
            Severity::High,
        ));
        events.push(rel04d::ocsf::transition(
            &transition(Some(ControlState::Ok), to),
            Severity::Low,
        ));
    }
    let (ok, said) = validate(&lines(events));
    assert!(ok, "{said}");
    assert!(
        said.contains("21 OCSF Compliance Finding(s) validated, 0 invalid"),
        "{said}"
    );
}

/// A custom lens's question: its own control name, title and finding id, the
/// severity its answer's Risk gives, and still a valid Compliance Finding.
#[test]
fn a_custom_questions_finding_names_its_question_and_takes_the_answers_risk() {
    let policies = rel04d::control::PolicySet::default();
    let arn = "arn:aws:wellarchitected:us-east-1:111122223333:workload/custom";
    let row = custom_question_row(arn, ControlState::Alarm, "HIGH");
    let event = rel04d::ocsf::control(&row, Severity::Medium, &policies);
    assert_eq!(event["compliance"]["control"], "data-retention");
    assert_eq!(
        event["finding_info"]["types"],
        json!(["Well-Architected data-retention"])
    );
    assert_eq!(event["severity"], "High");
    assert_eq!(
        event["finding_info"]["uid"],
        format!("{arn}/rel04d/retention/{}/data-retention", row.lens),
        "the Security Hub finding's id"
    );
    let rel04 = rel04d::ocsf::control(
        &control_row(arn, ControlState::Alarm),
        Severity::Medium,
        &policies,
    );
    assert_eq!(rel04["compliance"]["control"], "REL 04");
    assert_eq!(rel04["severity"], "Medium");
    let (ok, said) = validate(&lines([event, rel04]));
    assert!(ok, "{said}");
}

/// The validator refuses what is not a Compliance Finding, and fields the
/// model would drop (else the test above could not fail).
#[test]
fn the_validator_refuses_other_classes_and_unknown_fields() {
    let good = rel04d::ocsf::control(
        &control(ControlState::Ok),
        Severity::Medium,
        &Default::default(),
    );
    for (what, change) in [
        ("a missing finding_info", json!({"finding_info": null})),
        ("another class", json!({"class_uid": 2004})),
        ("an unknown field", json!({"not_ocsf": 1})),
        (
            "an unknown compliance status",
            json!({"compliance": {"status_id": 7}}),
        ),
    ] {
        let mut bad = good.clone();
        for (key, value) in change.as_object().unwrap() {
            if value.is_null() {
                bad.as_object_mut().unwrap().remove(key);
            } else if value.is_object() {
                for (inner, v) in value.as_object().unwrap() {
                    bad[key][inner] = v.clone();
                }
            } else {
                bad[key] = value.clone();
            }
        }
        let (ok, said) = validate(&lines([bad]));
        assert!(!ok, "{what} passed: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_and_history_print_one_valid_finding_per_row() {
    let sim = Simulator::new(REGION);
    sim.add_workload(workload("passing", answer(&ALL_FOUR, &[], true)));
    sim.add_workload(workload("failing", answer(&ALL_FOUR[..1], &[], true)));
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let export = |command: &str| {
        stdout_of(
            rel04d()
                .args([command, "--output", "ocsf"])
                .env("REL04D__DATABASE__URL", &env.database_url),
        )
    };
    let controls = export("controls");
    assert_eq!(controls.lines().count(), env.controls("").await.len());
    let history = export("history");
    assert_eq!(history.lines().count(), env.transitions().await.len());
    for output in [controls, history] {
        let (ok, said) = validate(&output);
        assert!(ok, "{said}\n{output}");
    }
    env.stop().await;
}
