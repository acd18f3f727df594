//! Security Hub findings against moto's Security Hub, with the real SDK: what goes
//! over the wire is ASFF as botocore models it, one finding per control, kept in
//! step with the control, archived with its workload, and not lost to a SIGKILL
//! between a transition and its import.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::asff::{findings_of, model, violations};
use crate::common::moto::unique;
use crate::common::process::{Proc, black_hole, daemon, wait_until};
use crate::common::*;
use rel04d::config::SecurityHubSettings;
use rel04d::control::ControlState;
use rel04d::securityhub::Importer;
use rel04d::securityhub::finding::Finding;
use rel04d::securityhub::sdk::{ScopeClient, SdkImporter};
use rel04d::store::Store;
use rel04d_simulator::Simulator;
use serde_json::{Value, json};

fn moto_url() -> String {
    std::env::var("REL04D_TEST_MOTO_URL")
        .expect("REL04D_TEST_MOTO_URL is not set: run scripts/test.sh, which starts moto server")
}

async fn importer(moto: &str) -> SdkImporter {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(rel04d::aws::http_client())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .endpoint_url(moto)
        .load()
        .await;
    SdkImporter {
        clients: vec![ScopeClient {
            account_id: None,
            region: REGION.to_owned(),
            client: aws_sdk_securityhub::Client::new(&sdk),
        }],
    }
}

/// Every state's finding is botocore's `AwsSecurityFinding`, and the SDK sends
/// exactly that JSON: moto stores what arrived, and it equals `to_asff`.
#[tokio::test]
async fn every_states_finding_is_asff_on_the_wire() {
    let moto = moto_url();
    let model = model();
    let run = unique("asff");
    let settings = SecurityHubSettings::default();
    let findings: Vec<Finding> = ControlState::ALL
        .iter()
        .map(|&state| {
            let arn =
                format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/{run}-{state}");
            Finding::of(
                &control_row(&arn, state),
                &settings,
                "2026-02-01T00:00:00.000000Z",
            )
        })
        .collect();
    for finding in &findings {
        let problems = violations(&model, "AwsSecurityFinding", &finding.to_asff());
        assert!(problems.is_empty(), "{problems:#?}");
    }
    let refused = importer(&moto)
        .await
        .import("111122223333", REGION, &findings)
        .await
        .unwrap();
    assert!(refused.is_empty(), "{refused:?}");
    let arns: Vec<String> = findings.iter().map(|f| f.resource_id.clone()).collect();
    let stored = findings_of(&moto, &arns).await;
    assert_eq!(stored.len(), findings.len());
    for finding in &findings {
        let wire = stored
            .iter()
            .find(|s| s["Id"] == finding.id.as_str())
            .expect("stored");
        let problems = violations(&model, "AwsSecurityFinding", wire);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(
            wire,
            &finding.to_asff(),
            "the SDK sends the fields to_asff has"
        );
    }
}

/// A custom lens's question: its own finding id and title, the severity the
/// Tool's Risk gives (REL 04's per-best-practice tables are not its own), and
/// botocore's shape.
#[test]
fn a_custom_questions_finding_is_asff_with_its_own_id_title_and_the_answers_risk() {
    let model = model();
    let arn = format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/custom");
    let mut settings = SecurityHubSettings::default();
    settings.best_practices.insert(
        "idempotent".into(),
        rel04d::config::BestPracticeFinding {
            failed_severity: Some(rel04d::config::Severity::Critical),
            types: vec!["Effects/Data Exposure".into()],
        },
    );
    for (risk, label) in [("HIGH", "HIGH"), ("MEDIUM", "MEDIUM"), ("NONE", "LOW")] {
        let row = custom_question_row(&arn, ControlState::Alarm, risk);
        let asff = Finding::of(&row, &settings, "2026-02-01T00:00:00.000000Z").to_asff();
        let problems = violations(&model, "AwsSecurityFinding", &asff);
        assert!(problems.is_empty(), "{problems:#?}");
        assert_eq!(
            asff["FindingProviderFields"]["Severity"]["Label"], label,
            "{risk}"
        );
        assert_eq!(
            asff["FindingProviderFields"]["Types"],
            json!(settings.types)
        );
        assert_eq!(
            asff["Id"],
            format!("{arn}/rel04d/retention/{}/{}", row.lens, row.question_id)
        );
        let title = asff["Title"].as_str().unwrap();
        assert!(
            title.starts_with("data-retention of lens arn:aws:wellarchitected:"),
            "{title}"
        );
        assert!(!asff["Description"].as_str().unwrap().contains("REL 04"));
    }
    let unanswered = custom_question_row(&arn, ControlState::Alarm, "UNANSWERED");
    assert_eq!(
        Finding::of(&unanswered, &settings, "t").to_asff()["FindingProviderFields"]["Severity"]["Label"],
        "MEDIUM",
        "no risk to go by: securityhub.failed_severity"
    );
}

