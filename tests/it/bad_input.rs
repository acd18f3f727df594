//! Hand-made bad input, each case a file under `tests/corpus/`:
//!
//! - `events/*`: malformed EventBridge events. Each gets a clear error from the
//!   parser (the start of which is written in `events.expect`), the same error in
//!   the 400 of `POST /events` of a running daemon, and changes nothing in the
//!   database.
//! - `configs/*.toml`: bad configurations. Each makes `rel04d check-config`
//!   exit non-zero with one line, `error: configuration key `KEY`: …`, where KEY
//!   is the file's `# expect:` line (`{file}`: the key must end with the file's
//!   name). A `# pending: why` line marks a known gap: the test checks it is
//!   still a gap and fails once it is fixed, so the line gets removed.
//!
//! Property tests (arbitrary bodies and field values never panic) live beside
//! the parser in `src/events/parse/tests.rs`; the config loader's are in
//! `tests/it/config_fuzz.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::db::Db;
use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d::events::parse::parse;
use rel04d::events::sample::update_answer_event;
use rel04d::filter::Filter;
use rel04d_simulator::Simulator;

const TOKEN: &str = "bad-input-token-0123456789";

fn corpus(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir)
}

/// `(file name, body, expected start of the message after "malformed event: ")`,
/// from `events/` and `events.expect`, plus cases too big to keep as files.
fn event_cases() -> Vec<(String, String, String)> {
    let manifest = std::fs::read_to_string(corpus("events.expect")).unwrap();
    let mut expected: BTreeMap<String, String> = manifest
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, message) = l.split_once('|').expect("`file | message` lines");
            (name.trim().to_owned(), message.trim().to_owned())
        })
        .collect();
    let mut cases = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let body = std::fs::read_to_string(&path).unwrap();
        let message = expected
            .remove(&name)
            .unwrap_or_else(|| panic!("{name} has no line in tests/corpus/events.expect"));
        cases.push((name, body, message));
    }
    assert!(
        expected.is_empty(),
        "events.expect names missing files: {:?}",
        expected.keys()
    );
    assert!(cases.len() >= 30, "the corpus is there");

    // Huge strings, generated: still under the 256 KiB event limit, so they reach
    // the parser (bigger bodies are refused with 413; see tests/it/http_events.rs).
    let workload = "0123456789abcdef0123456789abcdef";
    let mut huge_id = update_answer_event("huge-1", "111122223333", REGION, workload);
    huge_id["detail"]["requestParameters"]["WorkloadId"] = "f".repeat(200 * 1024).into();
    cases.push((
        "(generated) 200 KiB workload id".into(),
        huge_id.to_string(),
        "requestParameters.WorkloadId is too long (204800 bytes, at most 256)".into(),
    ));
    let mut huge_arn = update_answer_event("huge-2", "111122223333", REGION, workload);
    huge_arn["detail"]["eventName"] = "UntagResource".into();
    huge_arn["detail"]["requestParameters"] = serde_json::json!({
        "WorkloadArn": format!("arn:aws:wellarchitected:us-east-1:111122223333:workload/{}", "%2F".repeat(60 * 1024)),
    });
    cases.push((
        "(generated) 180 KiB encoded ARN".into(),
        huge_arn.to_string(),
        "requestParameters.WorkloadArn is too long".into(),
    ));
    let deep = format!(
        "{}{}",
        "[".repeat(100_000),
        "]".repeat(100_000) // 200 KB of nesting: must not overflow the stack
    );
    cases.push((
        "(generated) 100,000 nested arrays".into(),
        deep,
        "not JSON: recursion limit exceeded".into(),
    ));
    cases
}

fn parse_error(body: &str) -> String {
    match parse(body, true) {
        Ok(parsed) => panic!("accepted as {parsed:?}"),
        Err(malformed) => malformed.to_string(),
    }
}

fn short(text: &str) -> &str {
    &text[..text.floor_char_boundary(160)]
}

