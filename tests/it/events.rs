//! Events in and out through moto: a CloudTrail-shaped event on an EventBridge bus
//! reaches rel04d through a real rule and queue, and `Control State Changed`
//! events reach a second queue subscribed to rel04d's bus.

use std::time::Duration;

use crate::common::db::Db;
use crate::common::moto::{Moto, Queue, notifications, unique};
use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d::events::sample::update_answer_event;
use rel04d_simulator::{Simulator, WorkloadInfo};
use serde_json::json;

struct Plumbing {
    moto: Moto,
    in_bus: String,
    intake: Queue,
    out_bus: String,
    out_queue: Queue,
}

/// Buses, rules and queues as deploy/ creates them, but on moto.
async fn plumbing() -> Plumbing {
    let moto = Moto::connect().await;
    let in_bus = unique("wa-events");
    let intake = moto.queue_with_dlq(&unique("rel04d-intake"), 2).await;
    moto.bus_to_queue(
        &in_bus,
        json!({"source": ["aws.wellarchitected"], "detail-type": ["AWS API Call via CloudTrail"]}),
        &intake.arn,
    )
    .await;
    let out_bus = unique("rel04d-out");
    let out_queue = moto.queue_with_dlq(&unique("subscriber"), 5).await;
    moto.bus_to_queue(
        &out_bus,
        json!({"source": ["rel04d"], "detail-type": ["Control State Changed"]}),
        &out_queue.arn,
    )
    .await;
    Plumbing {
        moto,
        in_bus,
        intake,
        out_bus,
        out_queue,
    }
}

