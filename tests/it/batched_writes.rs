//! The steady state writes almost nothing, and what it batches is never what a
//! crash could make wrong.
//!
//! - A sweep in which nothing changed costs at most one database commit per
//!   twenty evaluations, counted by the database itself: on Postgres the
//!   transactions whose WAL records touch the test database (`pg_walinspect`:
//!   every transaction that wrote, and only those), on SQLite the WAL-index
//!   header's change counter (`iChange` in the `-shm` file, bumped by every
//!   write transaction that commits). Reads are not commits: counting them
//!   (`xact_commit`) made the bound depend on how many listing pages the
//!   simulator served and on how slow the machine was, since the evaluation
//!   times are written once a second. The bound is generous (an evaluation
//!   used to cost one commit on SQLite, about four on Postgres); the figures
//!   themselves are in BENCHMARKS.md.
//! - The real binary, SIGKILLed again and again while it sweeps with batches of
//!   `evaluated_at` bumps pending and answers change under it, loses no
//!   transition and records none twice.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::db::{Db, valid_chains};
use crate::common::process::{self, Proc, tail};
use crate::common::*;
use rel04d::filter::Filter;
use rel04d::store::Store;
use rel04d_simulator::Simulator;

fn daemon(sim_url: &str, database_url: &str) -> std::process::Command {
    process::daemon(sim_url, database_url, 10_000)
}

