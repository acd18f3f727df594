//! Faults: the daemon sweeps every second against a Tool that throttles 30% of
//! calls, fails 5% with a 500 and sometimes stalls, while answers change under
//! it, and (on Postgres, see below) while its database server restarts. Checked:
//!
//! - no `error` state is ever recorded: every transient failure is retried away;
//! - no flapping, nor any transition the answers do not explain: per workload a
//!   valid chain (tbd first, each change once), only `ok`/`alarm` after `tbd`,
//!   and no more changes than its answer had (plus the first evaluation);
//! - the daemon never exits; it keeps sweeping and ends in the states the final
//!   answers imply.
//!
//! One test, and on its Postgres pass `scripts/test.sh` runs it alone (`cargo test
//! --test it faults::`), so the database restart disturbs no other test.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::db::{Db, valid_chains};
use crate::common::*;
use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::filter::Filter;
use rel04d::startup::Daemon;
use rel04d_simulator::{Faults, Simulator};

const WORKLOADS: usize = 24;

// 30% throttles + 5% errors fail a call attempt with p ≈ 0.335. With the
// default 10 attempts a call finally fails with p ≈ 1.8e-5, which over the
// ~1,000 calls of this test would show a (correct) `error` about once in 50
// runs; 20 attempts make that p ≈ 3e-10 per call, so any `error` here is a bug.
const CONFIG: &str = r#"
[schedule]
interval = "1s"
jitter = "0s"
[aws]
max_attempts = 20
max_concurrency = 8
[policies.global]
rel04 = "Check: Choices based on sub policies"
identify = "True"
loosely_coupled = "True"
idempotent = "True"
constant_work = "True"
"#;

fn complete_sweeps(daemon: &Daemon) -> f64 {
    daemon.metrics.counter(
        "rel04d_sweeps_total",
        &[("scope", "ambient/us-east-1"), ("result", "complete")],
    )
}

/// Flips the answers of `n` random workloads between all four practices and
/// two of them, counting each change.
fn change_some(sim: &Simulator, ids: &[String], n: usize, changes: &mut BTreeMap<String, usize>) {
    for _ in 0..n {
        let id = &ids[rand::random_range(0..ids.len())];
        flip_answer(sim, id);
        *changes.entry(id.clone()).or_default() += 1;
    }
}

