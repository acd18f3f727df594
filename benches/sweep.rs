//! Sweep benchmark: the release daemon (`rel04d run --once`) against the release
//! simulator (`rel04d simulator`), each in its own process, so the daemon's peak
//! RSS is its own. Prints wall time, API calls per workload, and the ratio to the
//! physical floor (calls / rate limit) for each configuration.
//!
//!     cargo bench --bench sweep                      # the matrix
//!     cargo bench --bench sweep -- 1000 5 200        # N, latency ms, rate (0 = none)
//!     cargo bench --bench sweep -- questions 10000 [rel04|57]   # all 57 Framework questions and
//!                                                    # REL 04 alone, on PostgreSQL
//!
//! The `questions` mode needs `REL04D_BENCH_POSTGRES_URL` (a server URL; each run
//! gets a database of its own) and prints, for the steady sweep, Tool calls per
//! workload, commits (`pg_stat_database.xact_commit` of that database, the whole
//! process) and CPU (user + system of the whole process, start-up included) per
//! control evaluation, and peak RSS.

use std::time::Duration;

use sqlx::Row;
use support::run_once;
use support::run_once_measured;

mod support;

struct Run {
    wall: Duration,
    sweep_ms: u64,
    peak_rss_kib: i64,
    calls: u64,
    throttled: u64,
}

async fn bench(workloads: usize, latency_ms: u64, rate: Option<f64>) {
    let mut sim_args = vec![
        "--workloads".to_owned(),
        workloads.to_string(),
        "--latency-ms".into(),
        latency_ms.to_string(),
    ];
    if let Some(rate) = rate {
        sim_args.extend(["--rate-limit".into(), rate.to_string()]);
    }
    let sim = support::simulator(&sim_args);
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    // With a server-side limit, the client is told the same rate; without one, the
    // client limit is out of the way and concurrency decides.
    let (client_rate, concurrency) = match rate {
        Some(rate) => (rate, 16),
        None => (1_000_000.0, 32),
    };
    let with_lens = support::workloads_with_lens(&sim.url).await.len();
    let mut runs = Vec::new();
    for _ in ["cold", "steady"] {
        support::reset_calls(&sim.url).await;
        let (wall, sweep_ms, peak_rss_kib) = run_once(
            &sim.url,
            &database_url,
            &[
                (
                    "REL04D__AWS__MAX_REQUESTS_PER_SECOND",
                    client_rate.to_string(),
                ),
                ("REL04D__AWS__MAX_CONCURRENCY", concurrency.to_string()),
            ],
        );
        let stats = support::calls(&sim.url).await;
        runs.push(Run {
            wall,
            sweep_ms,
            peak_rss_kib,
            calls: stats["total"].as_u64().unwrap(),
            throttled: stats["outcomes"]["throttled"].as_u64().unwrap_or(0),
        });
    }
    let rate_text = rate.map_or("none".to_owned(), |r| format!("{r}/s"));
    for (label, run) in ["cold", "steady"].iter().zip(&runs) {
        let per_workload = run.calls as f64 / workloads as f64;
        let floor = rate.map(|r| run.calls as f64 / r);
        let ratio = floor.map_or("-".to_owned(), |f| {
            format!("{:.2}", run.sweep_ms as f64 / 1000.0 / f)
        });
        println!(
            "N={workloads:>6} latency={latency_ms}ms rate={rate_text:>7} {label:<6} sweep={:>7.2}s process={:>7.2}s calls={:>6} ({per_workload:.3}/workload, {:.3}/workload with lens, {} throttled) floor={} ratio={ratio} peak_rss={:.1}MiB",
            run.sweep_ms as f64 / 1000.0,
            run.wall.as_secs_f64(),
            run.calls,
            run.calls as f64 / with_lens as f64,
            run.throttled,
            floor.map_or("-".to_owned(), |f| format!("{f:.2}s")),
            run.peak_rss_kib as f64 / 1024.0,
        );
    }
}

