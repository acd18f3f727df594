//! No secret in any output: the database password and the event token never
//! appear in what the binary prints (logs at `debug`, `check-config`,
//! `migrate`, error messages), whichever command runs.
//!
//! The database password is checked against a real Postgres server when
//! `REL04D_TEST_POSTGRES_URL` is set (the test server trusts any password), and
//! against an unreachable one always (the connection error names the URL).
//! Refusing unauthenticated `POST /events` (401) is checked in
//! `tests/it/http_events.rs` (`pushed_events_are_authenticated_validated_stored_and_evaluated`);
//! here the token travels in requests to the running daemon, right and wrong.

use std::process::Output;
use std::time::Duration;

use crate::common::process::{Proc, http_address, rel04d, tail};
use crate::common::*;
use rel04d_simulator::{Faults, Simulator};

const PASSWORD: &str = "pw-Secret-7f3a9c1e";
const TOKEN: &str = "tok-Secret-0b8d2e4f6a";

/// A database URL with the password in it: the test Postgres server when there
/// is one (it accepts any password), else SQLite (which has none to leak).
async fn database_url(dir: &tempfile::TempDir) -> (String, bool) {
    let url = fresh_database_url(dir).await;
    match url.strip_prefix("postgres://postgres@") {
        Some(rest) => (format!("postgres://postgres:{PASSWORD}@{rest}"), true),
        None => (url, false),
    }
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [PASSWORD, TOKEN] {
        assert!(
            !text.contains(secret),
            "{what} printed the secret {secret}:\n{text}"
        );
    }
}

fn command(sim_url: &str, database_url: &str) -> std::process::Command {
    let mut command = rel04d();
    command
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url)
        .env("REL04D__DATABASE__URL", database_url)
        .env("REL04D__HTTP__EVENTS_TOKEN", TOKEN)
        .env("REL04D__HTTP__LISTEN", "127.0.0.1:0")
        .env("REL04D__LOG__LEVEL", "debug")
        .env("REL04D__AWS__REGIONS", REGION)
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_prints_the_database_password_or_the_event_token() {
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload("ledger", answer(&[IDEMPOTENT], &[], true)));
    let denied = sim.add_workload(workload("vault", answer(&[], &[], true)));
    // Throttles and a denial put retries and errors in the debug log too.
    sim.set_faults(Faults {
        throttle_probability: 0.2,
        deny_workloads: [denied.id.clone()].into(),
        seed: 5,
        ..Faults::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (url, has_password) = database_url(&dir).await;

    let mut outputs = Vec::new();
    let evaluate = ["evaluate", "--workload", w.id.as_str()];
    for args in [
        &["check-config"][..],
        &["migrate"],
        &["run", "--once"],
        &["controls", "--output", "json"],
        &["history"],
        &evaluate,
    ] {
        let output = command(&server.url(), &url).args(args).output().unwrap();
        assert!(output.status.success(), "{args:?}: {}", printed(&output));
        let text = printed(&output);
        assert_no_secret(&format!("{args:?}"), &text);
        outputs.push((args, text));
    }
    let (_, check_config) = &outputs[0];
    let resolved: serde_json::Value = serde_json::from_str(
        &check_config[..check_config
            .rfind("configuration is valid")
            .unwrap_or(check_config.len())],
    )
    .expect("check-config prints the resolved configuration");
    assert_eq!(resolved["http"]["events_token"], "***redacted***");
    if has_password {
        assert!(
            resolved["database"]["url"]
                .as_str()
                .unwrap()
                .starts_with("postgres://postgres:***@"),
            "{resolved}"
        );
    }
    let (_, run_once) = &outputs[2];
    assert!(
        run_once.contains("\"level\":\"DEBUG\""),
        "the run logged at debug: {run_once}"
    );
    assert!(run_once.contains("sweep finished"), "{run_once}");

    // The daemon, with the token presented right and wrong.
    let log = dir.path().join("daemon.log");
    let mut run = command(&server.url(), &url);
    run.arg("run");
    let mut daemon = Proc::spawn(run, &log);
    let address = http_address(&log, Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let event =
        rel04d::events::sample::update_answer_event("secret-test-1", "111122223333", REGION, &w.id)
            .to_string();
    for (token, status) in [
        (format!("{TOKEN}x"), 401),
        (TOKEN[..TOKEN.len() - 1].to_owned(), 401),
        (TOKEN.to_owned(), 202),
    ] {
        let response = client
            .post(format!("http://{address}/events"))
            .header("Authorization", format!("Bearer {token}"))
            .body(event.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
    }
    let status = daemon.terminate(Duration::from_secs(60)).await;
    assert!(status.success(), "{}", tail(&log));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("HTTP listening"), "{text}");
    assert_no_secret("rel04d run", &text);
    server.shutdown().await;
}

#[test]
fn an_unreachable_database_is_named_without_its_password() {
    // Nothing listens on port 1: every command that opens the database fails,
    // and says which database without the password.
    let url = format!("postgres://rel04d:{PASSWORD}@127.0.0.1:1/rel04d");
    for args in [&["run", "--once"][..], &["migrate"]] {
        let output = rel04d()
            .env("REL04D__DATABASE__URL", &url)
            .env("REL04D__HTTP__EVENTS_TOKEN", TOKEN)
            .env("REL04D__LOG__LEVEL", "debug")
            .env("REL04D__AWS__REGIONS", REGION)
            .env("AWS_ENDPOINT_URL_WELLARCHITECTED", "http://127.0.0.1:1")
            .args(args)
            .output()
            .unwrap();
        let text = printed(&output);
        assert!(!output.status.success(), "{args:?}: {text}");
        assert!(
            text.contains("postgres://rel04d:***@127.0.0.1:1/rel04d"),
            "{args:?} names the database: {text}"
        );
        assert_no_secret(&format!("{args:?}"), &text);
    }
}
