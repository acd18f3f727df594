//! A careless operator: settings that pass a glance and then crash or lose state,
//! secrets in odd places, a workload tag that asks for writes, commands pointed at
//! the wrong database, mutes that mean nothing.

use std::collections::BTreeMap;
use std::process::Output;

use chrono::Utc;
use rel04d_simulator::Simulator;

use crate::common::*;

/// The binary with a clean environment plus `env`.
fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = process::rel04d();
    command.args(args).envs(env.iter().copied());
    command.output().expect("run rel04d")
}

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[test]
fn settings_that_used_to_crash_are_refused_by_check_config_with_their_key() {
    let spaces = " ".repeat(16);
    let cases: &[(&str, &str, &str)] = &[
        (
            "REL04D__AWS__MAX_REQUESTS_PER_SECOND",
            "1e-300",
            "aws.max_requests_per_second",
        ),
        (
            "REL04D__AWS__MAX_REQUESTS_PER_SECOND",
            "NaN",
            "aws.max_requests_per_second",
        ),
        (
            "REL04D__SCHEDULE__INTERVAL",
            "500000000000y",
            "schedule.interval",
        ),
        ("REL04D__SCHEDULE__INTERVAL", "1ns", "schedule.interval"),
        (
            "REL04D__AWS__MAX_CONCURRENCY",
            "1000000000",
            "aws.max_concurrency",
        ),
        (
            "REL04D__AWS__MAX_ATTEMPTS",
            "4000000000",
            "aws.max_attempts",
        ),
        ("REL04D__AWS__CALL_TIMEOUT", "300y", "aws.call_timeout"),
        (
            "REL04D__DATABASE__MAX_CONNECTIONS",
            "100000",
            "database.max_connections",
        ),
        ("REL04D__DATABASE__URL", "sqlite::memory:", "database.url"),
        ("REL04D__DATABASE__URL", "sqlite:", "database.url"),
        ("REL04D__DATABASE__URL", "sqlite://", "database.url"),
        (
            "REL04D__AWS__REGIONS",
            "us-east-1,eu-west-1,us-east-1",
            "aws.regions[2]",
        ),
        ("REL04D__HTTP__EVENTS_TOKEN", &spaces, "http.events_token"),
        (
            "REL04D__HTTP__GRAPHQL_TOKEN",
            "0123456789 abcdef",
            "http.graphql_token",
        ),
    ];
    for (var, value, key) in cases {
        let out = cli(&["check-config"], &[(var, value)]);
        assert!(!out.status.success(), "{var}={value:?} was accepted");
        let text = said(&out);
        assert!(
            text.contains(&format!("configuration key `{key}`")),
            "{var}={value:?}: {text}"
        );
        assert!(!text.contains("panicked"), "{text}");
    }
}

#[test]
fn run_once_refuses_an_in_memory_database_given_on_the_command_line() {
    for url in ["sqlite::memory:", "sqlite:", "sqlite://"] {
        let out = cli(
            &["--database-url", url, "run", "--once"],
            &[("REL04D__AWS__REGIONS", REGION)],
        );
        assert!(!out.status.success(), "{url} was accepted");
        assert!(
            said(&out).contains("in-memory") || said(&out).contains("no database file"),
            "{}",
            said(&out)
        );
    }
}

#[test]
fn database_secrets_in_odd_urls_are_never_printed() {
    for url in [
        "postgres://h:1/db?user=u&PassWord=S3CRET",
        "postgres://h:1/db?user=u&PASSWORD=S3CRET",
        "postgres:u:S3CRET@h:1/db",
    ] {
        let out = cli(&["check-config"], &[("REL04D__DATABASE__URL", url)]);
        let text = said(&out);
        assert!(!out.status.success(), "{url}: {text}");
        assert!(text.contains("configuration key `database.url`"), "{text}");
        assert!(!text.contains("S3CRET"), "{url}: {text}");
        // And on the path that bypasses the configuration check.
        let out = cli(
            &["--database-url", url, "run", "--once"],
            &[
                ("REL04D__AWS__REGIONS", REGION),
                ("REL04D__LOG__LEVEL", "trace"),
            ],
        );
        assert!(!out.status.success());
        assert!(!said_contains_secret(&out), "{url}: {}", said(&out));
    }
}

fn said_contains_secret(out: &Output) -> bool {
    said(out).contains("S3CRET")
}

