//! Adaptive rate benchmark: `rel04d run --once` with its default settings
//! (`aws.max_requests_per_second = "auto"`) against the release simulator
//! enforcing a limit R that rel04d is not told (a token bucket answering 429
//! beyond R), 5 ms of latency per call. Two runs per configuration on one
//! database: the first learns R from nothing; the second is a new process that
//! resumes from the rate the first saved. Prints each sweep against the floor
//! calls / R, the share of calls throttled, `error` states and the learned rate.
//!
//!     cargo bench --bench rate                  # the matrix below
//!     cargo bench --bench rate -- 10000 20      # one configuration: N, R (≈ 17 min)

use support::run_once;

mod support;

struct Sweep {
    seconds: f64,
    calls: u64,
    throttled: u64,
    errors: i64,
    learned: f64,
}

async fn database_facts(database_url: &str) -> (i64, f64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database_url).await.unwrap();
    let (errors,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM controls WHERE state = 'error' AND removed_at IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let (learned,): (f64,) = sqlx::query_as("SELECT requests_per_second FROM learned_rates")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    (errors, learned)
}

async fn bench(workloads: usize, limit: f64) {
    let sim = support::simulator(&[
        "--workloads".into(),
        workloads.to_string(),
        "--latency-ms".into(),
        "5".into(),
        "--rate-limit".into(),
        limit.to_string(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    for run in ["first (learning)", "second (resumed)"] {
        support::reset_calls(&sim.url).await;
        let (_, sweep_ms, _) = run_once(&sim.url, &database_url, &[]);
        let stats = support::calls(&sim.url).await;
        let (errors, learned) = database_facts(&database_url).await;
        let sweep = Sweep {
            seconds: sweep_ms as f64 / 1000.0,
            calls: stats["total"].as_u64().unwrap(),
            throttled: stats["outcomes"]["throttled"].as_u64().unwrap_or(0),
            errors,
            learned,
        };
        let floor = sweep.calls as f64 / limit;
        println!(
            "| {workloads} | {limit}/s | {run} | {:.2} s | {} | {floor:.2} s | **{:.2}** | {} ({:.2} %) | {} | {:.1}/s |",
            sweep.seconds,
            sweep.calls,
            sweep.seconds / floor,
            sweep.throttled,
            100.0 * sweep.throttled as f64 / sweep.calls as f64,
            sweep.errors,
            sweep.learned,
        );
    }
}

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    println!(
        "| N | limit R (untold) | sweep | time | calls | floor = calls / R | ratio | throttled | error states | learned rate |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    if args.len() == 2 {
        bench(args[0].parse().unwrap(), args[1].parse().unwrap()).await;
        return;
    }
    // N = 10,000 at R = 20 takes about 17 minutes: run it alone (see above).
    for (workloads, limit) in [
        (1_000, 20.0),
        (1_000, 100.0),
        (1_000, 500.0),
        (10_000, 100.0),
        (10_000, 500.0),
    ] {
        bench(workloads, limit).await;
    }
}
