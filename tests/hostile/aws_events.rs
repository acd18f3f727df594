//! Events in the shapes AWS documents, not the shapes this project invented: each
//! fixture under `tests/corpus/aws-events/` names its source in
//! `tests/corpus/aws-events.expect`. The parser must read each one as expected,
//! and the documented CreateWorkload shape must be accepted end to end.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rel04d::aws::Endpoints;
use rel04d::events::parse::{Parsed, parse};
use rel04d::simulator::Simulator;
use serde_json::Value;

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