#[test]
fn read_only_commands_do_not_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    for args in [
        &["controls"][..],
        &["history"],
        &["explain", "--workload", "x"],
    ] {
        let out = cli(args, &[("REL04D__DATABASE__URL", &url)]);
        assert!(!out.status.success(), "{args:?}: {}", said(&out));
        assert!(!path.exists(), "{args:?} created {}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_snapshot_can_be_queried() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let out = cli(
        &["migrate"],
        &[(
            "REL04D__DATABASE__URL",
            &format!("sqlite://{}?mode=rwc", live.display()),
        )],
    );
    assert!(out.status.success(), "{}", said(&out));
    // A snapshot as backups take it (`VACUUM INTO`, `.backup`): a rollback-journal
    // file that a read-only open cannot switch to WAL.
    let snapshot = dir.path().join("snapshot.db");
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", live.display()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        snapshot.display()
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let url = format!("sqlite://{}?mode=ro", snapshot.display());
    let out = cli(
        &["controls", "--output", "json"],
        &[("REL04D__DATABASE__URL", &url)],
    );
    assert!(out.status.success(), "{}", said(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_refuses_another_applications_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    let out = cli(&["migrate"], &[("REL04D__DATABASE__URL", &url)]);
    assert!(!out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("another application's tables (customers)"),
        "{}",
        said(&out)
    );
    let sql = if url.starts_with("postgres") {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'"
    } else {
        "SELECT name FROM sqlite_master WHERE name = '_sqlx_migrations'"
    };
    let left: Option<(String,)> = sqlx::query_as(sql).fetch_optional(&pool).await.unwrap();
    assert_eq!(left, None, "migrations were recorded anyway");
    pool.close().await;
}

/// One passing workload tagged `rel04d:rel04 = "Enforce: None of these"`, swept
/// once with tag policies on (and the operator's allowance as given).
async fn tagged_for_enforce(name: &str, allow_enforce: bool) -> (TestEnv, String) {
    let sim = Simulator::new(REGION);
    let mut spec = workload(name, answer(&ALL_FOUR, &[], true));
    spec.tags = BTreeMap::from([(
        "rel04d:rel04".to_owned(),
        "Enforce: None of these".to_owned(),
    )]);
    let id = sim.add_workload(spec).id;
    let env = TestEnv::start(sim, &tag_config(allow_enforce)).await;
    env.sweep().await;
    (env, id)
}

fn tag_config(allow_enforce: bool) -> String {
    format!(
        "[policies.global]\n{ALL_TRUE}\n[policies.tags]\nenabled = true\nprefix = \"rel04d:\"\nallow_enforce = {allow_enforce}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workload_tag_cannot_make_rel04d_write_its_answer() {
    let (env, id) = tagged_for_enforce("tagged-by-anyone", false).await;
    let answer_now = env.sim.workload(&id).unwrap().answer;
    assert_eq!(
        answer_now.selected.len(),
        4,
        "the answer was rewritten: {answer_now:?}"
    );
    assert_eq!(env.state_of(&id).await, "ok");
    let control = env
        .daemon
        .store
        .control_by_workload_id(&id)
        .await
        .unwrap()
        .unwrap();
    let explained = rel04d::explain::explain(
        &rel04d::control::ControlDef::rel04(),
        &control,
        &env.daemon.policies,
        Utc::now(),
    );
    let rel04 = &explained.policies[0];
    assert_eq!(rel04.value, "Check: Choices based on sub policies");
    assert!(
        rel04
            .passed_over
            .iter()
            .any(|p| p.value == "Enforce: None of these" && p.why.contains("allow_enforce")),
        "explain does not show the refusal: {:?}",
        rel04.passed_over
    );
    env.stop().await;

    // The operator may allow it, and then the tag is obeyed.
    let (env, id) = tagged_for_enforce("tagged-and-allowed", true).await;
    let answer_now = env.sim.workload(&id).unwrap().answer;
    assert_eq!(answer_now.selected, [NONE], "{answer_now:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meaningless_mutes_are_refused() {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("to-mute", answer(&ALL_FOUR, &[], true)))
        .id;
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    assert_eq!(env.state_of(&id).await, "ok");
    let url = env.database_url.clone();
    let db = [("REL04D__DATABASE__URL", url.as_str())];
    for (extra, expected) in [
        (
            &["--until", "2001-01-01T00:00:00Z", "--reason", "x"][..],
            "not in the future",
        ),
        (&["--reason", "   "], "a reason is required"),
        (&["--reason", ""], "a reason is required"),
        (&["--until-state", "ok", "--reason", "x"], "already ok"),
    ] {
        let mut args = vec!["mute", "--workload", &id];
        args.extend_from_slice(extra);
        let out = cli(&args, &db);
        assert!(!out.status.success(), "{extra:?} was accepted");
        assert!(said(&out).contains(expected), "{extra:?}: {}", said(&out));
    }
    let control = env
        .daemon
        .store
        .control_by_workload_id(&id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !control.muted && control.mute.is_none(),
        "a refused mute was written"
    );
    env.stop().await;
}
