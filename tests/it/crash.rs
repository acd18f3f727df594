//! The outbox survives a crash: SIGKILL after a transition commits and before it
//! is published, restart, and the notification is delivered exactly once. Also
//! checks that SIGTERM stops the daemon gracefully with exit code 0.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::moto::{Moto, notifications, unique};
use crate::common::process::{Proc, black_hole, rel04d, wait_until};
use crate::common::*;
use rel04d::filter::Filter;
use rel04d::store::Store;
use rel04d_simulator::Simulator;
use serde_json::json;

fn daemon(
    sim_url: &str,
    eventbridge_url: &str,
    database_url: &str,
    bus: &str,
) -> std::process::Command {
    let mut command = rel04d();
    command
        .arg("run")
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", sim_url)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", eventbridge_url)
        .env("REL04D__DATABASE__URL", database_url)
        .env("REL04D__HTTP__LISTEN", "127.0.0.1:0")
        .env("REL04D__SCHEDULE__INTERVAL", "1h")
        .env("REL04D__NOTIFY__EVENT_BUS", bus)
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_publish_publishes_exactly_once_after_restart() {
    let moto = Moto::connect().await;
    let bus = unique("rel04d-crash");
    let subscriber = moto.queue_with_dlq(&unique("crash-subscriber"), 5).await;
    moto.bus_to_queue(&bus, json!({"source": ["rel04d"]}), &subscriber.arn)
        .await;

    let sim = Simulator::new(REGION);
    let ok = sim.add_workload(workload("ledger", answer(&[IDEMPOTENT], &[], true)));
    let alarm = sim.add_workload(workload("reports", answer(&[], &[], true)));
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;

    let log = dir.path().join("rel04d.log");
    let mut first = Proc::spawn(
        daemon(&server.url(), &black_hole().await, &database_url, &bus),
        &log,
    );
    // Until the daemon has migrated the database, listing fails and counts as 0.
    let store = Store::connect(&database_url, 2).await.unwrap();
    wait_until(
        "four committed transitions",
        Duration::from_secs(30),
        || async {
            store
                .list_transitions(&Filter::default())
                .await
                .map(|t| t.len())
                .unwrap_or(0)
                == 4
        },
    )
    .await;
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        4,
        "committed but not published"
    );
    first.kill();

    let mut second = Proc::spawn(daemon(&server.url(), &moto.url, &database_url, &bus), &log);
    // The dead publisher's claim on the rows expires first (30 s).
    wait_until(
        "the outbox to drain after restart",
        Duration::from_secs(60),
        || async { store.outbox_backlog().await.unwrap() == 0 },
    )
    .await;
    let announced = notifications(&moto.drain(&subscriber.url, Duration::from_secs(5)).await);
    let mut per_transition: BTreeMap<i64, usize> = BTreeMap::new();
    for n in &announced {
        *per_transition
            .entry(n["transition_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    let transitions = store.list_transitions(&Filter::default()).await.unwrap();
    assert_eq!(transitions.len(), 4, "the restart's sweep changed nothing");
    let expected: BTreeMap<i64, usize> = transitions.iter().map(|t| (t.id, 1)).collect();
    assert_eq!(
        per_transition, expected,
        "each transition announced exactly once: {announced:?}"
    );
    assert_eq!(
        store
            .control_by_workload_id(&ok.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        "ok"
    );
    assert_eq!(
        store
            .control_by_workload_id(&alarm.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        "alarm"
    );

    // SIGTERM: graceful stop, exit 0.
    let exit = second.terminate(Duration::from_secs(30)).await;
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
    server.shutdown().await;
}
