//! `POST /events` at a steady rate (open loop): the release daemon (`rel04d run`)
//! and the simulator as child processes, this process the load generator, all on
//! one machine. Each event is an `UpdateAnswer` for a workload whose answer the
//! generator has just flipped in the simulator, so every event causes exactly
//! one transition. Reports, per rate: events evaluated, the time from the
//! request to the transition's commit (p50, p99, max) and the daemon's CPU time
//! per event (its utime + stime over the run, idle time included).
//!
//!     REL04D_BENCH_BIN=target/release/rel04d cargo bench --bench events_push -- [rates] [seconds] [workloads]
//!
//! `rates` is a comma-separated list (default `50,200,500,1000`), `seconds` per
//! rate (default 60), `workloads` in the simulator (default 10,000; about 90% have
//! the lens and take events). With `REL04D_BENCH_POSTGRES_URL` (a server URL
//! without a database) each rate gets a fresh PostgreSQL database there; else
//! SQLite. Notifications are off: this measures intake and evaluation.
//!
//! With `REL04D_BENCH_SQS_URL` (moto's URL) the events go through SQS instead:
//! the daemon consumes a fresh queue there and the generator sends the events
//! with `SendMessageBatch`, ten at most, each batch sent once it is full or its
//! first event has waited 50 ms, at most four batches in flight (one event per
//! `SendMessage` is more than moto serves at 200/s: `support::sqs_batches`);
//! an event's latency is then from just before its batch is sent, and its wait
//! for the batch is reported apart. With `REL04D_BENCH_MOTO_PID` (moto's
//! process id) moto's CPU per event is reported too, and with
//! `REL04D_BENCH_POSTGRES_PID` (the PostgreSQL server's postmaster) the server's:
//! the postmaster, its live backends and those it reaped meanwhile.
//!
//! At most [`MAX_IN_FLIGHT`] requests are outstanding: a late daemon slows the
//! sending (reported as its duration) instead of exhausting file descriptors.
//! A send whose connection is refused or reset is sent again 100 ms later (as
//! EventBridge's API destinations retry), counted as `resent`; latency is
//! still from the first send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rel04d::events::sample::update_answer_event;
use serde_json::{Value, json};
use sqlx::Row;

mod support;

use support::sqs_batches::{self, Batcher};

const TOKEN: &str = "events-push-bench-token-0123456789";
/// Requests (answer flip and event) outstanding at once, at most.
const MAX_IN_FLIGHT: usize = 2048;
/// Sends of one event before the run fails.
const MAX_ATTEMPTS: usize = 50;
const ALL_FOUR: [&str; 4] = [
    "rel_prevent_interaction_failure_identify",
    "rel_prevent_interaction_failure_loosely_coupled_system",
    "rel_prevent_interaction_failure_idempotent",
    "rel_prevent_interaction_failure_constant_work",
];

/// An answer with the first `n` best practices selected: 4 passes, 2 fails
/// (idempotent is required).
fn answer(n: usize) -> Value {
    json!({"selected": &ALL_FOUR[..n], "not_applicable": [], "is_applicable": true})
}

/// Where the generator sends events.
#[derive(Clone)]
enum Intake {
    Http(String),
    Sqs(Batcher),
}

