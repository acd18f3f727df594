//! `notify.settle` in the real binary against the simulator: the case
//! of an alarm silenced by a long run of flips (alarm → invalid → ok, 213
//! times inside the window, then alarm holds). Each flip is the simulator's
//! answer or a workload tag changing, pushed to the daemon as an event.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::common::db::Db;
use crate::common::moto::{Moto, notifications};
use crate::common::process::{self, Proc, http_address, tail, wait_until};
use crate::common::*;
use crate::settle::subscribed_bus;
use rel04d::events::sample::update_answer_event;
use rel04d_simulator::Simulator;

const SETTLE: Duration = Duration::from_secs(2);
const TOKEN: &str = "settle-process-token-0123456789abcdef";
const CYCLES: usize = 213;

/// Pushes an UpdateAnswer event about `workload_id` and waits until the daemon
/// has recorded `transitions` transitions in all.
async fn evaluate(http: &str, db: &Db, workload_id: &str, n: usize, transitions: i64) {
    let event = update_answer_event(&format!("settle-{n}"), "111122223333", REGION, workload_id);
    let response = reqwest::Client::new()
        .post(format!("http://{http}/events"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    // Polled more often than `wait_until` does: 640 of these make the test.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while db.count("SELECT COUNT(*) FROM transitions").await < Some(transitions) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no transition {transitions} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The case, end to end: the alarm that holds after 213 fast cycles is
/// announced (from `ok`, the state announced before them), and nothing else of
/// the cycling is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_that_holds_after_213_fast_cycles_is_announced() {
    let moto = Moto::connect().await;
    let (bus, subscriber) = subscribed_bus(&moto).await;
    let sim = Simulator::new(REGION);
    let passing = || answer(&ALL_FOUR, &[], true);
    let failing = || answer(&ALL_FOUR[..2], &[], true);
    let id = sim.add_workload(workload("settle-proc", passing())).id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let mut command = process::daemon(&server.url(), &database_url, 1000);
    command
        .arg("run")
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &moto.url)
        .env("REL04D__NOTIFY__EVENT_BUS", &bus)
        .env("REL04D__NOTIFY__SETTLE", "2s")
        .env("REL04D__HTTP__EVENTS_TOKEN", TOKEN)
        .env("REL04D__POLICIES__TAGS__ENABLED", "true")
        .env("REL04D__POLICIES__TAGS__PREFIX", "rel04d:")
        .env("REL04D__SCHEDULE__INTERVAL", "1h");
    let log = dir.path().join("daemon.log");
    let daemon = Proc::spawn(command, &log);
    let http = http_address(&log, Duration::from_secs(20)).await;
    let db = Db::connect(&database_url).await;

    // The control is created (tbd → ok) and ok holds past the window.
    let mut n = 0;
    evaluate(&http, &db, &id, n, 2).await;
    tokio::time::sleep(SETTLE + Duration::from_millis(500)).await;
    let mut transitions = 2;
    let bad_tag = BTreeMap::from([("rel04d:constant_work".to_owned(), "maybe".to_owned())]);
    for _ in 0..CYCLES {
        // alarm
        sim.set_answer(&id, failing()).unwrap();
        n += 1;
        transitions += 1;
        evaluate(&http, &db, &id, n, transitions).await;
        // invalid
        sim.set_tags(&id, bad_tag.clone()).unwrap();
        n += 1;
        transitions += 1;
        evaluate(&http, &db, &id, n, transitions).await;
        // ok
        sim.set_tags(&id, BTreeMap::new()).unwrap();
        sim.set_answer(&id, passing()).unwrap();
        n += 1;
        transitions += 1;
        evaluate(&http, &db, &id, n, transitions).await;
    }
    // alarm, and it holds.
    sim.set_answer(&id, failing()).unwrap();
    n += 1;
    transitions += 1;
    evaluate(&http, &db, &id, n, transitions).await;
    let states = db
        .strings("SELECT to_state FROM transitions ORDER BY id")
        .await;
    assert_eq!(
        states.len() as i64,
        transitions,
        "one transition per change"
    );
    assert_eq!(
        &states[states.len() - 4..],
        ["alarm", "invalid", "ok", "alarm"]
    );

    // Within the window, the grace and a publisher poll, the alarm is sent.
    wait_until(
        "every notification decided",
        Duration::from_secs(30),
        || async {
            db.count("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                .await
                == Some(0)
        },
    )
    .await;
    let mut delivered: Vec<Value> =
        notifications(&moto.drain(&subscriber.url, Duration::from_secs(2)).await);
    delivered.sort_by_key(|n| n["transition_id"].as_i64());
    let got: Vec<(Option<&str>, &str)> = delivered
        .iter()
        .map(|n| (n["from_state"].as_str(), n["to_state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [(None, "ok"), (Some("ok"), "alarm")],
        "{}",
        tail(&daemon.log)
    );
    db.close().await;
    drop(daemon);
    server.shutdown().await;
}