/// The checker itself finds what is wrong (else the test above could not fail).
#[test]
fn the_shape_check_catches_missing_unknown_and_out_of_enum_members() {
    let model = model();
    let arn = format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/x");
    let mut asff = Finding::of(
        &control_row(&arn, ControlState::Ok),
        &SecurityHubSettings::default(),
        "t",
    )
    .to_asff();
    asff.as_object_mut().unwrap().remove("ProductArn");
    asff["Compliance"]["Status"] = json!("MAYBE");
    asff["Unmodelled"] = json!(1);
    asff["Title"] = json!("");
    let problems = violations(&model, "AwsSecurityFinding", &asff).join("\n");
    for expected in ["ProductArn is missing", "MAYBE", "Unmodelled", ".Title"] {
        assert!(problems.contains(expected), "{expected} in {problems}");
    }
}

fn statuses(findings: &[Value]) -> BTreeMap<String, (String, String)> {
    findings
        .iter()
        .map(|f| {
            (
                f["Resources"][0]["Id"].as_str().unwrap().to_owned(),
                (
                    f["Compliance"]["Status"].as_str().unwrap().to_owned(),
                    f["RecordState"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect()
}

/// The daemon as a process: a SIGKILL after the transitions commit and before
/// their findings are imported loses none; then one finding per control, FAILED
/// and PASSED as alarm and ok, a fix turns its own finding PASSED, and a deleted
/// workload's finding is archived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_keeps_one_finding_per_control_through_a_crash() {
    let moto = moto_url();
    let model = model();
    let sim = Simulator::new(REGION);
    let run = unique("sh");
    let passing = [IDENTIFY, LOOSELY, IDEMPOTENT, CONSTANT];
    let workloads = add_all(
        &sim,
        vec![
            workload(&format!("{run}-a"), answer(&passing, &[], true)),
            workload(&format!("{run}-b"), answer(&passing, &[], true)),
            workload(&format!("{run}-c"), answer(&[IDENTIFY], &[], true)),
            workload(&format!("{run}-d"), answer(&[], &[], true)),
        ],
    );
    let arns: Vec<String> = workloads.iter().map(|w| w.arn.clone()).collect();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");
    // Sweeping every second: the sweep lease of the killed daemon is short too.
    let start = |securityhub: &str| {
        let mut command = daemon(&server.url(), &database_url, 1000);
        command
            .arg("run")
            .env("REL04D__SECURITYHUB__ENABLED", "true")
            .env("AWS_ENDPOINT_URL_SECURITYHUB", securityhub)
            .env("REL04D__SCHEDULE__INTERVAL", "1s")
            .env("REL04D__SCHEDULE__JITTER", "0s");
        Proc::spawn(command, &log)
    };

    // Security Hub never answers: the transitions commit, their findings wait.
    let mut first = start(&black_hole().await);
    let store = Store::connect(&database_url, 2).await.unwrap();
    wait_until(
        "four evaluated controls",
        Duration::from_secs(30),
        || async {
            store.count_by_state().await.is_ok_and(|counts| {
                counts
                    .iter()
                    .filter(|c| c.state == "ok" || c.state == "alarm")
                    .map(|c| c.count)
                    .sum::<i64>()
                    == 4
            })
        },
    )
    .await;
    assert_eq!(
        store.findings_backlog().await.unwrap(),
        4,
        "queued, not imported"
    );
    first.kill();

    let mut second = start(&moto);
    // The dead publisher's claims expire first.
    wait_until(
        "the findings imported after restart",
        Duration::from_secs(90),
        || async { store.findings_backlog().await.unwrap() == 0 },
    )
    .await;
    let findings = findings_of(&moto, &arns).await;
    assert_eq!(findings.len(), 4, "one finding per control: {findings:#?}");
    for finding in &findings {
        let problems = violations(&model, "AwsSecurityFinding", finding);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    let expected: BTreeMap<String, (String, String)> = [
        (&arns[0], "PASSED"),
        (&arns[1], "PASSED"),
        (&arns[2], "FAILED"),
        (&arns[3], "FAILED"),
    ]
    .into_iter()
    .map(|(arn, status)| (arn.clone(), (status.to_owned(), "ACTIVE".to_owned())))
    .collect();
    assert_eq!(statuses(&findings), expected);

    // A fixed alarm turns its own finding PASSED; a deleted workload's is archived.
    sim.set_answer(&workloads[2].id, answer(&passing, &[], true))
        .unwrap();
    sim.delete_workload(&workloads[3].id).unwrap();
    wait_until(
        "the fix and the deletion in Security Hub",
        Duration::from_secs(60),
        || async {
            let now = statuses(&findings_of(&moto, &arns).await);
            now.get(&arns[2])
                .is_some_and(|(status, _)| status == "PASSED")
                && now
                    .get(&arns[3])
                    .is_some_and(|(_, record)| record == "ARCHIVED")
        },
    )
    .await;
    let findings = findings_of(&moto, &arns).await;
    assert_eq!(findings.len(), 4, "updated in place, never duplicated");
    let active_failed = findings
        .iter()
        .filter(|f| f["RecordState"] == "ACTIVE" && f["Compliance"]["Status"] == "FAILED")
        .count();
    assert_eq!(active_failed, 0);

    let exit = second.terminate(Duration::from_secs(30)).await;
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    server.shutdown().await;
}
