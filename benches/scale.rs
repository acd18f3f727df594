//! Scale benchmark: 100 account-regions × 1,000 workloads (100,000) on PostgreSQL,
//! with one and with two replicas of the release daemon (`rel04d run`), the
//! simulator (in this process, one regional simulator per account-region behind
//! one endpoint) and the database all on this machine.
//!
//! A cold `rel04d run --once` creates every control; then each configuration
//! starts its replicas on that database, waits until every account-region has
//! logged a complete (steady: nothing changed) sweep, reads the daemons' CPU and
//! peak RSS from /proc, stops them (SIGTERM) and reads the database's own counts:
//! commits (`pg_stat_database.xact_commit`), its CPU (the postmaster and its
//! backends, from /proc) and, with `pg_stat_statements`, the lease and readiness
//! statements. A readiness probe hits each replica's `/readyz` every second. From
//! the measured figures it extrapolates to 1,000,000 workloads in 1,000
//! account-regions swept once per 15-minute interval.
//!
//!     scripts/bench.sh scale                       # starts its own PostgreSQL
//!     cargo bench --bench scale -- 100 1000        # account-regions, workloads each
//!
//! Needs `REL04D_TEST_POSTGRES_URL` (server URL) and `REL04D_BENCH_PGDATA` (its
//! data directory, for the postmaster's pid).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rel04d_simulator::Simulator;
use sqlx::AnyPool;
use support::aws_env;

mod support;

const TICKS_PER_SECOND: f64 = 100.0; // USER_HZ on Linux
const INTERVAL_SECONDS: f64 = 900.0;
const TARGET_WORKLOADS: f64 = 1_000_000.0;
const TARGET_SCOPES: f64 = 1_000.0;

/// The fields of /proc/<pid>/stat after the command name.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat.rsplit_once(") ")?.1.split_whitespace();
    // state (a letter) → 0; the numbers parse.
    Some(fields.map(|f| f.parse().unwrap_or(0)).collect())
}

/// utime + stime of `pid` (and of its reaped children when `children`), in ticks.
fn cpu_ticks(pid: u32, children: bool) -> u64 {
    let f = stat_fields(pid).unwrap_or_default();
    let own = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let reaped = f.get(13).copied().unwrap_or(0) + f.get(14).copied().unwrap_or(0);
    if children { own + reaped } else { own }
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib / 1024.0
}

/// CPU ticks of the whole PostgreSQL server: the postmaster with every backend
/// it reaped, plus the live ones.
fn postgres_ticks(postmaster: u32) -> u64 {
    let mut ticks = cpu_ticks(postmaster, true);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if stat_fields(pid).and_then(|f| f.get(1).copied()) == Some(u64::from(postmaster)) {
            ticks += cpu_ticks(pid, false);
        }
    }
    ticks
}

fn postmaster_pid() -> u32 {
    let data = std::env::var("REL04D_BENCH_PGDATA").expect("REL04D_BENCH_PGDATA");
    let pid_file = std::fs::read_to_string(format!("{data}/postmaster.pid")).unwrap();
    pid_file.lines().next().unwrap().trim().parse().unwrap()
}

struct Bench {
    admin: AnyPool,
    database: String,
    database_url: String,
    config: tempfile::NamedTempFile,
    sim_url: String,
    postmaster: u32,
    statements: bool,
    scopes: usize,
}

/// One replica: the process and the file it logs to.
struct Replica {
    child: Child,
    log: std::path::PathBuf,
    http: u16,
}

impl Bench {
    fn command(&self) -> Command {
        let mut command = support::command();
        aws_env(&mut command, &self.sim_url);
        command
            .env("REL04D_CONFIG", self.config.path())
            .env("REL04D__DATABASE__URL", &self.database_url)
            .env("REL04D__LOG__LEVEL", "rel04d::scheduler=info,warn")
            .stdin(Stdio::null());
        command
    }

    /// One number the server keeps about this database (`$1` is its name).
    async fn about_database(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .bind(&self.database)
            .fetch_one(&self.admin)
            .await
            .unwrap();
        n
    }