/// Transactions committed in database `name` so far, as the server counts them.
async fn commits(server: &str, name: &str) -> i64 {
    let pool = sqlx::AnyPool::connect(&format!("{server}/postgres"))
        .await
        .unwrap();
    // The statistics are flushed at most once a second (and at a backend's exit).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let count: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(xact_commit AS BIGINT) AS n FROM pg_stat_database WHERE datname = '{name}'"
    )))
    .fetch_one(&pool)
    .await
    .unwrap()
    .get("n");
    pool.close().await;
    count
}

/// `workloads` with every Framework question governed (`questions = ["*"]`) and
/// with REL 04 alone (no `[[controls]]`), each a cold sweep then two steady ones,
/// on PostgreSQL; prints the second steady sweep's figures.
async fn questions(workloads: usize, only: Option<&str>) {
    let server = std::env::var("REL04D_BENCH_POSTGRES_URL")
        .expect("the questions mode runs on PostgreSQL: set REL04D_BENCH_POSTGRES_URL");
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let lens_file = dir.path().join("framework.json");
    std::fs::write(&lens_file, support::framework::lens().to_string()).unwrap();
    let config_file = dir.path().join("rel04d.toml");
    std::fs::write(&config_file, support::framework::config()).unwrap();
    let sim = support::simulator(&[
        "--workloads".to_owned(),
        workloads.to_string(),
        "--framework-file".into(),
        lens_file.display().to_string(),
    ]);
    let with_lens = support::workloads_with_lens(&sim.url).await.len();
    println!(
        "daemon {}, PostgreSQL, {workloads} workloads ({with_lens} with the lens)",
        support::bin()
    );
    println!(
        "| questions | controls | calls / workload | commits / evaluation | CPU / evaluation | sweep | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let configurations = [("57 (`*`)", Some(&config_file)), ("REL 04 alone", None)];
    // `questions N rel04` or `questions N 57` runs that configuration alone.
    let chosen = configurations.into_iter().filter(|(_, config)| match only {
        Some("rel04") => config.is_none(),
        Some("57") => config.is_some(),
        _ => true,
    });
    for (label, config) in chosen {
        let (database_url, name) = support::new_postgres_database(&server).await;
        let mut settings = vec![
            ("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "10000".to_owned()),
            ("REL04D__AWS__MAX_CONCURRENCY", "32".to_owned()),
        ];
        if let Some(config) = config {
            settings.push(("REL04D_CONFIG", config.display().to_string()));
        }
        let mut last = None;
        for _ in ["cold", "steady", "steady"] {
            support::reset_calls(&sim.url).await;
            let before = commits(&server, &name).await;
            let run = run_once_measured(&sim.url, &database_url, &settings);
            let committed = commits(&server, &name).await - before;
            let calls = support::calls(&sim.url).await["total"].as_u64().unwrap();
            last = Some((run, committed, calls));
        }
        let (run, committed, calls) = last.unwrap();
        let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();
        let controls: i64 = sqlx::query("SELECT COUNT(*) AS n FROM controls")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        pool.close().await;
        println!(
            "| {label} | {controls} | {:.3} | {:.4} ({committed}) | {:.3} ms ({:.2} s) | {:.2} s | {:.1} MiB |",
            calls as f64 / workloads as f64,
            committed as f64 / controls as f64,
            run.cpu.as_secs_f64() * 1000.0 / controls as f64,
            run.cpu.as_secs_f64(),
            run.sweep_ms as f64 / 1000.0,
            run.peak_rss_kib as f64 / 1024.0,
        );
    }
}

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    if args.first().map(String::as_str) == Some("questions") {
        let workloads = args.get(1).map_or(10_000, |n| n.parse().unwrap());
        questions(workloads, args.get(2).map(String::as_str)).await;
        return;
    }
    if args.len() == 3 {
        let rate: f64 = args[2].parse().unwrap();
        bench(
            args[0].parse().unwrap(),
            args[1].parse().unwrap(),
            (rate > 0.0).then_some(rate),
        )
        .await;
        return;
    }
    for (workloads, rate) in [
        (1_000, None),
        (1_000, Some(200.0)),
        (10_000, None),
        (10_000, Some(500.0)),
    ] {
        bench(workloads, 5, rate).await;
    }
}
