//! Fleet benchmark: many slow account-regions in one replica. 1,000
//! account-regions × 100 workloads by default, each account-region limited by
//! its own regional simulator (in this process, behind one endpoint) to 10
//! calls/s with a token bucket answering 429 beyond it, which rel04d is not
//! told (`aws.max_requests_per_second = "auto"`, the default). Two
//! `rel04d run --once` on one SQLite database: the first learns each scope's
//! rate from nothing and creates every control; the second resumes the learned
//! rates. Each is set against two floors: the slowest scope's (its calls / the
//! limit; the fewest calls are one ListWorkloads per 50 workloads and one
//! GetAnswer per workload with the lens) and the CPU's (the daemon's CPU time
//! over the machine's cores), and extrapolated to workloads per 15 minutes per
//! vCPU. The simulators answer on the same cores, so the bench also reports
//! their CPU (this process's, over the sweep) per call and the CPU floor
//! counting daemon and simulators together, with the ratio to that.
//!
//!     scripts/bench.sh fleet
//!     cargo bench --bench fleet -- 1000 100 10     # account-regions, workloads each, limit

use std::io::Write;

use rel04d_simulator::{Faults, Simulator};
use support::run_once_measured;

mod support;

const INTERVAL_SECONDS: f64 = 900.0;

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    let arg = |i: usize, default: f64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let scopes = arg(0, 1_000.0) as usize;
    let per_scope = arg(1, 100.0) as usize;
    let limit = arg(2, 10.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;

    let regions: Vec<String> = (1..=scopes).map(|n| format!("fleet-r-{n:04}")).collect();
    let sims: Vec<Simulator> = regions
        .iter()
        .enumerate()
        .map(|(n, region)| {
            let sim = Simulator::generated(region, per_scope, n as u64 + 1);
            sim.set_faults(Faults {
                rate_limit_per_second: Some(limit),
                ..Faults::default()
            });
            sim
        })
        .collect();
    // The fewest calls a sweep of each scope can make.
    let fewest = |sim: &Simulator| {
        let with_lens = sim
            .workloads()
            .iter()
            .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"))
            .count();
        (sim.workload_count().div_ceil(50) + with_lens) as f64
    };
    let fewest_floor = sims.iter().map(fewest).fold(0.0, f64::max) / limit;
    let server = Simulator::serve_regions("127.0.0.1:0".parse().unwrap(), &sims)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let mut config = tempfile::NamedTempFile::new().unwrap();
    let quoted: Vec<String> = regions.iter().map(|r| format!("{r:?}")).collect();
    write!(config, "[aws]\nregions = [{}]\n", quoted.join(", ")).unwrap();
    let settings = [("REL04D_CONFIG", config.path().to_str().unwrap().to_owned())];

    println!(
        "{scopes} account-regions × {per_scope} workloads, {limit} calls/s each (untold); \
         {cores} cores; fewest calls of the slowest scope / limit = {fewest_floor:.2} s"
    );
    println!(
        "| sweep | wall | calls (max per scope) | throttled | slowest scope's floor | CPU floor (daemon) | ratio | daemon CPU / evaluation | simulators' CPU / call | CPU floor (daemon + simulators) | ratio to it | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for run in ["first (learning, creating)", "second (resumed)"] {
        for sim in &sims {
            sim.reset_calls();
        }
        // Blocking (it waits for the process): off the runtime that serves the
        // simulators, or their connections stall behind it.
        let (url, db, env) = (server.url(), database_url.clone(), settings.clone());
        let harness_before = support::own_cpu();
        let measured = tokio::task::spawn_blocking(move || run_once_measured(&url, &db, &env))
            .await
            .unwrap();
        let simulators_cpu = support::own_cpu().saturating_sub(harness_before);
        let stats: Vec<_> = sims.iter().map(|s| s.calls()).collect();
        let total: u64 = stats.iter().map(|s| s.total).sum();
        let throttled: u64 = stats.iter().map(|s| s.outcomes.throttled).sum();
        let slowest = stats.iter().map(|s| s.outcomes.ok).max().unwrap_or(0);
        let scope_floor = slowest as f64 / limit;
        let cpu_floor = measured.cpu.as_secs_f64() / cores;
        let floor = scope_floor.max(cpu_floor);
        let wall = measured.wall.as_secs_f64();
        let evaluations = (scopes * per_scope) as f64;
        let cpu_ms = measured.cpu.as_secs_f64() * 1000.0 / evaluations;
        let call_us = simulators_cpu.as_secs_f64() * 1e6 / total as f64;
        let both_floor = (measured.cpu + simulators_cpu).as_secs_f64() / cores;
        println!(
            "| {run} | {wall:.1} s | {total} ({slowest}) | {throttled} ({:.2} %) | {scope_floor:.1} s | {cpu_floor:.1} s | **{:.2}** | {cpu_ms:.3} ms | {call_us:.1} µs | {both_floor:.1} s | **{:.2}** | {:.1} MiB |",
            100.0 * throttled as f64 / total as f64,
            wall / floor,
            wall / scope_floor.max(both_floor),
            measured.peak_rss_kib as f64 / 1024.0,
        );
        println!(
            "  → at this CPU per evaluation: {:.0} workloads per 15 minutes per vCPU; \
             at this wall time: {:.0} per 15 minutes per replica",
            INTERVAL_SECONDS * 1000.0 / cpu_ms,
            evaluations * INTERVAL_SECONDS / wall,
        );
    }
    server.shutdown().await;
}
