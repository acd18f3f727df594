//! The binary as users run it: exit codes, messages, output formats, and the
//! standard AWS endpoint override through the environment.

use std::process::{Command, Output};

use crate::common::*;
use rel04d_simulator::Simulator;

fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rel04d"));
    command
        .args(args)
        .env_remove("REL04D_CONFIG")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (key, _) in std::env::vars() {
        if key.starts_with("REL04D__") || key.starts_with("AWS_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    command.output().expect("run rel04d")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_config_prints_the_resolved_configuration_with_secrets_redacted() {
    let out = cli(
        &["check-config"],
        &[
            (
                "REL04D__DATABASE__URL",
                "postgres://rel04d:pa55w0rd-secret@db:5432/rel04d",
            ),
            ("REL04D__HTTP__EVENTS_TOKEN", "event-token-0123456789"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out) + &stderr(&out);
    assert!(
        !printed.contains("pa55w0rd-secret") && !printed.contains("event-token-0123456789"),
        "{printed}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["database"]["url"],
        "postgres://rel04d:***@db:5432/rel04d"
    );
    assert_eq!(json["schedule"]["interval"], "5m");
}

#[test]
fn a_bad_key_or_value_stops_with_its_name_and_no_backtrace() {
    for (env, expected) in [
        (
            ("REL04D__SCHEDULE__INTERVALL", "5m"),
            "configuration key `schedule.intervall`",
        ),
        (
            ("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "yes"),
            "configuration key `policies.global.idempotent`",
        ),
        (
            ("REL04D__AWS__MAX_CONCURRENCY", "lots"),
            "configuration key `aws.max_concurrency`",
        ),
    ] {
        for command in [&["check-config"][..], &["run", "--once"], &["controls"]] {
            let out = cli(command, &[env]);
            assert!(!out.status.success(), "{command:?} {env:?}");
            let err = stderr(&out);
            assert!(
                err.starts_with("error: ") && err.contains(expected),
                "{command:?}: {err}"
            );
            assert!(
                !err.contains("panicked") && !err.contains("backtrace"),
                "{err}"
            );
        }
    }
    let out = cli(&["--config", "/nonexistent.toml", "check-config"], &[]);
    assert!(
        stderr(&out).contains("/nonexistent.toml is not a readable file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_filter_term_is_pointed_at() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.db?mode=rwc", dir.path().display());
    let out = cli(
        &[
            "controls",
            "--database-url",
            &url,
            "--filter",
            "state:alarm colour:red",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "error: bad filter term 2 `colour:red`: unknown key `colour`; keys are state, workload, account, region, resource, controlType, sort, limit, $.path, timestamp, stateChangeTimestamp, createTimestamp, updateTimestamp (and Guardrails' controlTypeId, resourceId, resourceTypeId, resourceType, controlCategoryId, policyTypeId, resourceCategoryId, controlCategory, policyType, resourceCategory, notificationType, type, actorIdentityId, and the *Level keys)"
    );
    // Query commands need the schema but never create it (nor the file).
    let out = cli(&["history", "--database-url", &url], &[]);
    assert!(
        stderr(&out).contains("does not exist: start the daemon or run `rel04d migrate` first"),
        "{}",
        stderr(&out)
    );
    assert!(
        cli(&["migrate", "--database-url", &url], &[])
            .status
            .success()
    );
    let out = cli(
        &["history", "--database-url", &url, "--filter", "sort:secret"],
        &[],
    );
    assert!(
        stderr(&out).contains("cannot sort transitions by `secret`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unreachable_database_is_one_clear_error() {
    let out = cli(
        &[
            "controls",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot open the database postgres://nobody@127.0.0.1:1/none"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    let out = cli(
        &[
            "run",
            "--once",
            "--database-url",
            "sqlite:///nonexistent-dir/x.db?mode=rwc",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot open the database"),
        "{}",
        stderr(&out)
    );
}

/// A file that is not a SQLite database: one line that says so once. (Every
/// layer of the error — rel04d's, sqlx's, SQLite's — repeated its cause.)
#[test]
fn a_corrupt_database_file_is_one_error_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    std::fs::write(&path, "this is not a SQLite database\n".repeat(200)).unwrap();
    let url = format!("sqlite://{}?mode=rwc", path.display());
    for args in [&["controls"][..], &["migrate"], &["run", "--once"]] {
        let out = cli(args, &[("REL04D__DATABASE__URL", &url)]);
        assert!(!out.status.success());
        // (sqlx also logs each failed connection attempt, as JSON lines.)
        let err = stderr(&out);
        let told: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(told.len(), 1, "{args:?}: {err}");
        assert_eq!(
            told[0].matches("file is not a database").count(),
            1,
            "{args:?}: {}",
            told[0]
        );
    }
}

// Multi-threaded: the binary runs blocking on one thread while the simulator
// serves it from another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_honours_the_sdk_endpoint_override_and_controls_prints_json() {
    let sim = Simulator::new(REGION);
    let ok = sim.add_workload(workload("payments", answer(&ALL_FOUR, &[], true)));
    let alarm = sim.add_workload(workload("orders", answer(&[IDENTIFY], &[], true)));
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/s.db?mode=rwc", dir.path().display());
    let env = [
        ("AWS_ENDPOINT_URL_WELLARCHITECTED", server.url()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", REGION.into()),
        ("REL04D__DATABASE__URL", url.clone()),
        (
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies".into(),
        ),
        ("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True".into()),
        ("REL04D__POLICIES__GLOBAL__CONSTANT_WORK", "True".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = cli(&["run", "--once"], &env);
    assert!(run.status.success(), "{}", stderr(&run));
    let logs = stdout(&run);
    let transition_lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every log line is JSON"))
        .filter(|l| l["message"] == "control state changed")
        .collect();
    assert_eq!(transition_lines.len(), 4, "{logs}");
    for line in &transition_lines {
        for field in [
            "timestamp",
            "level",
            "target",
            "workload_id",
            "from_state",
            "to_state",
            "reason",
            "trigger",
        ] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
    }

    let out = cli(&["controls", "--output", "json"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let controls: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let state =
        |id: &str| controls.iter().find(|c| c["workload_id"] == id).unwrap()["state"].clone();
    assert_eq!(state(&ok.id), "ok");
    assert_eq!(state(&alarm.id), "alarm");
    for column in [
        "workload_arn",
        "workload_name",
        "account_id",
        "region",
        "control_type",
        "reason",
        "created_at",
        "updated_at",
        "evaluated_at",
        "removed_at",
    ] {
        assert!(controls[0].get(column).is_some(), "{column}");
    }
    assert!(controls[0]["details"].is_object());

    let out = cli(
        &["history", "--filter", "state:alarm", "--output", "json"],
        &env,
    );
    let history: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["from_state"], "tbd");
    assert_eq!(history[0]["trigger"], "sweep");

    let out = cli(&["evaluate", "--workload", &alarm.id], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "alarm — Not selected: Make mutating operations idempotent, Do constant work"
        ),
        "{}",
        stdout(&out)
    );

    let out = cli(&["controls", "--filter", "state:alarm"], &env);
    let table = stdout(&out);
    assert!(table.starts_with("STATE"), "{table}");
    assert_eq!(table.lines().count(), 2, "{table}");
    server.shutdown().await;
}