    async fn xact_commit(&self) -> i64 {
        self.about_database("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
            .await
    }

    /// Calls per statement kind of this database since the last reset; `None`
    /// without `pg_stat_statements`.
    async fn statement_calls(&self, pattern: &str) -> Option<i64> {
        if !self.statements {
            return None;
        }
        let sql = "SELECT CAST(COALESCE(SUM(calls), 0) AS BIGINT) FROM pg_stat_statements s \
                   JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 AND s.query LIKE $2";
        let (n,): (i64,) = sqlx::query_as(sql)
            .bind(&self.database)
            .bind(pattern)
            .fetch_one(&self.admin)
            .await
            .unwrap();
        Some(n)
    }

    async fn connections(&self) -> i64 {
        self.about_database("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1")
            .await
    }

    /// The cold sweep: every control created (`tbd`, then evaluated).
    fn cold(&self) -> Duration {
        let started = Instant::now();
        let status = self
            .command()
            .args(["run", "--once"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "the cold run failed");
        started.elapsed()
    }

    fn start(&self, n: usize, dir: &std::path::Path) -> Replica {
        let log = dir.join(format!("replica-{n}.log"));
        let http = 19_400 + n as u16;
        let child = self
            .command()
            .arg("run")
            .env("REL04D__HTTP__LISTEN", format!("127.0.0.1:{http}"))
            .stdout(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Replica { child, log, http }
    }

    /// Scopes whose sweep these replicas have logged as finished.
    fn swept(&self, replicas: &[Replica]) -> usize {
        let mut scopes = std::collections::BTreeSet::new();
        for replica in replicas {
            let text = std::fs::read_to_string(&replica.log).unwrap_or_default();
            for line in text.lines() {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                if json["message"] == "sweep finished" {
                    assert_eq!(json["failed"], 0, "a sweep failed: {line}");
                    scopes.insert(json["scope"].as_str().unwrap_or_default().to_owned());
                }
            }
        }
        scopes.len()
    }

    async fn steady(&self, count: usize, workloads: usize) {
        let dir = tempfile::tempdir().unwrap();
        if self.statements {
            sqlx::query("SELECT pg_stat_statements_reset()")
                .execute(&self.admin)
                .await
                .unwrap();
        }
        let commits_before = self.xact_commit().await;
        let pg_before = postgres_ticks(self.postmaster);
        let started = Instant::now();
        let mut replicas: Vec<Replica> = (0..count).map(|n| self.start(n, dir.path())).collect();
        let probe = reqwest::Client::new();
        let (mut connections, mut probes) = (0, 0);
        while self.swept(&replicas) < self.scopes {
            for replica in &mut replicas {
                assert!(
                    replica.child.try_wait().unwrap().is_none(),
                    "a replica died"
                );
                let url = format!("http://127.0.0.1:{}/readyz", replica.http);
                if probe.get(url).send().await.is_ok() {
                    probes += 1;
                }
            }
            connections = connections.max(self.connections().await);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let wall = started.elapsed().as_secs_f64();
        let daemon_ticks: u64 = replicas
            .iter()
            .map(|r| cpu_ticks(r.child.id(), false))
            .sum();
        let pg_ticks = postgres_ticks(self.postmaster) - pg_before;
        let rss: Vec<String> = replicas
            .iter()
            .map(|r| format!("{:.1}", peak_rss_mib(r.child.id())))
            .collect();
        for replica in &mut replicas {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(replica.child.id() as libc::pid_t, libc::SIGTERM) };
            assert!(replica.child.wait().unwrap().success());
        }
        // Backends report their counts as they exit.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let commits = self.xact_commit().await - commits_before;
        let leases = self.statement_calls("%leases%").await;
        let sweeps = self.statement_calls("%INTO sweeps%").await;
        let readiness = self.statement_calls("%FROM sweeps%").await;

        let evaluations = workloads as f64;
        let daemon_ms = daemon_ticks as f64 / TICKS_PER_SECOND * 1000.0 / evaluations;
        let pg_ms = pg_ticks as f64 / TICKS_PER_SECOND * 1000.0 / evaluations;
        let per_scope = |n: Option<i64>| match n {
            Some(n) => format!("{:.2}", n as f64 / self.scopes as f64),
            None => "(no pg_stat_statements)".to_owned(),
        };
        println!(
            "replicas={count} scopes={} workloads={workloads} steady sweep: wall={wall:.1}s \
             evaluations/s={:.0} daemon_cpu={daemon_ms:.3}ms/evaluation \
             postgres_cpu={pg_ms:.3}ms/evaluation commits={commits} ({:.4}/evaluation) \
             connections(max)={connections} peak_rss_mib=[{}] per scope: lease statements={} \
             sweep records={} readiness reads={} ({probes} /readyz probes)",
            self.scopes,
            evaluations / wall,
            commits as f64 / evaluations,
            rss.join(", "),
            per_scope(leases),
            per_scope(sweeps),
            per_scope(readiness),
        );
        // Extrapolation: CPU scales with evaluations; a replica has 2 vCPUs.
        let evaluations_per_second = TARGET_WORKLOADS / INTERVAL_SECONDS;
        let daemon_vcpus = evaluations_per_second * daemon_ms / 1000.0;
        let pg_vcpus = evaluations_per_second * pg_ms / 1000.0;
        println!(
            "  → {TARGET_WORKLOADS:.0} workloads / {TARGET_SCOPES:.0} account-regions per \
             {INTERVAL_SECONDS:.0} s: {evaluations_per_second:.0} evaluations/s need \
             {daemon_vcpus:.2} daemon vCPUs ({:.0}% of one 2-vCPU replica → {} replica(s)) \
             and {pg_vcpus:.2} PostgreSQL vCPUs; {:.1} commits/s; lease and sweep-record \
             statements {}/s",
            daemon_vcpus / 2.0 * 100.0,
            (daemon_vcpus / 2.0).ceil().max(1.0),
            evaluations_per_second * commits as f64 / evaluations,
            leases
                .zip(sweeps)
                .map_or("(not measured)".to_owned(), |(l, s)| format!(
                    "{:.2}",
                    (l + s) as f64 / self.scopes as f64 * TARGET_SCOPES / INTERVAL_SECONDS
                )),
        );
    }
}

#[tokio::main]
async fn main() {
    let args = support::positional_args();
    let scopes: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    let per_scope: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let server_url = std::env::var("REL04D_TEST_POSTGRES_URL")
        .expect("REL04D_TEST_POSTGRES_URL: run it through scripts/bench.sh scale");

    let regions: Vec<String> = (1..=scopes).map(|n| format!("bench-r-{n:03}")).collect();
    let sims: Vec<Simulator> = regions
        .iter()
        .enumerate()
        .map(|(n, region)| Simulator::generated(region, per_scope, n as u64 + 1))
        .collect();
    let with_lens: usize = sims
        .iter()
        .flat_map(|s| s.workloads())
        .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"))
        .count();
    let server = Simulator::serve_regions("127.0.0.1:0".parse().unwrap(), &sims)
        .await
        .unwrap();

    sqlx::any::install_default_drivers();
    let admin = AnyPool::connect(&format!("{server_url}/postgres"))
        .await
        .unwrap();
    // Statement counts need the server started with pg_stat_statements preloaded
    // (scripts/bench.sh does); without it they are left out.
    let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&admin)
        .await;
    let statements = sqlx::query("SELECT pg_stat_statements_reset()")
        .execute(&admin)
        .await
        .is_ok();
    let database = format!("rel04d_scale_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
        .execute(&admin)
        .await
        .unwrap();
    let mut config = tempfile::NamedTempFile::new().unwrap();
    let quoted: Vec<String> = regions.iter().map(|r| format!("{r:?}")).collect();
    write!(
        config,
        "[aws]\nregions = [{}]\nmax_requests_per_second = 10000\n\
         [schedule]\ninterval = \"15m\"\njitter = \"0s\"\n\
         [policies.global]\nrel04 = \"Check: Choices based on sub policies\"\n\
         identify = \"True\"\nidempotent = \"True\"\n",
        quoted.join(", ")
    )
    .unwrap();
    let bench = Bench {
        database_url: format!("{server_url}/{database}"),
        admin,
        database,
        config,
        sim_url: server.url(),
        postmaster: postmaster_pid(),
        statements,
        scopes,
    };
    let cold = bench.cold();
    println!(
        "cold run --once: {scopes} account-regions × {per_scope} workloads ({with_lens} with the \
         lens) in {:.1} s",
        cold.as_secs_f64()
    );
    for replicas in [1, 2] {
        bench.steady(replicas, with_lens).await;
    }
    server.shutdown().await;
}