/// The plumbing and a daemon on it (hourly sweeps, SQS intake, notifications on)
/// watching one workload whose answer passes, once its first sweep has landed it
/// in `ok`.
async fn one_workload_daemon(name: &str) -> (Plumbing, RunningDaemon, WorkloadInfo) {
    let p = plumbing().await;
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload(name, answer(&ALL_FOUR, &[], true)));
    let config = format!(
        "[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n[events.sqs]\nqueue_url = \"{}\"\n[notify]\nevent_bus = \"{}\"\nsource = \"rel04d\"\n[policies.global]\n{ALL_TRUE}\n",
        p.intake.url, p.out_bus
    );
    let endpoints = Endpoints {
        sqs: Some(p.moto.url.clone()),
        eventbridge: Some(p.moto.url.clone()),
        ..Endpoints::default()
    };
    let d = RunningDaemon::start(sim, &config, endpoints).await;
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        d.state_of(&w.id).await.as_deref() == Some("ok")
    })
    .await;
    (p, d, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_answer_event_changes_the_state_without_a_sweep_and_is_announced() {
    let (p, d, w) = one_workload_daemon("payments").await;

    d.sim
        .set_answer(&w.id, answer(&[IDENTIFY, LOOSELY], &[], true))
        .unwrap();
    let event = update_answer_event(
        "ignored-eventbridge-assigns-ids",
        "111122223333",
        REGION,
        &w.id,
    );
    p.moto.put_cloudtrail_event(&p.in_bus, &event).await;

    d.wait_for(
        "the event's transition",
        Duration::from_secs(20),
        || async { d.state_of(&w.id).await.as_deref() == Some("alarm") },
    )
    .await;
    let newest = d.transitions().await.remove(0);
    assert_eq!(newest.trigger, "event");
    let event_id = newest.event_id.clone().expect("the event id is recorded");
    assert!(!event_id.is_empty());
    assert_eq!(
        d.daemon.metrics.counter(
            "rel04d_events_total",
            &[("intake", "sqs"), ("outcome", "evaluated")]
        ),
        1.0
    );

    let messages = p.moto.drain(&p.out_queue.url, Duration::from_secs(6)).await;
    let announced = notifications(&messages);
    let ours: Vec<_> = announced
        .iter()
        .filter(|n| n["transition_id"] == newest.id)
        .collect();
    assert_eq!(ours.len(), 1, "{announced:?}");
    let detail = ours[0];
    assert_eq!(detail["control_type"], "rel04");
    assert_eq!(detail["workload_id"], w.id.as_str());
    assert_eq!(detail["workload_arn"], w.arn.as_str());
    assert_eq!(detail["account_id"], "111122223333");
    assert_eq!(detail["region"], REGION);
    assert_eq!(detail["from_state"], "ok");
    assert_eq!(detail["to_state"], "alarm");
    assert_eq!(
        detail["reason"],
        "Not selected: Make mutating operations idempotent, Do constant work"
    );
    assert_eq!(detail["event_id"], event_id.as_str());
    assert!(detail["details"]["best_practices"].is_array());
    assert!(detail["occurred_at"].as_str().unwrap().ends_with('Z'));
    // The first sweep's transitions were announced too: tbd and ok.
    assert_eq!(announced.len(), 3, "{announced:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_delivered_three_times_gives_one_transition_and_one_notification() {
    let (p, d, w) = one_workload_daemon("orders").await;
    let before = d.transitions().await.len();

    d.sim
        .set_answer(&w.id, answer(&[IDENTIFY], &[], true))
        .unwrap();
    let body = update_answer_event(
        "5d9a0c7e-dup-4b0e-9a1c-000000000001",
        "111122223333",
        REGION,
        &w.id,
    )
    .to_string();
    for _ in 0..3 {
        p.moto
            .sqs
            .send_message()
            .queue_url(&p.intake.url)
            .message_body(&body)
            .send()
            .await
            .unwrap();
    }
    d.wait_for(
        "three deliveries handled",
        Duration::from_secs(20),
        || async {
            let evaluated = d.daemon.metrics.counter(
                "rel04d_events_total",
                &[("intake", "sqs"), ("outcome", "evaluated")],
            );
            let duplicate = d.daemon.metrics.counter(
                "rel04d_events_total",
                &[("intake", "sqs"), ("outcome", "duplicate")],
            );
            evaluated + duplicate >= 3.0
        },
    )
    .await;
    let transitions = d.transitions().await;
    assert_eq!(transitions.len(), before + 1);
    assert_eq!(
        transitions[0].event_id.as_deref(),
        Some("5d9a0c7e-dup-4b0e-9a1c-000000000001")
    );

    let announced = notifications(&p.moto.drain(&p.out_queue.url, Duration::from_secs(6)).await);
    let about_event: Vec<_> = announced
        .iter()
        .filter(|n| n["event_id"] == "5d9a0c7e-dup-4b0e-9a1c-000000000001")
        .collect();
    assert_eq!(about_event.len(), 1, "{announced:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unknown_and_irrelevant_events_change_nothing_and_malformed_ones_are_dead_lettered()
 {
    let (p, d, w) = one_workload_daemon("search").await;
    let before = d.transitions().await.len();

    let unknown = update_answer_event(
        "evt-unknown",
        "111122223333",
        REGION,
        "ffffffffffffffffffffffffffffffff",
    )
    .to_string();
    let mut irrelevant = update_answer_event("evt-irrelevant", "111122223333", REGION, &w.id);
    irrelevant["detail"]["eventName"] = json!("CreateMilestone");
    for body in [
        "{this is not json",
        &unknown,
        &irrelevant.to_string(),
        r#"{"id": "x"}"#,
    ] {
        p.moto
            .sqs
            .send_message()
            .queue_url(&p.intake.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let dead = p
        .moto
        .drain(&p.intake.dlq_url, Duration::from_secs(12))
        .await;
    let mut dead_bodies: Vec<&str> = dead.iter().filter_map(|m| m.body()).collect();
    dead_bodies.sort();
    assert_eq!(
        dead_bodies,
        ["{\"id\": \"x\"}", "{this is not json"],
        "only malformed messages are dead-lettered"
    );

    let metric = |outcome| {
        d.daemon.metrics.counter(
            "rel04d_events_total",
            &[("intake", "sqs"), ("outcome", outcome)],
        )
    };
    assert!(
        metric("malformed") >= 4.0,
        "each malformed message was seen on every receive"
    );
    assert_eq!(metric("irrelevant"), 1.0);
    assert_eq!(
        metric("evaluated"),
        1.0,
        "the unknown workload was looked up once"
    );
    assert_eq!(d.transitions().await.len(), before);
    assert_eq!(d.state_of(&w.id).await.as_deref(), Some("ok"));
    assert_eq!(d.state_of("ffffffffffffffffffffffffffffffff").await, None);

    let health = reqwest::get(format!("http://{}/healthz", d.http))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the daemon is still running");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_events_for_one_workload_is_coalesced() {
    let (p, d, w) = one_workload_daemon("checkout").await;
    d.sim.reset_calls();

    let bodies: Vec<String> = (0..20)
        .map(|i| {
            update_answer_event(&format!("burst-{i}"), "111122223333", REGION, &w.id).to_string()
        })
        .collect();
    for chunk in bodies.chunks(10) {
        send_batch(&p, chunk).await;
    }
    d.wait_for("twenty events handled", Duration::from_secs(20), || async {
        d.daemon.metrics.counter(
            "rel04d_events_total",
            &[("intake", "sqs"), ("outcome", "evaluated")],
        ) >= 20.0
    })
    .await;
    let reads = d.sim.calls().operation("GetAnswer").total;
    assert!(
        reads < 20,
        "20 events for one workload took {reads} evaluations; bursts must coalesce"
    );
    d.stop().await;
}

/// Sends up to ten bodies to the intake queue in one `SendMessageBatch`.
async fn send_batch(p: &Plumbing, bodies: &[String]) {
    let entries = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    p.moto
        .sqs
        .send_message_batch()
        .queue_url(&p.intake.url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
}

/// A received batch is finished together: its evaluated events' ids are
/// remembered in one statement (one `received_at` for the batch, not one
/// commit per event) and its messages are deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_batch_is_remembered_in_one_statement_and_deleted() {
    let (p, d, _) = one_workload_daemon("ledger").await;
    let workloads: Vec<WorkloadInfo> = (0..10)
        .map(|i| {
            d.sim.add_workload(workload(
                &format!("batch-{i}"),
                answer(&ALL_FOUR, &[], true),
            ))
        })
        .collect();
    let bodies: Vec<String> = workloads
        .iter()
        .enumerate()
        .map(|(i, w)| {
            update_answer_event(&format!("batch-{i}"), "111122223333", REGION, &w.id).to_string()
        })
        .collect();
    send_batch(&p, &bodies).await;
    let db = Db::connect(&d.database_url).await;
    let handled = "SELECT COUNT(*) FROM processed_events WHERE event_id LIKE 'batch-%'";
    d.wait_for("ten events remembered", Duration::from_secs(20), || async {
        db.count(handled).await == Some(10)
    })
    .await;
    let commits = db
        .count(
            "SELECT COUNT(DISTINCT received_at) FROM processed_events WHERE event_id LIKE 'batch-%'",
        )
        .await
        .unwrap();
    assert!(
        commits < 10,
        "ten events received together were remembered in {commits} statements"
    );
    d.wait_for("every message deleted", Duration::from_secs(10), || async {
        let attributes = p
            .moto
            .sqs
            .get_queue_attributes()
            .queue_url(&p.intake.url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let count = |name: aws_sdk_sqs::types::QueueAttributeName| {
            attributes
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|n| n.parse::<i64>().ok())
        };
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages) == Some(0)
            && count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == Some(0)
    })
    .await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_published_when_nothing_changes() {
    let (p, d, w) = one_workload_daemon("identity").await;
    let first = notifications(&p.moto.drain(&p.out_queue.url, Duration::from_secs(4)).await);
    assert_eq!(first.len(), 2, "tbd and ok");

    d.daemon.sweep_all().await;
    let body = update_answer_event("no-change", "111122223333", REGION, &w.id).to_string();
    p.moto
        .sqs
        .send_message()
        .queue_url(&p.intake.url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    d.wait_for("the event", Duration::from_secs(20), || async {
        d.daemon.metrics.counter(
            "rel04d_events_total",
            &[("intake", "sqs"), ("outcome", "evaluated")],
        ) >= 1.0
    })
    .await;
    let later = notifications(&p.moto.drain(&p.out_queue.url, Duration::from_secs(4)).await);
    assert!(later.is_empty(), "{later:?}");
    assert_eq!(d.daemon.store.outbox_backlog().await.unwrap(), 0);
    d.stop().await;
}
