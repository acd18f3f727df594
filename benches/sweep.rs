//! Sweep benchmark: the release daemon (`rel04d run --once`) against the release
//! simulator (`rel04d simulator`), each in its own process, so the daemon's peak
//! RSS is its own. Prints wall time, API calls per workload, and the ratio to the
//! physical floor (calls / rate limit) for each configuration.
//!
//!     cargo bench --bench sweep                      # the matrix
//!     cargo bench --bench sweep -- 1000 5 200        # N, latency ms, rate (0 = none)

use std::time::Duration;

use support::run_once;

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

#[tokio::main]
async fn main() {
    let args = support::positional_args();
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
