//! Crash loop: the real binary is SIGKILLed 30 times at random moments (each
//! life 0.2–1.5 s, with a sweep every second) while answers change in the
//! simulator and CloudTrail-shaped events about them arrive on its SQS intake
//! queue, some of them malformed. Then one clean run, stopped with SIGTERM once
//! it has caught up, and the books are checked:
//!
//! - `transitions` holds every real state change exactly once: per workload a
//!   chain from NULL to `tbd`, each `from_state` the previous `to_state`, none
//!   from a state to itself; the final states are what the final answers imply;
//! - the outbox is fully delivered: every transition has its outbox row, none is
//!   left unpublished, and every `transition_id` reached a subscriber of the
//!   notification bus at least once (duplicates are allowed: at-least-once);
//! - no SQS message is lost: every event sent is in `processed_events` or, with
//!   its body, in the dead-letter queue, and every malformed one is in the DLQ.
//!
//! In settle mode (`notify.settle`, a second test) the answers flap faster than the
//! window and the books are checked against the settle rule instead: the set of
//! transitions announced, each with its from_state, is exactly the one
//! [`expected_announcements`] derives from the recorded transitions.
//!
//! A killed process's outbox claim holds for 30 s (and, on Postgres, its claim
//! on a control it was evaluating for 120 s), so the clean run waits for those
//! to expire. Needs moto (`REL04D_TEST_MOTO_URL`); runs on SQLite or Postgres.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common::db::{Db, valid_chains};
use crate::common::moto::{Moto, notifications, unique};
use crate::common::process::{self, Proc, tail};
use crate::common::*;
use crate::settle::expected_announcements;
use rel04d::events::sample::update_answer_event;
use rel04d::filter::Filter;
use rel04d::store::Store;
use rel04d_simulator::Simulator;
use serde_json::json;

const WORKLOADS: usize = 20;
const KILLS: usize = 30;
/// Receives before SQS dead-letters a message: enough that a valid event is
/// handled despite a few receivers dying with it, few enough that malformed
/// ones reach the DLQ within the clean run (visibility timeout 1 s).
const MAX_RECEIVES: u32 = 10;

struct Setup {
    sim_url: String,
    moto_url: String,
    database_url: String,
    queue_url: String,
    bus: String,
    /// `notify.settle`; zero: off.
    settle: Duration,
}

fn daemon(setup: &Setup) -> std::process::Command {
    let mut command = process::daemon(&setup.sim_url, &setup.database_url, 1000);
    command
        .arg("run")
        .env("AWS_ENDPOINT_URL_SQS", &setup.moto_url)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &setup.moto_url)
        .env("REL04D__EVENTS__SQS__QUEUE_URL", &setup.queue_url)
        .env("REL04D__NOTIFY__EVENT_BUS", &setup.bus)
        .env(
            "REL04D__NOTIFY__SETTLE",
            humantime::format_duration(setup.settle).to_string(),
        )
        .env("REL04D__SCHEDULE__INTERVAL", "1s")
        .env("REL04D__SCHEDULE__JITTER", "0s");
    command
}

/// What the changer did: event ids sent, malformed bodies sent, answer changes.
#[derive(Default)]
struct Sent {
    event_ids: Vec<String>,
    malformed: Vec<String>,
    changes: usize,
}

/// Toggles answers and announces most changes with an UpdateAnswer event (the
/// rest only a sweep finds); every tenth message is malformed.
async fn change_answers(
    sim: Simulator,
    ids: Vec<String>,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    running: Arc<AtomicBool>,
) -> Sent {
    let mut sent = Sent::default();
    let mut n = 0usize;
    while running.load(Ordering::Relaxed) {
        n += 1;
        let id = &ids[rand::random_range(0..ids.len())];
        let selected = if rand::random_bool(0.5) {
            &ALL_FOUR[..]
        } else {
            &ALL_FOUR[..2]
        };
        sim.set_answer(id, answer(selected, &[], true)).unwrap();
        sent.changes += 1;
        let body = if n.is_multiple_of(10) {
            let body = if n.is_multiple_of(20) {
                format!("{{\"truncated\": {n}")
            } else {
                json!({"source": "aws.wellarchitected", "n": n}).to_string()
            };
            sent.malformed.push(body.clone());
            Some(body)
        } else if rand::random_bool(0.7) {
            let event_id = format!("crash-loop-{n:05}");
            sent.event_ids.push(event_id.clone());
            Some(update_answer_event(&event_id, "111122223333", REGION, id).to_string())
        } else {
            None
        };
        if let Some(body) = body {
            sqs.send_message()
                .queue_url(&queue_url)
                .message_body(body)
                .send()
                .await
                .expect("send to the intake queue");
        }
        tokio::time::sleep(Duration::from_millis(rand::random_range(60..180))).await;
    }
    sent
}

