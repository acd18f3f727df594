//! Events in the shapes AWS documents, not the shapes this project invented: each
//! fixture under `tests/corpus/aws-events/` names its source in
//! `tests/corpus/aws-events.expect`. The parser must read each one as expected,
//! and the documented CreateWorkload shape must be accepted end to end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rel04d::aws::Endpoints;
use rel04d::events::parse::{Parsed, parse};
use rel04d_simulator::Simulator;
use serde_json::{Value, json};

use crate::common::process::{Proc, http_address, rel04d, tail, wait_until};
use crate::common::*;

const FIXTURE_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(name)
}

/// `file → expected` from the manifest.
fn manifest() -> BTreeMap<String, String> {
    std::fs::read_to_string(corpus("aws-events.expect"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut columns = l.split('|').map(str::trim);
            let file = columns.next().unwrap().to_owned();
            let expected = columns
                .next()
                .expect("`file | expected | source`")
                .to_owned();
            let source = columns.next().unwrap_or("");
            assert!(!source.is_empty(), "{file} names no source");
            (file, expected)
        })
        .collect()
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(corpus("aws-events").join(name)).unwrap()
}

#[test]
fn every_documented_event_shape_is_read_as_expected() {
    let mut expected = manifest();
    let mut files: Vec<String> = std::fs::read_dir(corpus("aws-events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for file in files {
        let want = expected
            .remove(&file)
            .unwrap_or_else(|| panic!("{file} has no line in aws-events.expect"));
        let got = match parse(&fixture(&file), true) {
            Ok(Parsed::Relevant(event)) => format!("relevant {}", event.workload_id),
            Ok(Parsed::Irrelevant { .. }) => "irrelevant".to_owned(),
            Ok(Parsed::FailedCall { .. }) => "failed call".to_owned(),
            Err(malformed) => format!("{malformed}"),
        };
        assert_eq!(got, want, "{file}");
    }
    assert!(expected.is_empty(), "lines without files: {expected:?}");
}

/// The fixture with the made-up workload id replaced by a real one.
fn for_workload(name: &str, id: &str) -> Value {
    serde_json::from_str(&fixture(name).replace(FIXTURE_ID, id)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_workload_in_the_user_guide_shape_is_accepted_and_evaluated() {
    let sim = Simulator::new(REGION);
    let token = "aws-shapes-token-0123456789";
    let config = format!(
        "[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n[http]\nevents_token = \"{token}\"\n[policies.global]\n{ALL_TRUE}\n"
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    // Created after the first sweep: only the event can tell the daemon.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let id = d
        .sim
        .add_workload(workload("created-later", answer(&ALL_FOUR, &[], true)))
        .id;
    let response = reqwest::Client::new()
        .post(format!("http://{}/events", d.http))
        .bearer_auth(token)
        .json(&for_workload("CreateWorkload.user-guide.json", &id))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 202, "{body}");
    d.wait_for(
        "the created workload's control",
        Duration::from_secs(20),
        || async { d.state_of(&id).await.as_deref() == Some("ok") },
    )
    .await;
    d.stop().await;
}

/// The daemon as a child process with `POST /events` on, and its HTTP address.
async fn daemon_with_events(sim_url: &str, token: &str, dir: &Path) -> (Proc, String) {
    let database_url = format!("sqlite://{}/state.db?mode=rwc", dir.display());
    let mut command = rel04d();
    command
        .arg("run")
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url)
        .env("REL04D__DATABASE__URL", database_url)
        .env("REL04D__HTTP__LISTEN", "127.0.0.1:0")
        .env("REL04D__HTTP__EVENTS_TOKEN", token)
        .env("REL04D__SCHEDULE__INTERVAL", "1h")
        .env("REL04D__AWS__REGIONS", REGION)
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True");
    let log = dir.join("daemon.log");
    let proc = Proc::spawn(command, &log);
    let address = http_address(&log, Duration::from_secs(60)).await;
    (proc, address)
}

/// The log's JSON lines that mention `event_id`.
fn lines_about(log: &Path, event_id: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["event_id"] == event_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_not_evaluated_is_logged_once_counted_and_answered_truthfully() {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("watched", answer(&ALL_FOUR, &[], true)))
        .id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token = "outcomes-token-0123456789";
    let (mut proc, http) = daemon_with_events(&server.url(), token, dir.path()).await;

    let event = |name: &str, event_id: &str| {
        let mut event = for_workload(name, &id);
        event["id"] = json!(event_id);
        event
    };
    let mut out_of_scope = event("UpdateAnswer.json", "ev-out-of-scope");
    out_of_scope["region"] = json!("eu-west-3");
    let cases: Vec<(Value, &str, u16, &str)> = vec![
        (out_of_scope, "ev-out-of-scope", 200, "out_of_scope"),
        (
            event("UpdateAnswer.failed.json", "ev-failed"),
            "ev-failed",
            200,
            "failed_call",
        ),
        (
            event("GetWorkload.json", "ev-irrelevant"),
            "ev-irrelevant",
            200,
            "irrelevant",
        ),
        (
            json!({"id": "ev-malformed", "source": "aws.wellarchitected"}),
            "ev-malformed",
            400,
            "malformed",
        ),
    ];
    let client = reqwest::Client::new();
    for (body, event_id, status, outcome) in &cases {
        // The auth scheme in lower case, as RFC 9110 allows.
        let response = client
            .post(format!("http://{http}/events"))
            .header("authorization", format!("bearer {token}"))
            .json(body)
            .send()
            .await
            .unwrap();
        let got = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(got, *status, "{event_id}: {text}");
        if *status == 200 {
            let answer: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(answer["outcome"], *outcome, "{text}");
            assert!(
                answer["reason"].as_str().unwrap().starts_with("ignored: "),
                "{text}"
            );
        }
    }
    // A relevant one, evaluated: no "not evaluated" line for it.
    let response = client
        .post(format!("http://{http}/events"))
        .header("authorization", format!("BEARER {token}"))
        .json(&event("UpdateAnswer.json", "ev-evaluated"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let metrics = || async {
        client
            .get(format!("http://{http}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    wait_until(
        "the pushed event's evaluation",
        Duration::from_secs(20),
        || async {
            metrics()
                .await
                .contains("rel04d_events_total{intake=\"http\",outcome=\"evaluated\"} 1")
        },
    )
    .await;
    let metrics = metrics().await;
    let log = &proc.log.clone();
    for (_, event_id, _, outcome) in &cases {
        let series = format!("rel04d_events_total{{intake=\"http\",outcome=\"{outcome}\"}} 1");
        assert!(metrics.contains(&series), "{series} missing:\n{metrics}");
        let lines: Vec<Value> = lines_about(log, event_id)
            .into_iter()
            .filter(|l| l["message"] == "event not evaluated" || l["message"] == "event dropped")
            .collect();
        assert_eq!(lines.len(), 1, "{event_id}: {lines:?}\n{}", tail(log));
        assert_eq!(lines[0]["outcome"], *outcome, "{:?}", lines[0]);
        assert!(lines[0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(lines[0]["event_name"].is_string(), "{:?}", lines[0]);
    }
    let not_evaluated =
        |l: &Value| l["message"] == "event not evaluated" || l["message"] == "event dropped";
    assert!(
        !lines_about(log, "ev-evaluated").iter().any(not_evaluated),
        "{:?}",
        lines_about(log, "ev-evaluated")
    );
    let status = proc.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{}", tail(log));
}
