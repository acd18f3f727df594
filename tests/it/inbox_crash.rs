//! A pushed event is never lost: events accepted (202) by `POST /events` under
//! load, while every Tool call hangs so none can be evaluated yet, survive a
//! SIGKILL of the real binary and are each evaluated after the restart.

use std::time::Duration;

use crate::common::db::Db;
use crate::common::process::{self, Proc, http_address, tail, wait_until};
use crate::common::*;
use rel04d::events::sample::update_answer_event;
use rel04d_simulator::{Faults, Simulator};

const TOKEN: &str = "inbox-crash-token-0123456789abcdef";
const WORKLOADS: usize = 20;
/// Events per workload, each with its own id: 200 pushed at once.
const PER_WORKLOAD: usize = 10;

fn daemon(sim_url: &str, database_url: &str) -> std::process::Command {
    let mut command = process::daemon(sim_url, database_url, 1000);
    command
        .arg("run")
        .env("REL04D__HTTP__EVENTS_TOKEN", TOKEN)
        .env("REL04D__SCHEDULE__INTERVAL", "1h")
        .env("REL04D__SCHEDULE__JITTER", "0s");
    command
}

async fn push(client: &reqwest::Client, http: &str, body: String) -> u16 {
    client
        .post(format!("http://{http}/events"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(body)
        .send()
        .await
        .expect("POST /events")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_accepted_under_load_then_sigkilled_are_evaluated_after_restart() {
    let sim = Simulator::new(REGION);
    let ids: Vec<String> = (0..WORKLOADS)
        .map(|i| {
            sim.add_workload(workload(
                &format!("inbox-{i:02}"),
                answer(&ALL_FOUR, &[], true),
            ))
            .id
        })
        .collect();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");
    let db = Db::connect(&database_url).await;

    let mut first = Proc::spawn(daemon(&server.url(), &database_url), &log);
    let http = http_address(&log, Duration::from_secs(30)).await;
    wait_until("the first sweep", Duration::from_secs(30), || async {
        db.count("SELECT COUNT(*) FROM controls WHERE state = 'ok'")
            .await
            == Some(WORKLOADS as i64)
    })
    .await;

    // Every answer fails now, and every call hangs: nothing pushed can be
    // evaluated before the kill.
    sim.set_faults(Faults {
        latency: Duration::from_secs(60),
        ..Faults::default()
    });
    for id in &ids {
        sim.set_answer(id, answer(&ALL_FOUR[..2], &[], true))
            .unwrap();
    }
    let client = reqwest::Client::new();
    let event_ids: Vec<String> = (0..WORKLOADS * PER_WORKLOAD)
        .map(|n| format!("inbox-crash-{n:04}"))
        .collect();
    let statuses = futures::future::join_all(event_ids.iter().enumerate().map(|(n, event_id)| {
        let body =
            update_answer_event(event_id, "111122223333", REGION, &ids[n % WORKLOADS]).to_string();
        push(&client, &http, body)
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == 202),
        "every event accepted: {statuses:?}"
    );
    first.kill();
    assert_eq!(
        db.count("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
            .await,
        Some(event_ids.len() as i64),
        "every accepted event was pending at the kill"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM processed_events").await,
        Some(0)
    );

    sim.set_faults(Faults::default());
    let _second = Proc::spawn(daemon(&server.url(), &database_url), &log);
    wait_until(
        "every accepted event handled after the restart",
        Duration::from_secs(60),
        || async {
            db.count("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
                .await
                == Some(0)
        },
    )
    .await;
    let mut handled = db
        .strings("SELECT event_id FROM processed_events WHERE outcome = 'evaluated'")
        .await;
    handled.sort();
    assert_eq!(handled, event_ids, "{}", tail(&log));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM inbox WHERE last_error IS NOT NULL")
            .await,
        Some(0)
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM controls WHERE state = 'alarm'")
            .await,
        Some(WORKLOADS as i64)
    );
    db.close().await;
    server.shutdown().await;
}
