//! Adaptive rate benchmark: `rel04d run --once` with its default settings
//! (`aws.max_requests_per_second = "auto"`) against the release simulator
//! enforcing a limit R that rel04d is not told (a token bucket answering 429
//! beyond R), 5 ms of latency per call. Two runs per configuration on one
//! database: the first learns R from nothing; the second is a new process that
//! resumes from the rate the first saved. Prints each sweep against the floor
//! calls / R, the share of calls throttled, `error` states and the learned rate.
//!
//! With `window`, the limit is not the simulator's bucket but an independent
//! proxy in front of it admitting at most R calls in any one second
//! (`support/window.rs`), at R = 60 and 300 with 3,200 workloads (~3,000 calls).
//!
//!     cargo bench --bench rate                  # the matrix below
//!     cargo bench --bench rate -- 10000 20      # one configuration: N, R (≈ 17 min)
//!     cargo bench --bench rate -- window        # the 1-second window

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

async fn bench(workloads: usize, limit: f64, window: bool) {
    let mut args = vec![
        "--workloads".to_owned(),
        workloads.to_string(),
        "--latency-ms".into(),
        "5".into(),
    ];
    if !window {
        args.extend(["--rate-limit".to_owned(), limit.to_string()]);
    }
    let sim = support::simulator(&args);
    let proxy = match window {
        true => Some(support::window::WindowProxy::start(&sim.url, limit as usize).await),
        false => None,
    };
    let url = proxy.as_ref().map_or(sim.url.clone(), |p| p.url.clone());
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    for run in ["first (learning)", "second (resumed)"] {
        support::reset_calls(&sim.url).await;
        if let Some(proxy) = &proxy {
            proxy.reset();
        }
        let (_, sweep_ms, _) = run_once(&url, &database_url, &[]);
        let stats = support::calls(&sim.url).await;
        let (errors, learned) = database_facts(&database_url).await;
        let (calls, throttled) = match &proxy {
            Some(proxy) => proxy.calls(),
            None => (
                stats["total"].as_u64().unwrap(),
                stats["outcomes"]["throttled"].as_u64().unwrap_or(0),
            ),
        };
        let sweep = Sweep {
            seconds: sweep_ms as f64 / 1000.0,
            calls,
            throttled,
            errors,
            learned,
        };
        let floor = sweep.calls as f64 / limit;
        println!(
            "| {workloads} | {limit}/s{} | {run} | {:.2} s | {} | {floor:.2} s | **{:.2}** | {} ({:.2} %) | {} | {:.1}/s |",
            if window { " (1 s window)" } else { "" },
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
    if args.first().is_some_and(|a| a == "window") {
        for limit in [60.0, 300.0] {
            bench(3_200, limit, true).await;
        }
        return;
    }
    if args.len() == 2 {
        bench(args[0].parse().unwrap(), args[1].parse().unwrap(), false).await;
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
        bench(workloads, limit, false).await;
    }
}
