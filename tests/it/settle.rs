//! `notify.settle`: flapping answers in the simulator, a restart inside the
//! settle window, and the announcements EventBridge delivers.
//!
//! Also the oracle the settle crash loop (`crash_loop.rs`) checks against:
//! [`expected_announcements`], the rule written out from the transitions table.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::notify::windows::Clock;
use rel04d::startup::Daemon;
use rel04d::store::TransitionRow;
use rel04d_simulator::Simulator;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::common::db::Db;
use crate::common::moto::{Moto, Queue, notifications, unique};
use crate::common::*;

/// What the settle rule says is announced, from every transition recorded:
/// transition id → the `from_state` it is announced with. A transition is
/// announced when its state held for `settle` (the next transition of its
/// workload, if any, came at least `settle` later) and differs from the state
/// announced before it (the latest earlier transition that held; none at first).
pub fn expected_announcements(
    transitions: &[TransitionRow],
    settle: Duration,
) -> BTreeMap<i64, Option<String>> {
    let settle = chrono::Duration::from_std(settle).unwrap();
    let at = |t: &TransitionRow| t.occurred_at.parse::<DateTime<Utc>>().unwrap();
    let mut by_workload: BTreeMap<&str, Vec<&TransitionRow>> = BTreeMap::new();
    for t in transitions {
        by_workload.entry(&t.workload_arn).or_default().push(t);
    }
    let mut expected = BTreeMap::new();
    for chain in by_workload.values_mut() {
        chain.sort_by_key(|t| t.id);
        let mut announced: Option<String> = None;
        for (i, t) in chain.iter().enumerate() {
            let held = chain
                .get(i + 1)
                .is_none_or(|next| at(next) - at(t) >= settle);
            if !held {
                continue;
            }
            if announced.as_deref() != Some(t.to_state.as_str()) && !t.muted {
                expected.insert(t.id, announced.clone());
            }
            announced = Some(t.to_state.clone());
        }
    }
    expected
}

/// A subscriber queue on a fresh bus: rel04d's notifications land there.
pub async fn subscribed_bus(moto: &Moto) -> (String, Queue) {
    let bus = unique("settle-out");
    let subscriber = moto.queue_with_dlq(&unique("settle-sub"), 5).await;
    moto.bus_to_queue(
        &bus,
        json!({"source": ["rel04d"], "detail-type": ["Control State Changed"]}),
        &subscriber.arn,
    )
    .await;
    (bus, subscriber)
}

/// A daemon publishing to `bus` through moto, its workers running (no
/// scheduler: the test sweeps, `sweep_all`).
async fn build(
    dir: &tempfile::TempDir,
    database_url: &str,
    sim_url: &str,
    moto: &Moto,
    bus: &str,
    settle: &str,
) -> (Arc<Daemon>, Vec<JoinHandle<()>>) {
    let config = format!(
        "[policies.global]\n{ALL_TRUE}\n[notify]\nevent_bus = \"{bus}\"\nsettle = \"{settle}\"\n"
    );
    let settings = settings(dir, database_url, &config);
    let endpoints = Endpoints {
        wellarchitected: Some(sim_url.to_owned()),
        eventbridge: Some(moto.url.clone()),
        ..Endpoints::default()
    };
    let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
    let daemon = Daemon::build(settings, Some(setup)).await.unwrap();
    let workers = daemon.start_workers();
    (daemon, workers)
}