/// Posts one event, again after a refused or reset connection (as
/// EventBridge's API destinations retry), at most [`MAX_ATTEMPTS`] times;
/// returns how many sends failed first.
async fn post(client: &reqwest::Client, base: &str, event_id: &str, body: String) -> usize {
    for failed in 0..MAX_ATTEMPTS {
        let sent = client
            .post(format!("{base}/events"))
            .bearer_auth(TOKEN)
            .body(body.clone())
            .send()
            .await
            .map(|response| {
                assert_eq!(response.status().as_u16(), 202, "{event_id}");
            });
        match sent {
            Ok(()) => return failed,
            Err(error) if failed + 1 == MAX_ATTEMPTS => {
                panic!("{event_id}: {MAX_ATTEMPTS} sends failed, the last: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    unreachable!("the last attempt returns or panics")
}

/// An event's id and when its request was sent.
type Sent = (String, DateTime<Utc>);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU time (user + system) of process `pid` so far, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    proc_ticks(pid, false) as f64 * 1000.0 / ticks_per_second()
}

/// The CPU time (ms) of `pid`, the children it reaped, and its live children:
/// a PostgreSQL server's, whose backends come and go.
fn server_cpu_ms(pid: u32) -> f64 {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    let ticks: u64 = proc_ticks(pid, true)
        + children
            .split_whitespace()
            .filter_map(|child| child.parse().ok())
            .map(|child| proc_ticks(child, false))
            .sum::<u64>();
    ticks as f64 * 1000.0 / ticks_per_second()
}

/// utime + stime of `pid` (0 once it is gone), with its reaped children's if
/// `reaped`.
fn proc_ticks(pid: u32, reaped: bool) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces), from field 3 on.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|field| field.parse().unwrap())
        .collect();
    fields[0] + fields[1] + if reaped { fields[2] + fields[3] } else { 0 }
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// A fresh database for one run: SQLite in `dir`, or a new PostgreSQL database.
async fn database_url(dir: &std::path::Path) -> String {
    let Ok(server) = std::env::var("REL04D_BENCH_POSTGRES_URL") else {
        return format!("sqlite://{}/bench.db?mode=rwc", dir.display());
    };
    support::new_postgres_database(&server).await.0
}

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let args = support::positional_args();
    let rates: Vec<f64> = args
        .first()
        .map(|a| a.split(',').map(|r| r.parse().unwrap()).collect())
        .unwrap_or_else(|| vec![50.0, 200.0, 500.0, 1000.0]);
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60);
    let workloads: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let backend = if std::env::var("REL04D_BENCH_POSTGRES_URL").is_ok() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let intake = if std::env::var("REL04D_BENCH_SQS_URL").is_ok() {
        "SQS (moto)"
    } else {
        "POST /events"
    };
    println!(
        "daemon {}, {backend}, {intake}, {workloads} workloads, {seconds} s per rate",
        support::bin()
    );
    println!("| rate | sent | evaluated | p50 | p99 | max | daemon CPU per event |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut notes = Vec::new();
    for rate in rates {
        notes.extend(run(rate, seconds, workloads).await);
    }
    for note in notes {
        println!("\n{note}");
    }
}

/// How the SQS batches went: how full they were and how long events waited in
/// the generator for theirs (not counted in the latency columns).
fn batch_note(rate: f64, batched: &mut sqs_batches::Sent) -> String {
    batched.waits_ms.sort_by(f64::total_cmp);
    format!(
        "{rate}/s: {} batches ({:.1} events each); an event's wait for its batch, not counted above: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms.",
        batched.batches,
        batched.events.len() as f64 / batched.batches.max(1) as f64,
        percentile(&batched.waits_ms, 0.5),
        percentile(&batched.waits_ms, 0.99),
        batched.waits_ms.last().copied().unwrap_or(0.0),
    )
}

