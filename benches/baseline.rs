//! rel04d against what a user would write instead: `bench/cron_rel04.py`, a
//! sequential boto3 script (list workloads, get each REL 04 answer, evaluate,
//! write SQLite), and `rel04d run --once` with the same policies, both against
//! the release simulator with 20 ms of latency per call and no rate limit.
//! rel04d runs with its default settings: the adaptive rate starts at 10/s and
//! learns there is no limit. Prints both wall times (whole processes, start-up
//! included) and the ratio (target: rel04d at least 20× faster), and fails if the
//! two disagree on any workload's state.
//!
//!     cargo bench --bench baseline                 # N = 1000, 20 ms, default settings
//!     cargo bench --bench baseline -- 1000 20 64   # N, latency ms, rel04d concurrency
//!
//! The script runs with `$REL04D_BENCH_PYTHON` (default `.ci-work/venv/bin/python`,
//! the venv scripts/services.sh installs boto3 into).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use support::aws_env;

mod support;
use std::time::{Duration, Instant};

const POLICIES: [(&str, &str); 5] = [
    (
        "REL04D__POLICIES__GLOBAL__REL04",
        "Check: Choices based on sub policies",
    ),
    ("REL04D__POLICIES__GLOBAL__IDENTIFY", "True"),
    ("REL04D__POLICIES__GLOBAL__LOOSELY_COUPLED", "True"),
    ("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True"),
    ("REL04D__POLICIES__GLOBAL__CONSTANT_WORK", "True"),
];

/// Runs `command` to completion; its wall time and stdout.
fn timed(mut command: Command, what: &str) -> (Duration, String) {
    let started = Instant::now();
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let wall = started.elapsed();
    assert!(output.status.success(), "{what} failed: {}", output.status);
    (wall, String::from_utf8_lossy(&output.stdout).into_owned())
}

async fn states(database_url: &str, sql: &str) -> BTreeMap<String, String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().collect()
}

async fn calls(sim_url: &str) -> u64 {
    let total = support::calls(sim_url).await["total"].as_u64().unwrap();
    support::reset_calls(sim_url).await;
    total
}

fn tally(states: &BTreeMap<String, String>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for state in states.values() {
        *counts.entry(state).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<usize> = support::positional_args()
        .iter()
        .map(|a| {
            a.parse()
                .expect("numeric arguments: N latency_ms concurrency")
        })
        .collect();
    let workloads = args.first().copied().unwrap_or(1000);
    let latency_ms = args.get(1).copied().unwrap_or(20) as u64;
    let concurrency = args.get(2).copied();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("REL04D_BENCH_PYTHON")
        .unwrap_or_else(|_| root.join(".ci-work/venv/bin/python").display().to_string());

    let sim = support::simulator(&[
        "--workloads".into(),
        workloads.to_string(),
        "--latency-ms".into(),
        latency_ms.to_string(),
    ]);
    let sim_url = sim.url.clone();
    let _ = calls(&sim_url).await;
    let dir = tempfile::tempdir().unwrap();

    // The typical script.
    let script_db = dir.path().join("cron.db");
    let mut script = Command::new(&python);
    script
        .arg(root.join("bench/cron_rel04.py"))
        .arg("--database")
        .arg(&script_db);
    aws_env(&mut script, &sim_url);
    let (script_wall, script_out) = timed(script, "bench/cron_rel04.py");
    let script_calls = calls(&sim_url).await;

    // rel04d, one sweep.
    let rel04d_db = format!("sqlite://{}/rel04d.db?mode=rwc", dir.path().display());
    let mut rel04d = support::command();
    rel04d
        .args(["run", "--once"])
        .env("REL04D__DATABASE__URL", &rel04d_db)
        .env("REL04D__LOG__LEVEL", "rel04d::scheduler=info,warn")
        .envs(POLICIES);
    if let Some(concurrency) = concurrency {
        rel04d.env("REL04D__AWS__MAX_CONCURRENCY", concurrency.to_string());
    }
    aws_env(&mut rel04d, &sim_url);
    let (rel04d_wall, rel04d_out) = timed(rel04d, "rel04d run --once");
    let rel04d_calls = calls(&sim_url).await;
    let sweep_ms = rel04d_out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "sweep finished")
        .and_then(|l| l["duration_ms"].as_u64())
        .unwrap_or(0);

    // Same answer for every workload.
    let expected = states(
        &format!("sqlite://{}", script_db.display()),
        "SELECT workload_id, state FROM rel04_results",
    )
    .await;
    let actual = states(
        &rel04d_db,
        "SELECT workload_id, state FROM controls WHERE removed_at IS NULL",
    )
    .await;
    let differ: Vec<String> = expected
        .keys()
        .chain(actual.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|id| expected.get(*id) != actual.get(*id))
        .map(|id| {
            format!(
                "{id}: script {:?}, rel04d {:?}",
                expected.get(id),
                actual.get(id)
            )
        })
        .collect();

    println!(
        "baseline: N={workloads} latency={latency_ms}ms, no rate limit, same policies (all four best practices required)"
    );
    println!(
        "  python+boto3 script (sequential) {:>8.2}s  {script_calls:>5} calls  {}  [{}]",
        script_wall.as_secs_f64(),
        tally(&expected),
        script_out.trim()
    );
    println!(
        "  rel04d run --once ({})  {:>8.2}s  {rel04d_calls:>5} calls  {}  [sweep {:.2}s]",
        concurrency.map_or("default settings".to_owned(), |c| format!(
            "concurrency {c}"
        )),
        rel04d_wall.as_secs_f64(),
        tally(&actual),
        sweep_ms as f64 / 1000.0
    );
    println!(
        "  ratio script / rel04d: {:.1}x (target >= 20x); results: {}",
        script_wall.as_secs_f64() / rel04d_wall.as_secs_f64(),
        if differ.is_empty() {
            format!("equal for all {} workloads", expected.len())
        } else {
            format!("{} DIFFER", differ.len())
        }
    );
    if !differ.is_empty() {
        eprintln!("{}", differ.join("\n"));
        // Returned, not `exit`ed: the simulator is killed on drop.
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