/// The body of every message drained from `url` so far, and new ones.
async fn drain_into(moto: &Moto, url: &str, bodies: &mut Vec<String>) {
    for message in moto.drain(url, Duration::from_millis(1500)).await {
        bodies.push(message.body().unwrap_or_default().to_owned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_kills_lose_nothing_and_record_every_change_exactly_once() {
    crash_loop(Duration::ZERO).await;
}

/// Settle mode: the changer flips answers every 60–180 ms, so most flips fall
/// inside the 1 s window and collapse; nothing that held is lost, nothing
/// collapsed is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_kills_in_settle_mode_announce_exactly_what_held() {
    crash_loop(Duration::from_secs(1)).await;
}

async fn crash_loop(settle: Duration) {
    let started = Instant::now();
    let moto = Moto::connect().await;
    let intake = moto
        .queue_with_dlq(&unique("crash-loop-intake"), MAX_RECEIVES)
        .await;
    let bus = unique("crash-loop-out");
    let subscriber = moto.queue_with_dlq(&unique("crash-loop-sub"), 5).await;
    moto.bus_to_queue(
        &bus,
        json!({"source": ["rel04d"], "detail-type": ["Control State Changed"]}),
        &subscriber.arn,
    )
    .await;

    let sim = Simulator::new(REGION);
    let ids: Vec<String> = (0..WORKLOADS)
        .map(|i| {
            let selected = if i % 2 == 0 { &ALL_FOUR[..] } else { &[][..] };
            sim.add_workload(workload(
                &format!("crash-{i:02}"),
                answer(selected, &[], true),
            ))
            .id
        })
        .collect();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let setup = Setup {
        sim_url: server.url(),
        moto_url: moto.url.clone(),
        database_url: fresh_database_url(&dir).await,
        queue_url: intake.url.clone(),
        bus: bus.clone(),
        settle,
    };
    let log = dir.path().join("rel04d.log");

    let running = Arc::new(AtomicBool::new(true));
    let changer = tokio::spawn(change_answers(
        sim.clone(),
        ids.clone(),
        moto.sqs.clone(),
        intake.url.clone(),
        running.clone(),
    ));
    let mut early_exits = Vec::new();
    for kill in 0..KILLS {
        let mut process = Proc::spawn(daemon(&setup), &log);
        let life = Duration::from_millis(rand::random_range(200..=1500));
        tokio::time::sleep(life).await;
        if let Some(status) = process.exited() {
            early_exits.push(format!("life {kill}: exited by itself with {status}"));
        }
        process.kill();
    }
    running.store(false, Ordering::Relaxed);
    let mut sent = changer.await.unwrap();
    assert!(early_exits.is_empty(), "{early_exits:?}\n{}", tail(&log));
    // Changes while no daemon runs: the clean run must find them, two through
    // their events and two through its sweep.
    for (i, id) in ids.iter().take(4).enumerate() {
        flip_answer(&sim, id);
        sent.changes += 1;
        if i < 2 {
            let event_id = format!("crash-loop-offline-{i}");
            let body = update_answer_event(&event_id, "111122223333", REGION, id).to_string();
            moto.sqs
                .send_message()
                .queue_url(&intake.url)
                .message_body(body)
                .send()
                .await
                .unwrap();
            sent.event_ids.push(event_id);
        }
    }

    let store = Store::connect(&setup.database_url, 2)
        .await
        .expect("the killed daemons created the database");
    let recorded_under_kills = store
        .list_transitions(&Filter::parse("limit:100000").unwrap())
        .await
        .unwrap()
        .len();
    // The four changed while nothing ran, whose recorded state is now wrong.
    let mut must_change = 0;
    for id in ids.iter().take(4) {
        let recorded = store.control_by_workload_id(id).await.unwrap();
        let expected = expected_state(&sim.workload(id).unwrap().answer);
        if recorded.map(|c| c.state.as_str()) != Some(expected) {
            must_change += 1;
        }
    }
    let db = Db::connect(&setup.database_url).await;

    // The clean run: catches up, drains the outbox (after dead claims expire),
    // handles or dead-letters every message; then SIGTERM.
    let clean_started = Instant::now();
    let mut process = Proc::spawn(daemon(&setup), &log);
    let mut dead_lettered = Vec::new();
    // Dead processes' claims (controls: 30 s, outbox: 30 s) expire within this.
    let catch_up = Duration::from_secs(90);
    let deadline = Instant::now() + catch_up;
    let mut waiting_for: Vec<String>;
    loop {
        waiting_for = Vec::new();
        if let Some(status) = process.exited() {
            panic!("the clean run exited with {status}\n{}", tail(&log));
        }
        let controls = store.list_controls(&Filter::default()).await.unwrap();
        let states: BTreeMap<&str, &str> = controls
            .iter()
            .map(|c| (c.workload_id.as_str(), c.state.as_str()))
            .collect();
        let stale = ids
            .iter()
            .filter(|id| {
                states.get(id.as_str()).copied()
                    != Some(expected_state(&sim.workload(id).unwrap().answer))
            })
            .count();
        if stale > 0 {
            waiting_for.push(format!("{stale} controls to catch up"));
        }
        let backlog = store.outbox_backlog().await.unwrap();
        if backlog > 0 {
            waiting_for.push(format!("{backlog} unpublished notifications"));
        }
        drain_into(&moto, &intake.dlq_url, &mut dead_lettered).await;
        let processed: BTreeSet<String> = db
            .strings("SELECT event_id FROM processed_events")
            .await
            .into_iter()
            .collect();
        let dead_ids: BTreeSet<String> = dead_lettered
            .iter()
            .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect();
        let unaccounted = sent
            .event_ids
            .iter()
            .filter(|id| !processed.contains(*id) && !dead_ids.contains(*id))
            .count();
        if unaccounted > 0 {
            waiting_for.push(format!("{unaccounted} events neither processed nor dead"));
        }
        let malformed_alive = sent
            .malformed
            .iter()
            .filter(|b| !dead_lettered.contains(b))
            .count();
        if malformed_alive > 0 {
            waiting_for.push(format!(
                "{malformed_alive} malformed messages to reach the DLQ"
            ));
        }
        if waiting_for.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after {catch_up:?}, still waiting for {waiting_for:?}\n{}",
            tail(&log)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let caught_up = clean_started.elapsed();
    let status = process.terminate(Duration::from_secs(60)).await;
    assert!(
        status.success(),
        "SIGTERM exits 0, got {status}\n{}",
        tail(&log)
    );

    // Every real state change exactly once, ending where the answers say.
    let transitions = store
        .list_transitions(&Filter::parse("limit:100000").unwrap())
        .await
        .unwrap();
    let chains = valid_chains(&transitions);
    assert_eq!(chains.len(), WORKLOADS, "every workload has its control");
    for id in &ids {
        let control = store.control_by_workload_id(id).await.unwrap().unwrap();
        let expected = expected_state(&sim.workload(id).unwrap().answer);
        assert_eq!(control.state, expected, "{id}");
        assert_eq!(
            chains[id].last().unwrap().1,
            expected,
            "{id}: {:?}",
            chains[id]
        );
    }
    for trigger in ["sweep", "event"] {
        assert!(
            transitions.iter().any(|t| t.trigger == trigger),
            "some changes were found by a {trigger}"
        );
    }
    assert!(
        recorded_under_kills > WORKLOADS * 2,
        "the killed daemons made progress ({recorded_under_kills} transitions): the crashes hit real work"
    );
    assert!(
        transitions.len() >= recorded_under_kills + must_change,
        "the clean run recorded the {must_change} changes made while nothing ran"
    );

    // The outbox: a row for every transition (same transaction), all published,
    // and every transition announced at least once.
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM transitions t LEFT JOIN outbox o ON o.transition_id = t.id \
             WHERE o.id IS NULL"
        )
        .await,
        Some(0),
        "every transition has its outbox row"
    );
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    // Without settle every transition is announced as recorded; with it, what
    // the rule derives from the recorded transitions.
    let wanted_from: BTreeMap<i64, Option<String>> = if settle.is_zero() {
        transitions
            .iter()
            .map(|t| (t.id, t.from_state.clone()))
            .collect()
    } else {
        expected_announcements(&transitions, settle)
    };
    let wanted: BTreeSet<i64> = wanted_from.keys().copied().collect();
    let mut announced: BTreeMap<i64, usize> = BTreeMap::new();
    let mut wrong_from = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    while !wanted.iter().all(|id| announced.contains_key(id)) && Instant::now() < deadline {
        for n in notifications(&moto.drain(&subscriber.url, Duration::from_secs(2)).await) {
            let id = n["transition_id"].as_i64().unwrap();
            let from = n["from_state"].as_str().map(str::to_owned);
            if wanted_from.get(&id).is_some_and(|want| *want != from) {
                wrong_from.push((id, from));
            }
            *announced.entry(id).or_default() += 1;
        }
    }
    assert!(
        wrong_from.is_empty(),
        "announced from another state than the rule says: {wrong_from:?}"
    );
    let missing: Vec<&i64> = wanted
        .iter()
        .filter(|id| !announced.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} transitions never announced: {missing:?}",
        missing.len(),
        wanted.len()
    );
    let unknown: Vec<&i64> = announced.keys().filter(|id| !wanted.contains(id)).collect();
    assert!(
        unknown.is_empty(),
        "announced but not recorded, or collapsed by the settle rule: {unknown:?}"
    );

    let valid_dead = dead_lettered
        .iter()
        .filter(|b| !sent.malformed.contains(b))
        .count();
    eprintln!(
        "crash loop (settle {settle:?}): {KILLS} kills, {} answer changes, {} events + {} malformed sent, \
         {} transitions ({recorded_under_kills} under kills), {} announcements \
         ({} duplicates), {valid_dead} valid events dead-lettered, clean run caught up \
         in {caught_up:.1?}, total {:.1?}",
        sent.changes,
        sent.event_ids.len(),
        sent.malformed.len(),
        transitions.len(),
        announced.values().sum::<usize>(),
        announced.values().sum::<usize>() - announced.len(),
        started.elapsed()
    );
    db.close().await;
    server.shutdown().await;
}