/// One rate's row, printed; returns a note to print under the table.
async fn run(rate: f64, seconds: u64, workloads: usize) -> Option<String> {
    let sim = support::simulator(&["--workloads".into(), workloads.to_string()]);
    let client = reqwest::Client::new();
    // (id, owner) of every workload with the lens, each passing to begin with.
    let targets: Vec<(String, String)> = support::workloads_with_lens(&sim.url)
        .await
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_owned(),
                w["owner"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    futures::stream::iter(&targets)
        .for_each_concurrent(32, |(id, _)| {
            let request = client
                .put(format!("{}/_sim/workloads/{id}/answer", sim.url))
                .json(&answer(4));
            async move {
                assert!(request.send().await.unwrap().status().is_success());
            }
        })
        .await;

    let dir = tempfile::tempdir().unwrap();
    let database_url = database_url(dir.path()).await;
    let port = support::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = support::daemon(&sim.url, dir.path(), &format!("127.0.0.1:{port}"));
    let (intake, batches) = match std::env::var("REL04D_BENCH_SQS_URL") {
        Ok(moto_url) => {
            let (sqs, queue_url) = sqs_batches::queue(&moto_url).await;
            command
                .env("AWS_ENDPOINT_URL_SQS", &moto_url)
                .env("REL04D__EVENTS__SQS__QUEUE_URL", &queue_url);
            let (batcher, running) = Batcher::start(sqs, queue_url);
            (Intake::Sqs(batcher), Some(running))
        }
        Err(_) => (Intake::Http(base.clone()), None),
    };
    let mut daemon = command
        .env("REL04D__DATABASE__URL", &database_url)
        .env("REL04D__HTTP__EVENTS_TOKEN", TOKEN)
        .env("REL04D__SCHEDULE__INTERVAL", "1h")
        .env("REL04D__SCHEDULE__JITTER", "0s")
        .env_remove("RUST_BACKTRACE")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start rel04d");
    let ok = format!(
        "rel04d_controls{{state=\"ok\",muted=\"false\"}} {}",
        targets.len()
    );
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
            continue;
        };
        if response.text().await.unwrap_or_default().contains(&ok) {
            break;
        }
    }
    let pool = sqlx::AnyPool::connect(&database_url).await.unwrap();

    let total = (rate * seconds as f64) as usize;
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let moto_pid: Option<u32> = std::env::var("REL04D_BENCH_MOTO_PID")
        .ok()
        .map(|pid| pid.parse().expect("REL04D_BENCH_MOTO_PID: a process id"));
    let moto_before = moto_pid.map(cpu_ms);
    let server_pid: Option<u32> = std::env::var("REL04D_BENCH_POSTGRES_PID").ok().map(|pid| {
        pid.parse()
            .expect("REL04D_BENCH_POSTGRES_PID: a process id")
    });
    let server_before = server_pid.map(server_cpu_ms);
    let cpu_before = cpu_ms(daemon.id());
    let started = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    let mut requests = Vec::with_capacity(total);
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    for n in 0..total {
        ticker.tick().await;
        let permit = in_flight.clone().acquire_owned().await.unwrap();
        let (id, owner) = targets[n % targets.len()].clone();
        // Round r of the fleet fails the answer when r is even, passes it when odd.
        let failing = (n / targets.len()).is_multiple_of(2);
        let (client, sim_url, intake, sent) = (
            client.clone(),
            sim.url.clone(),
            intake.clone(),
            sent.clone(),
        );
        requests.push(tokio::spawn(async move {
            let _permit = permit;
            let put = client
                .put(format!("{sim_url}/_sim/workloads/{id}/answer"))
                .json(&answer(if failing { 2 } else { 4 }))
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success());
            let event_id = format!("push-{n:07}");
            let body = update_answer_event(&event_id, &owner, "us-east-1", &id).to_string();
            match intake {
                Intake::Http(base) => {
                    let at = Utc::now();
                    let resent = post(&client, &base, &event_id, body).await;
                    sent.lock().unwrap().push((event_id, at));
                    resent
                }
                Intake::Sqs(batcher) => {
                    batcher.send(event_id, body);
                    0
                }
            }
        }));
    }
    drop(intake);
    let mut resent = 0;
    for request in requests {
        resent += request.await.unwrap();
    }
    let mut note = None;
    if let Some(running) = batches {
        let mut batched = running.finish().await;
        resent += batched.resent;
        note = Some(batch_note(rate, &mut batched));
        sent.lock().unwrap().append(&mut batched.events);
    }
    let sending = started.elapsed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let evaluated = loop {
        let evaluated: i64 = sqlx::query("SELECT COUNT(*) AS n FROM processed_events")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("n");
        if evaluated as usize >= total || tokio::time::Instant::now() > deadline {
            break evaluated;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cpu = cpu_ms(daemon.id()) - cpu_before;
    if let (Some(pid), Some(before)) = (server_pid, server_before) {
        let per_event = (server_cpu_ms(pid) - before) / total as f64;
        let note = note.get_or_insert_with(|| format!("{rate}/s:"));
        note.push_str(&format!(" PostgreSQL's CPU {per_event:.3} ms per event."));
    }
    if let (Some(pid), Some(before)) = (moto_pid, moto_before) {
        let per_event = (cpu_ms(pid) - before) / total as f64;
        let note = note.get_or_insert_with(|| format!("{rate}/s:"));
        note.push_str(&format!(" moto's CPU {per_event:.3} ms per event."));
    }
    let rows =
        sqlx::query("SELECT event_id, occurred_at FROM transitions WHERE \"trigger\" = 'event'")
            .fetch_all(&pool)
            .await
            .unwrap();
    let sent: std::collections::HashMap<String, DateTime<Utc>> =
        sent.lock().unwrap().drain(..).collect();
    let mut latencies: Vec<f64> = rows
        .iter()
        .filter_map(|row| {
            let at = sent.get(&row.get::<String, _>("event_id"))?;
            let committed =
                DateTime::parse_from_rfc3339(&row.get::<String, _>("occurred_at")).ok()?;
            Some((committed.with_timezone(&Utc) - *at).num_microseconds()? as f64 / 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "| {rate}/s ({:.0} s) | {total}{} | {evaluated} ({} transitions) | {:.1} ms | {:.1} ms | {:.1} ms | {:.3} ms |",
        sending.as_secs_f64(),
        if resent > 0 {
            format!(" ({resent} resent)")
        } else {
            String::new()
        },
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        cpu / total as f64,
    );
    pool.close().await;
    // SIGTERM: a graceful stop (and a profiler wrapping the daemon writes its
    // profile).
    // SAFETY: signalling our own child, which has not been reaped yet.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    let _ = daemon.wait();
    note
}