async fn wait_for_sweeps(daemon: &Daemon, more: f64, timeout: Duration, what: &str) {
    let target = complete_sweeps(daemon) + more;
    let deadline = Instant::now() + timeout;
    while complete_sweeps(daemon) < target {
        assert!(
            Instant::now() < deadline,
            "{what}: fewer than {more} complete sweeps in {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// When the Postgres server last started, from a fresh connection.
async fn postmaster_start(database_url: &str) -> String {
    let db = Db::connect(database_url).await;
    let started = db
        .strings("SELECT CAST(pg_postmaster_start_time() AS TEXT)")
        .await
        .remove(0);
    db.close().await;
    started
}

/// Runs the `REL04D_TEST_PG_RESTART` shell command; its output goes to a file
/// (the restarted server must not inherit a pipe of this test).
async fn restart_postgres(command: &str, dir: &tempfile::TempDir) {
    let log = dir.path().join("pg-restart.log");
    let out = std::fs::File::create(&log).unwrap();
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .await
        .expect("run REL04D_TEST_PG_RESTART");
    assert!(
        status.success(),
        "REL04D_TEST_PG_RESTART failed ({status}): {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_errors_stalls_and_a_database_restart_cause_no_spurious_state() {
    let sim = Simulator::new(REGION);
    let ids: Vec<String> = (0..WORKLOADS)
        .map(|i| {
            let selected = if i % 2 == 0 {
                &ALL_FOUR[..]
            } else {
                &ALL_FOUR[..3]
            };
            sim.add_workload(workload(
                &format!("faulty-{i:02}"),
                answer(selected, &[], true),
            ))
            .id
        })
        .collect();
    sim.set_faults(Faults {
        throttle_probability: 0.3,
        error_probability: 0.05,
        // Sweeps take a while, so the restart below lands in one.
        latency: Duration::from_millis(15),
        latency_spike_probability: 0.05,
        latency_spike: Duration::from_millis(400),
        seed: 20_260_504,
        ..Faults::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let settings = settings(&dir, &database_url, CONFIG);
    if let Ok(level) = std::env::var("REL04D_TEST_LOG") {
        rel04d::telemetry::init(rel04d::config::LogFormat::Text, &level, true);
    }
    let endpoints = Endpoints {
        wellarchitected: Some(server.url()),
        ..Endpoints::default()
    };
    let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
    let daemon = Daemon::build(settings, Some(setup)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(daemon.clone().run_on(listener, async move {
        let _ = stopped.await;
    }));

    let mut changes: BTreeMap<String, usize> = BTreeMap::new();
    wait_for_sweeps(&daemon, 1.0, Duration::from_secs(30), "first sweep").await;
    // Answers change between and during sweeps.
    for _ in 0..15 {
        change_some(&sim, &ids, 3, &mut changes);
        tokio::time::sleep(Duration::from_millis(rand::random_range(300..900))).await;
    }
    wait_for_sweeps(&daemon, 2.0, Duration::from_secs(30), "sweeps under faults").await;

    // The Postgres server restarts mid-run. This needs a command that restarts
    // the test server (scripts/test.sh sets REL04D_TEST_PG_RESTART for its
    // Postgres pass, e.g. `runuser -u postgres -- …/pg_ctl -D … -l … -m fast -w
    // restart`); a test cannot restart a server it knows only by URL. Without
    // it (or on SQLite, whose "server" is this process) the rest still runs.
    let restart = std::env::var("REL04D_TEST_PG_RESTART").ok();
    let restarted = match restart {
        Some(command) if database_url.starts_with("postgres") => {
            let before = postmaster_start(&database_url).await;
            change_some(&sim, &ids, 3, &mut changes);
            // Mid-sweep: evaluations are queued and in flight when it goes down.
            let queue = &daemon.scopes[0].queue;
            let deadline = Instant::now() + Duration::from_secs(20);
            while queue.len() < 4 {
                assert!(Instant::now() < deadline, "no sweep in flight to interrupt");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let incomplete = || {
                daemon.metrics.counter(
                    "rel04d_sweeps_total",
                    &[("scope", "ambient/us-east-1"), ("result", "incomplete")],
                )
            };
            let incomplete_before = incomplete();
            restart_postgres(&command, &dir).await;
            change_some(&sim, &ids, 3, &mut changes);
            assert_ne!(
                postmaster_start(&database_url).await,
                before,
                "the server really restarted"
            );
            // It goes on sweeping, with fresh connections.
            wait_for_sweeps(
                &daemon,
                3.0,
                Duration::from_secs(60),
                "sweeps after the restart",
            )
            .await;
            change_some(&sim, &ids, 3, &mut changes);
            eprintln!(
                "sweeps left incomplete by the restart: {}",
                incomplete() - incomplete_before
            );
            true
        }
        _ => false,
    };

    // The answers settle; the daemon catches up with them.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let controls = daemon
            .store
            .list_controls(&Filter::default())
            .await
            .unwrap();
        let states: BTreeMap<&str, &str> = controls
            .iter()
            .map(|c| (c.workload_id.as_str(), c.state.as_str()))
            .collect();
        let stale: Vec<&String> = ids
            .iter()
            .filter(|id| {
                states.get(id.as_str()).copied()
                    != Some(expected_state(&sim.workload(id).unwrap().answer))
            })
            .collect();
        if stale.is_empty() {
            break;
        }
        let errors = daemon
            .store
            .list_transitions(&Filter::parse("state:error").unwrap())
            .await
            .unwrap();
        assert!(errors.is_empty(), "spurious error states: {errors:#?}");
        assert!(Instant::now() < deadline, "never caught up: {stale:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_sweeps(&daemon, 1.0, Duration::from_secs(30), "one more sweep").await;

    assert!(!task.is_finished(), "the daemon is still running");
    let health = reqwest::get(format!("http://{http}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let calls = sim.calls();
    assert!(
        calls.outcomes.throttled > 20 && calls.outcomes.error > 2,
        "the faults were there: {:?}",
        calls.outcomes
    );

    let transitions = daemon
        .store
        .list_transitions(&Filter::parse("limit:100000").unwrap())
        .await
        .unwrap();
    let errors: Vec<_> = transitions
        .iter()
        .filter(|t| t.to_state == "error")
        .collect();
    assert!(errors.is_empty(), "spurious error states: {errors:#?}");
    let chains = valid_chains(&transitions);
    assert_eq!(chains.len(), WORKLOADS);
    for (id, chain) in &chains {
        for (_, to) in &chain[1..] {
            assert!(
                to == "ok" || to == "alarm",
                "{id}: only ok and alarm follow tbd: {chain:?}"
            );
        }
        let allowed = 1 + changes.get(id).copied().unwrap_or(0);
        assert!(
            chain.len() - 1 <= allowed,
            "{id}: {} changes recorded for {} answer changes: {chain:?}",
            chain.len() - 1,
            allowed - 1
        );
        let expected = expected_state(&sim.workload(id).unwrap().answer);
        assert_eq!(chain.last().unwrap().1, expected, "{id}");
    }
    eprintln!(
        "faults: {} calls ({} throttled, {} errors), {} sweeps, {} transitions, {} answer changes, database restart: {restarted}",
        calls.total,
        calls.outcomes.throttled,
        calls.outcomes.error,
        complete_sweeps(&daemon),
        transitions.len(),
        changes.values().sum::<usize>(),
    );

    let _ = stop.send(());
    task.await
        .unwrap()
        .expect("the daemon stops cleanly after it all");
    server.shutdown().await;
}