/// `rel04d run --once` to completion, logging to `log`.
async fn run_once(sim_url: &str, database_url: &str, log: &std::path::Path) {
    let mut command = daemon(sim_url, database_url);
    command.args(["run", "--once"]);
    let mut process = Proc::spawn(command, log);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = process.exited() {
            assert!(status.success(), "run --once failed\n{}", tail(log));
            return;
        }
        assert!(Instant::now() < deadline, "run --once hung\n{}", tail(log));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Commits to the test database, as the database counts them.
enum Commits {
    /// Writing transactions, read from the WAL through `pg_walinspect` in the
    /// server's `postgres` database: the distinct transaction ids of records
    /// whose blocks belong to the test database, after `start`.
    Postgres {
        admin: Db,
        database_oid: i64,
        start: String,
    },
    /// `iChange` of the WAL-index header. The open pool keeps the `-shm` file
    /// (and the counter) alive between the daemon's runs.
    Sqlite { shm: PathBuf, _open: Db },
}

impl Commits {
    async fn watch(database_url: &str) -> Commits {
        match database_url.strip_prefix("sqlite://") {
            Some(rest) => {
                let path = rest.split('?').next().unwrap();
                let open = Db::connect(database_url).await;
                open.count("SELECT COUNT(*) FROM controls").await.unwrap();
                Commits::Sqlite {
                    shm: PathBuf::from(format!("{path}-shm")),
                    _open: open,
                }
            }
            None => {
                let (server, database) = database_url.rsplit_once('/').unwrap();
                let admin = Db::connect(&format!("{server}/postgres")).await;
                sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
                    .execute(&admin.pool)
                    .await
                    .expect("pg_walinspect (PostgreSQL 15's contrib) is installed");
                let (database_oid,) = sqlx::query_as::<_, (i64,)>(
                    "SELECT oid::bigint FROM pg_database WHERE datname = $1",
                )
                .bind(database)
                .fetch_one(&admin.pool)
                .await
                .unwrap();
                let start = current_wal_lsn(&admin).await;
                Commits::Postgres {
                    admin,
                    database_oid,
                    start,
                }
            }
        }
    }

    /// Commits since [`Commits::watch`] (SQLite: the counter, to subtract).
    async fn now(&self) -> u64 {
        match self {
            Commits::Sqlite { shm, .. } => {
                let header = std::fs::read(shm).expect("read the -shm file");
                u64::from(u32::from_ne_bytes(header[8..12].try_into().unwrap()))
            }
            Commits::Postgres {
                admin,
                database_oid,
                start,
            } => {
                let end = current_wal_lsn(admin).await;
                if &end == start {
                    return 0;
                }
                // A block reference reads `rel <tablespace>/<database>/<relation>`.
                let (writers,) = sqlx::query_as::<_, (i64,)>(
                    "SELECT COUNT(DISTINCT xid::text) FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn) \
                     WHERE xid::text <> '0' AND block_ref LIKE '%rel %/' || $3 || '/%'",
                )
                .bind(start)
                .bind(&end)
                .bind(database_oid.to_string())
                .fetch_one(&admin.pool)
                .await
                .expect("read the WAL written since the watch began");
                writers as u64
            }
        }
    }
}

/// The end of the WAL flushed so far: `pg_walinspect` reads no further.
async fn current_wal_lsn(admin: &Db) -> String {
    sqlx::query_as::<_, (String,)>("SELECT pg_current_wal_flush_lsn()::text")
        .fetch_one(&admin.pool)
        .await
        .unwrap()
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_that_changes_nothing_commits_at_most_once_per_twenty_evaluations() {
    let sim = Simulator::generated(REGION, 2000, 7);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");

    run_once(&server.url(), &database_url, &log).await;
    let all = Filter::parse("limit:100000").unwrap();
    let store = Store::connect(&database_url, 1).await.unwrap();
    let transitions_before = store.list_transitions(&all).await.unwrap().len();
    let evaluations = store.list_controls(&all).await.unwrap().len();
    store.close().await;
    assert!(evaluations > 1500, "{evaluations} controls");

    let commits = Commits::watch(&database_url).await;
    let before = commits.now().await;
    let started = rel04d::store::timestamp(chrono::Utc::now());
    run_once(&server.url(), &database_url, &log).await;
    let after = commits.now().await;
    let per_evaluation = (after - before) as f64 / evaluations as f64;
    eprintln!(
        "steady sweep: {} commits for {evaluations} evaluations ({per_evaluation:.4} each)",
        after - before
    );

    let store = Store::connect(&database_url, 1).await.unwrap();
    assert_eq!(
        store.list_transitions(&all).await.unwrap().len(),
        transitions_before,
        "nothing changed, so nothing was recorded"
    );
    // The bumps were written, batched: every control shows the steady sweep.
    let stale: Vec<_> = store
        .list_controls(&all)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.evaluated_at.as_deref() < Some(started.as_str()))
        .map(|c| c.workload_id)
        .collect();
    assert!(
        stale.is_empty(),
        "not evaluated by the steady sweep: {stale:?}"
    );
    assert!(
        per_evaluation <= 0.05,
        "{} commits for {evaluations} unchanged evaluations ({per_evaluation:.3} each)",
        after - before
    );
    store.close().await;
    server.shutdown().await;
}

/// Lines the daemon has logged as running, one per life so far.
fn running_lines(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("\"rel04d running\"")
        .count()
}

const WORKLOADS: usize = 150;
const KILLS: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_in_the_middle_of_batches_lose_no_transition_and_record_none_twice() {
    let sim = Simulator::new(REGION);
    let ids: Vec<String> = (0..WORKLOADS)
        .map(|i| {
            let selected = if i % 3 == 0 {
                &ALL_FOUR[..2]
            } else {
                &ALL_FOUR[..]
            };
            let spec = workload(&format!("batch-{i:03}"), answer(selected, &[], true));
            sim.add_workload(spec).id
        })
        .collect();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");

    // Sweeps back to back, so a kill nearly always lands with unchanged
    // evaluations' bumps pending and changed ones committing beside them.
    let mut changes = 0;
    let mut early_exits = Vec::new();
    for kill in 0..KILLS {
        let mut command = daemon(&server.url(), &database_url);
        command
            .arg("run")
            .env("REL04D__SCHEDULE__INTERVAL", "200ms")
            .env("REL04D__SCHEDULE__JITTER", "0s");
        let started = running_lines(&log);
        let mut process = Proc::spawn(command, &log);
        // Each life lasts 2–4 s from the moment the daemon runs, however slow
        // its start on a busy machine.
        let deadline = Instant::now() + Duration::from_secs(60);
        while running_lines(&log) == started {
            assert!(Instant::now() < deadline, "never ran\n{}", tail(&log));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let life = Instant::now() + Duration::from_millis(rand::random_range(2000..=4000));
        while Instant::now() < life {
            // A few answers change while most stay: sweeps mix both kinds.
            for _ in 0..3 {
                flip_answer(&sim, &ids[rand::random_range(0..ids.len())]);
                changes += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(status) = process.exited() {
            early_exits.push(format!("life {kill}: exited by itself with {status}"));
        }
        process.kill();
    }
    assert!(early_exits.is_empty(), "{early_exits:?}\n{}", tail(&log));

    let store = Store::connect(&database_url, 1).await.unwrap();
    let all = Filter::parse("limit:100000").unwrap();
    let under_kills = store.list_transitions(&all).await.unwrap().len();
    assert!(
        under_kills > WORKLOADS,
        "the killed daemons evaluated, not only created controls ({under_kills} transitions)"
    );
    let swept = std::fs::read_to_string(&log)
        .unwrap()
        .matches("\"sweep finished\"")
        .count();

    // One clean run catches up with the last changes.
    run_once(&server.url(), &database_url, &log).await;
    let transitions = store.list_transitions(&all).await.unwrap();
    let chains = valid_chains(&transitions);
    assert_eq!(chains.len(), WORKLOADS, "every workload has its control");
    for id in &ids {
        let expected = expected_state(&sim.workload(id).unwrap().answer);
        let control = store.control_by_workload_id(id).await.unwrap().unwrap();
        assert_eq!(control.state, expected, "{id}");
        assert_eq!(
            chains[id].last().unwrap().1,
            expected,
            "{id}: {:?}",
            chains[id]
        );
        assert!(control.evaluated_at.is_some(), "{id} was evaluated");
    }
    eprintln!(
        "batched writes under kills: {KILLS} kills, {changes} answer changes, {swept} sweeps, \
         {} transitions ({under_kills} under kills)",
        transitions.len()
    );
    store.close().await;
    server.shutdown().await;
}