/// `(workload id, from_state, to_state)` of every notification delivered so far.
async fn delivered(moto: &Moto, queue: &Queue) -> Vec<(String, Option<String>, String)> {
    let mut seen: Vec<Value> = notifications(&moto.drain(&queue.url, Duration::from_secs(2)).await);
    seen.sort_by_key(|n| n["transition_id"].as_i64());
    seen.iter()
        .map(|n| {
            (
                n["workload_id"].as_str().unwrap().to_owned(),
                n["from_state"].as_str().map(str::to_owned),
                n["to_state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn change(id: &str, from: Option<&str>, to: &str) -> (String, Option<String>, String) {
    (id.to_owned(), from.map(str::to_owned), to.to_owned())
}

/// Three workloads, all `ok` for a while, then inside one settle window: one flips to
/// `alarm` and back (announced: nothing), one goes `alarm` then loses the lens
/// (announced: ok → removed), one goes `alarm` and stays (ok → alarm). The
/// daemon that recorded the flips is dropped inside the window and a new one
/// publishes: the decision survives a restart. The transitions table keeps
/// every change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flips_inside_the_window_collapse_and_a_restart_still_announces_what_held() {
    const SETTLE: Duration = Duration::from_secs(4);
    let moto = Moto::connect().await;
    let (bus, subscriber) = subscribed_bus(&moto).await;
    let sim = Simulator::new(REGION);
    let passing = || answer(&ALL_FOUR, &[], true);
    let [back, gone, stays] = ["settle-back", "settle-gone", "settle-stays"]
        .map(|name| sim.add_workload(workload(name, passing())).id);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let (first, workers) = build(&dir, &database_url, &server.url(), &moto, &bus, "4s").await;

    first.sweep_all().await;
    // The first states hold for a whole window, so they are announced.
    tokio::time::sleep(SETTLE + Duration::from_millis(500)).await;
    let flipped = Instant::now();
    for id in [&back, &gone, &stays] {
        flip_answer(&sim, id);
    }
    first.sweep_all().await;
    flip_answer(&sim, &back);
    sim.set_lenses(&gone, vec!["serverless".to_owned()])
        .unwrap();
    first.sweep_all().await;
    assert!(
        flipped.elapsed() < SETTLE,
        "the flips took {:?}, longer than the settle window: the machine is too slow for this test",
        flipped.elapsed()
    );
    // A transition followed by another is decided at once: the first states
    // held (announced), `tbd` and the flips undone inside the window did not
    // (collapsed). The last flips wait out their window.
    first.drain_outbox().await;
    let mut early = delivered(&moto, &subscriber).await;
    early.sort();
    let mut created = vec![
        change(&back, None, "ok"),
        change(&gone, None, "ok"),
        change(&stays, None, "ok"),
    ];
    created.sort();
    assert_eq!(early, created);
    let store = first.store.clone();
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        3,
        "the last transition of each workload waits"
    );
    first.stop_workers(workers).await;
    drop(first);

    // A restart: a new daemon on the same database decides once the window passed.
    tokio::time::sleep(SETTLE + Duration::from_secs(6)).await;
    let (second, _workers) = build(&dir, &database_url, &server.url(), &moto, &bus, "4s").await;
    second.drain_outbox().await;
    assert_eq!(second.store.outbox_backlog().await.unwrap(), 0);
    let mut got = delivered(&moto, &subscriber).await;
    got.sort();
    let mut want = vec![
        change(&gone, Some("ok"), "removed"),
        change(&stays, Some("ok"), "alarm"),
    ];
    want.sort();
    assert_eq!(got, want);

    // Every change is still recorded, and the outbox says which were collapsed.
    let transitions = second
        .store
        .list_transitions(&Default::default())
        .await
        .unwrap();
    let per_workload = |id: &str| transitions.iter().filter(|t| t.workload_id == id).count();
    assert_eq!(
        [
            per_workload(&back),
            per_workload(&gone),
            per_workload(&stays)
        ],
        [4, 4, 3]
    );
    let db = Db::connect(&database_url).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM outbox WHERE collapsed = 1")
            .await,
        Some(6)
    );
    assert_eq!(
        expected_announcements(&transitions, SETTLE).len(),
        want.len() + created.len(),
        "the oracle the crash loop uses agrees"
    );
    // A second drain finds nothing new to send.
    second.drain_outbox().await;
    assert_eq!(delivered(&moto, &subscriber).await, []);
    db.close().await;
    server.shutdown().await;
}

/// With `notify.settle` off (the default), every transition is sent at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_settle_every_transition_is_sent_at_once() {
    let moto = Moto::connect().await;
    let (bus, subscriber) = subscribed_bus(&moto).await;
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("settle-off", answer(&ALL_FOUR, &[], true)))
        .id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let (daemon, _workers) = build(&dir, &database_url, &server.url(), &moto, &bus, "0s").await;
    daemon.sweep_all().await;
    flip_answer(&sim, &id);
    daemon.sweep_all().await;
    flip_answer(&sim, &id);
    daemon.sweep_all().await;
    daemon.drain_outbox().await;
    let got = delivered(&moto, &subscriber).await;
    assert_eq!(
        got,
        [
            change(&id, None, "tbd"),
            change(&id, Some("tbd"), "ok"),
            change(&id, Some("ok"), "alarm"),
            change(&id, Some("alarm"), "ok"),
        ]
    );
    server.shutdown().await;
}

/// A wall clock set back an hour does not hold a settled notification for an
/// hour: the window is measured on the monotonic clock from when the
/// publisher first saw the row (which, stamped "in the future", gets no credit
/// for its age), so it is sent once the window and the grace have passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wall_clock_set_back_an_hour_does_not_hold_a_settled_notification() {
    let moto = Moto::connect().await;
    let (bus, subscriber) = subscribed_bus(&moto).await;
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("settle-clock", answer(&ALL_FOUR, &[], true)))
        .id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let (daemon, _workers) = build(&dir, &database_url, &server.url(), &moto, &bus, "1s").await;
    daemon.sweep_all().await;
    let mut publisher = daemon.publisher().unwrap();
    publisher.clock = Clock::shifted(-chrono::Duration::hours(1));
    let started = Instant::now();
    // The window (1 s) and the grace (5 s), with room for a slow machine.
    while daemon.store.outbox_backlog().await.unwrap() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the notification is still held {:?} later",
            started.elapsed()
        );
        publisher.publish_batch().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        delivered(&moto, &subscriber).await,
        [change(&id, None, "ok")],
        "tbd collapsed, ok announced"
    );
    server.shutdown().await;
}
