//! Sweep benchmark: the release daemon (`rel04d run --once`) against the release
//! simulator (`rel04d simulator`), each in its own process, so the daemon's peak
//! RSS is its own. Prints wall time, API calls per workload, and the ratio to the
//! physical floor (calls / rate limit) for each configuration.
//!
//!     cargo bench --bench sweep                      # the matrix
//!     cargo bench --bench sweep -- 1000 5 200        # N, latency ms, rate (0 = none)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_rel04d");

struct Run {
    wall: Duration,
    sweep_ms: u64,
    peak_rss_kib: i64,
    calls: u64,
    throttled: u64,
}

/// Runs `rel04d run --once` to completion; returns its wall time, the sweep's own
/// duration from its log, and its peak RSS (from wait4).
fn run_once(
    sim_url: &str,
    database_url: &str,
    rate: f64,
    concurrency: usize,
) -> (Duration, u64, i64) {
    let started = Instant::now();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its rusage
    let mut child = Command::new(BIN)
        .args(["run", "--once"])
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url)
        .env("REL04D__DATABASE__URL", database_url)
        .env("REL04D__AWS__MAX_REQUESTS_PER_SECOND", rate.to_string())
        .env("REL04D__AWS__MAX_CONCURRENCY", concurrency.to_string())
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDENTIFY", "True")
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True")
        .env("REL04D__LOG__LEVEL", "rel04d::startup=info,warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start rel04d");
    let mut sweep_ms = 0;
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&line)
            && json["message"] == "sweep finished"
        {
            sweep_ms = json["duration_ms"].as_u64().unwrap_or(0);
        }
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers to locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "rel04d failed"
    );
    (started.elapsed(), sweep_ms, usage.ru_maxrss)
}

async fn calls(client: &reqwest::Client, sim_url: &str) -> (u64, u64) {
    let stats: serde_json::Value = client
        .get(format!("{sim_url}/_sim/calls"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        stats["total"].as_u64().unwrap(),
        stats["outcomes"]["throttled"].as_u64().unwrap_or(0),
    )
}

async fn bench(workloads: usize, latency_ms: u64, rate: Option<f64>) {
    let port = 19000 + (rand_port() % 1000);
    let mut sim_args = vec![
        "simulator".to_owned(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--workloads".into(),
        workloads.to_string(),
        "--latency-ms".into(),
        latency_ms.to_string(),
    ];
    if let Some(rate) = rate {
        sim_args.extend(["--rate-limit".into(), rate.to_string()]);
    }
    let mut sim = Command::new(BIN)
        .args(&sim_args)
        .stdout(Stdio::null())
        .spawn()
        .expect("start the simulator");
    let sim_url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{sim_url}/_sim/calls"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    // With a server-side limit, the client is told the same rate; without one, the
    // client limit is out of the way and concurrency decides.
    let (client_rate, concurrency) = match rate {
        Some(rate) => (rate, 16),
        None => (1_000_000.0, 32),
    };
    let with_lens = {
        let list: serde_json::Value = client
            .get(format!("{sim_url}/_sim/workloads"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .filter(|w| {
                w["lenses"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|l| l == "wellarchitected")
            })
            .count()
    };
    let mut runs = Vec::new();
    for _ in ["cold", "steady"] {
        client
            .post(format!("{sim_url}/_sim/calls/reset"))
            .send()
            .await
            .unwrap();
        let (wall, sweep_ms, peak_rss_kib) =
            run_once(&sim_url, &database_url, client_rate, concurrency);
        let (calls, throttled) = calls(&client, &sim_url).await;
        runs.push(Run {
            wall,
            sweep_ms,
            peak_rss_kib,
            calls,
            throttled,
        });
    }
    let _ = sim.kill();
    let _ = sim.wait();
    let rate_text = rate.map_or("none".to_owned(), |r| format!("{r}/s"));
    for (label, run) in ["cold", "steady"].iter().zip(&runs) {
        let per_workload = run.calls as f64 / workloads as f64;
        let floor = rate.map(|r| run.calls as f64 / r);
        let ratio = floor.map_or("-".to_owned(), |f| {
            format!("{:.2}", run.sweep_ms as f64 / 1000.0 / f)
        });
        println!(
            "N={workloads:>6} latency={latency_ms}ms rate={rate_text:>7} {label:<6} sweep={:>7.2}s process={:>7.2}s calls={:>6} ({per_workload:.3}/workload, {} with lens, {} throttled) floor={} ratio={ratio} peak_rss={:.1}MiB",
            run.sweep_ms as f64 / 1000.0,
            run.wall.as_secs_f64(),
            run.calls,
            with_lens,
            run.throttled,
            floor.map_or("-".to_owned(), |f| format!("{f:.2}s")),
            run.peak_rss_kib as f64 / 1024.0,
        );
    }
}

fn rand_port() -> u16 {
    (std::process::id() as u16)
        .wrapping_mul(31)
        .wrapping_add(Instant::now().elapsed().subsec_nanos() as u16)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
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
