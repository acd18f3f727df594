//! What the benchmarks share: their arguments, the release binary, the simulator
//! as a child process, and the environment that points rel04d at it.
#![allow(dead_code)]

pub mod framework;
pub mod sqs_batches;
pub mod window;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The daemon to measure: this build's, or `REL04D_BENCH_BIN` (e.g. a release
/// binary driven by a harness built quickly in the dev profile).
pub fn bin() -> String {
    std::env::var("REL04D_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rel04d").to_owned())
}

/// `rel04d` as a child process, without the backtrace settings of the shell that
/// runs the bench: `RUST_BACKTRACE` makes every error capture a backtrace (the
/// SDK's and anyhow's), a cost no deployed daemon pays.
pub fn command() -> Command {
    let mut command = Command::new(bin());
    command
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    command
}

/// The command-line arguments after the benchmark's name, without the `--bench`
/// style flags `cargo bench` passes.
pub fn positional_args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect()
}

/// A TCP port free on loopback now, for a child to listen on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The simulator process, killed on drop.
pub struct Sim {
    child: Child,
    pub url: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `rel04d simulator --listen 127.0.0.1:0 <args>` and reads its URL from
/// the banner it prints once listening.
pub fn simulator(args: &[String]) -> Sim {
    let mut child = command()
        .args(["simulator", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    // Keep reading: the simulator prints more and must not hit a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    // "simulator serving N workloads at http://127.0.0.1:PORT"
    let url = first
        .split_whitespace()
        .last()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected simulator banner {first:?}"))
        .to_owned();
    Sim { child, url }
}

/// Dummy credentials and the simulator as the Well-Architected endpoint.
pub fn aws_env(command: &mut Command, sim_url: &str) {
    command
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url);
}

/// `rel04d run` against the simulator at `sim_url`, its SQLite database in `dir`,
/// HTTP on `listen`: as unthrottled as the configuration allows (10,000/s, 32 at once), with the benchmarks' policies,
/// logging only warnings. Spawn it with the stdout the benchmark wants.
pub fn daemon(sim_url: &str, dir: &std::path::Path, listen: &str) -> Command {
    let mut command = command();
    aws_env(&mut command, sim_url);
    command
        .arg("run")
        .env(
            "REL04D__DATABASE__URL",
            format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
        )
        .env("REL04D__HTTP__LISTEN", listen)
        .env("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "10000")
        .env("REL04D__AWS__MAX_CONCURRENCY", "32")
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True")
        .env("REL04D__LOG__LEVEL", "warn");
    command
}

/// The simulator's workloads (`/_sim/workloads`) that have the lens.
pub async fn workloads_with_lens(sim_url: &str) -> Vec<serde_json::Value> {
    let list: Vec<serde_json::Value> = reqwest::get(format!("{sim_url}/_sim/workloads"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.into_iter()
        .filter(|w| {
            w["lenses"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l == "wellarchitected")
        })
        .collect()
}

/// The simulator's call statistics (`total`, `outcomes`, `operations`).
pub async fn calls(sim_url: &str) -> serde_json::Value {
    reqwest::get(format!("{sim_url}/_sim/calls"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub async fn reset_calls(sim_url: &str) {
    let reset = reqwest::Client::new()
        .post(format!("{sim_url}/_sim/calls/reset"))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
}

/// Runs `rel04d run --once` (the sweep benchmarks' policies, `settings` as
/// environment variables) to completion; returns its wall time, the sweep's own
/// duration from its log, and its peak RSS in KiB (its `VmHWM`, polled).
pub fn run_once(
    sim_url: &str,
    database_url: &str,
    settings: &[(&str, String)],
) -> (Duration, u64, i64) {
    let run = run_once_measured(sim_url, database_url, settings);
    (run.wall, run.sweep_ms, run.peak_rss_kib)
}

/// What [`run_once_measured`] measured of one `rel04d run --once`.
pub struct Run {
    pub wall: Duration,
    /// The duration of the last sweep to finish, from its log line.
    pub sweep_ms: u64,
    pub peak_rss_kib: i64,
    /// User and system CPU of the process.
    pub cpu: Duration,
}

/// [`run_once`], also returning the process's CPU time.
pub fn run_once_measured(sim_url: &str, database_url: &str, settings: &[(&str, String)]) -> Run {
    let started = Instant::now();
    let mut command = command();
    aws_env(&mut command, sim_url);
    #[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its rusage
    let mut child = command
        .args(["run", "--once"])
        .env("REL04D__DATABASE__URL", database_url)
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDENTIFY", "True")
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True")
        .env("REL04D__LOG__LEVEL", "rel04d::scheduler=info,warn")
        .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start rel04d");
    let pid = child.id() as libc::pid_t;
    // Peak RSS from the process's own high-water mark, read while it runs: a
    // forked child inherits the harness's maximum RSS in its rusage (Linux
    // keeps `ru_maxrss` across exec), and the fleet bench's thousand
    // simulators made that ~400 MiB whatever rel04d used.
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let running = running.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(hwm) = high_water_kib(pid) {
                    peak = peak.max(hwm);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        })
    };
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
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid pointers to locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak_rss_kib = watcher.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "rel04d failed"
    );
    assert!(sweep_ms > 0, "no `sweep finished` line was logged");
    Run {
        wall: started.elapsed(),
        sweep_ms,
        peak_rss_kib,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
    }
}

/// A new PostgreSQL database on `server` (`REL04D_BENCH_POSTGRES_URL`) for one
/// run: its URL and its name.
pub async fn new_postgres_database(server: &str) -> (String, String) {
    let name = format!("rel04d_bench_{:016x}", rand::random::<u64>());
    let admin = sqlx::AnyPool::connect(&format!("{server}/postgres"))
        .await
        .expect("connect to REL04D_BENCH_POSTGRES_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    (format!("{server}/{name}"), name)
}

/// User and system CPU this process (every thread) has used so far: a bench
/// serving simulators in-process reads it around a run to tell their CPU from
/// the daemon's.
pub fn own_cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a local.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(ok, 0, "getrusage failed");
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000)
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
fn high_water_kib(pid: libc::pid_t) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