#[test]
fn every_malformed_event_gets_an_error_that_says_what_is_wrong() {
    for (name, body, expected) in event_cases() {
        let error = parse_error(&body);
        assert!(
            error.starts_with(&format!("malformed event: {expected}")),
            "{name}: got {:?}, expected it to start with {expected:?}",
            short(&error)
        );
        // The error names the problem, never echoes an unbounded body back.
        assert!(
            error.len() <= body.len() + 200,
            "{name}: the message is longer than the input"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_events_refuses_each_malformed_event_with_its_reason_and_changes_nothing() {
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload("payments", answer(&ALL_FOUR, &[], true)));
    // Tag policies on, so TagResource events are parsed to the end, not ignored.
    let config = format!(
        "[http]\nevents_token = \"{TOKEN}\"\n[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n\
         [policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n\
         [policies.tags]\nenabled = true\n"
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        d.state_of(&w.id).await.as_deref() == Some("ok")
    })
    .await;
    let db = Db::connect(d.daemon.settings.database_url()).await;
    let counts = db.table_counts().await;
    assert!(counts.values().all(Option::is_some), "{counts:?}");
    let controls = d.daemon.store.list_controls(&Filter::default()).await;
    let controls = controls.unwrap();
    let transitions = d.transitions().await;

    let client = reqwest::Client::new();
    for (name, body, _) in event_cases() {
        let expected = parse_error(&body);
        let response = client
            .post(format!("http://{}/events", d.http))
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let reply: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 400, "{name}: {}", short(&reply.to_string()));
        assert_eq!(
            reply["error"].as_str(),
            Some(expected.as_str()),
            "{name}: the 400 says what the parser says"
        );
    }

    assert_eq!(db.table_counts().await, counts, "no row written");
    assert_eq!(
        d.daemon
            .store
            .list_controls(&Filter::default())
            .await
            .unwrap(),
        controls,
        "no control touched"
    );
    assert_eq!(d.transitions().await, transitions);
    for outcome in ["evaluated", "duplicate", "irrelevant"] {
        assert_eq!(
            d.daemon.metrics.counter(
                "rel04d_events_total",
                &[("intake", "http"), ("outcome", outcome)]
            ),
            0.0,
            "{outcome}"
        );
    }
    let health = client
        .get(format!("http://{}/healthz", d.http))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "still serving");
    db.close().await;
    d.stop().await;
}

struct ConfigCase {
    name: String,
    path: PathBuf,
    key: String,
    pending: Option<String>,
}

fn config_cases() -> Vec<ConfigCase> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus("configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let cases: Vec<ConfigCase> = files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let header = |tag: &str| {
                text.lines()
                    .take_while(|l| l.starts_with('#'))
                    .find_map(|l| l.strip_prefix(tag).map(|v| v.trim().to_owned()))
            };
            let key = header("# expect:")
                .unwrap_or_else(|| panic!("{name}: no `# expect: KEY` line at the top"));
            let key = key.replace("{file}", &name);
            ConfigCase {
                pending: header("# pending:"),
                name,
                path,
                key,
            }
        })
        .collect();
    assert!(cases.len() >= 40, "the corpus is there");
    cases
}

/// What `check-config` printed and whether it met the contract, as an error text.
fn check_config(case: &ConfigCase) -> Result<(), String> {
    let output = crate::common::process::rel04d()
        .args(["--config", case.path.to_str().unwrap(), "check-config"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run rel04d check-config");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() {
        return Err(format!("accepted (exit 0): {}", short(&stdout)));
    }
    if !stdout.is_empty() {
        return Err(format!("printed a configuration: {}", short(&stdout)));
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.len() != 1 {
        return Err(format!("{} lines, not one:\n{stderr}", lines.len()));
    }
    let prefix = "error: configuration key `";
    let named = lines[0]
        .strip_prefix(prefix)
        .and_then(|rest| rest.split_once("`: "))
        .map(|(key, _)| key);
    let ok = match named {
        Some(key) if case.key.ends_with(".toml") => key.ends_with(&case.key),
        Some(key) => key == case.key,
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {prefix}{}`: …, got {:?}",
            case.key, lines[0]
        ))
    }
}

#[test]
fn every_bad_config_stops_check_config_with_one_line_naming_its_key() {
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for case in config_cases() {
        match (check_config(&case), &case.pending) {
            (Ok(()), None) => {}
            (Err(problem), None) => failures.push(format!("{}: {problem}", case.name)),
            (Err(_), Some(why)) => pending.push(format!("{}: {why}", case.name)),
            (Ok(()), Some(_)) => failures.push(format!(
                "{}: fixed now; remove its `# pending:` line",
                case.name
            )),
        }
    }
    if !pending.is_empty() {
        eprintln!("known gaps (pending):\n  {}", pending.join("\n  "));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
