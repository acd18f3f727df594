//! Footprint benchmark: the release daemon (`rel04d run`) against the release
//! simulator with 10,000 workloads. Reports peak RSS over the first sweep and the
//! CPU the daemon uses while idle between sweeps (from /proc).
//!
//!     cargo bench --bench footprint                  # 10,000 workloads, 30 s idle
//!     cargo bench --bench footprint -- 1000 10       # N, idle seconds

use std::process::Stdio;
use std::time::{Duration, Instant};

mod support;

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) start after ") ".
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    let workloads: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let idle_seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let sim = support::simulator(&["--workloads".into(), workloads.to_string()]);
    let sim_url = sim.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = support::daemon(&sim_url, dir.path(), "127.0.0.1:0")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    // The first sweep is over when the simulator stops seeing calls.
    let started = Instant::now();
    let mut last_total = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let total = support::calls(&sim_url).await["total"].as_u64().unwrap();
        if total > 0 && total == last_total {
            break;
        }
        last_total = total;
    }
    let sweep = started.elapsed();
    let rss_after_sweep = status_kib(pid, "VmRSS:");
    let before = cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    let idle_ticks = cpu_ticks(pid) - before;
    let peak = status_kib(pid, "VmHWM:");
    let ticks_per_second = 100.0; // USER_HZ on Linux
    println!(
        "N={workloads} first sweep≈{:.1}s peak_rss={:.1}MiB rss_idle={:.1}MiB idle_cpu={:.3}% ({} ticks over {idle_seconds}s)",
        sweep.as_secs_f64(),
        peak as f64 / 1024.0,
        rss_after_sweep as f64 / 1024.0,
        idle_ticks as f64 / ticks_per_second / idle_seconds as f64 * 100.0,
        idle_ticks,
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}
