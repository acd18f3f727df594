//! Flapping the Tool's answer did not cause, in the real binary: a calculated
//! policy that reads its control's own state and answers the opposite flips
//! the control on every sweep while the simulator's answer stays the same. The
//! daemon logs a WARN naming the workload and "flapping", counts it in
//! `rel04d_flapping_controls_total`, and stops announcing the control.

use std::time::Duration;

use serde_json::Value;

use crate::common::db::Db;
use crate::common::moto::{Moto, notifications};
use crate::common::process::{self, Proc, http_address, tail, wait_until};
use crate::common::*;
use crate::settle::subscribed_bus;
use rel04d_simulator::Simulator;

/// The WARN lines of a JSON log that mention flapping.
fn flapping_warnings(log: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| {
            l["level"] == "WARN"
                && l["fields"]["message"]
                    .as_str()
                    .or(l["message"].as_str())
                    .is_some_and(|m| m.contains("flapping"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_reading_its_own_state_is_flagged_as_flapping_and_goes_quiet() {
    let moto = Moto::connect().await;
    let (bus, subscriber) = subscribed_bus(&moto).await;
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("flapping", answer(&ALL_FOUR, &[], true)))
        .id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    // Ok makes constant_work False (the selected practice then fails: alarm);
    // anything else makes it True (ok).
    let config = format!(
        "[policies.global]\n\
         constant_work = {{ template_input = '{{ controls(filter: \"workload:{id}\") {{ items {{ state }} }} }}', \
         template = '{{% if $.controls.items[0].state == \"ok\" %}}False{{% else %}}True{{% endif %}}' }}\n\
         [notify]\nflapping_transitions = 4\nflapping_window = \"1m\"\n"
    );
    let config_path = dir.path().join("rel04d.toml");
    std::fs::write(&config_path, config).unwrap();
    let mut command = process::daemon(&server.url(), &database_url, 1000);
    command
        .env_remove("REL04D__POLICIES__GLOBAL__CONSTANT_WORK")
        .args(["--config", config_path.to_str().unwrap(), "run"])
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &moto.url)
        .env("REL04D__NOTIFY__EVENT_BUS", &bus)
        .env("REL04D__SCHEDULE__INTERVAL", "300ms")
        .env("REL04D__SCHEDULE__JITTER", "0s");
    let log = dir.path().join("daemon.log");
    let daemon = Proc::spawn(command, &log);
    let http = http_address(&log, Duration::from_secs(20)).await;
    let db = Db::connect(&database_url).await;

    wait_until("a flapping WARN", Duration::from_secs(30), || {
        std::future::ready(!flapping_warnings(&log).is_empty())
    })
    .await;
    let warnings = flapping_warnings(&log);
    assert_eq!(warnings.len(), 1, "one WARN per episode: {warnings:?}");
    let warning = warnings[0].to_string();
    assert!(
        warning.contains(&id),
        "the WARN names the workload: {warning}"
    );
    let flipped_by_then = db.count("SELECT COUNT(*) FROM transitions").await.unwrap();

    // The control keeps flipping; none of it is announced any more.
    wait_until("more flips", Duration::from_secs(30), || async {
        db.count("SELECT COUNT(*) FROM transitions").await >= Some(flipped_by_then + 6)
    })
    .await;
    let sent_while_flapping =
        notifications(&moto.drain(&subscriber.url, Duration::from_secs(2)).await).len();
    assert!(
        (2..=5).contains(&sent_while_flapping),
        "only the changes before flapping was noticed are sent: {sent_while_flapping}\n{}",
        tail(&log)
    );
    wait_until("yet more flips", Duration::from_secs(30), || async {
        db.count("SELECT COUNT(*) FROM transitions").await >= Some(flipped_by_then + 12)
    })
    .await;
    let sent_later = notifications(&moto.drain(&subscriber.url, Duration::from_secs(2)).await);
    assert_eq!(sent_later, Vec::<Value>::new(), "flips go unannounced");
    let collapsed = db
        .count("SELECT COUNT(*) FROM outbox WHERE collapsed = 1")
        .await
        .unwrap();
    assert!(collapsed >= 12, "{collapsed} notifications collapsed");
    assert_eq!(flapping_warnings(&log).len(), 1, "still one episode");

    let metrics = process::metrics(&http).await;
    assert!(
        metrics.contains("rel04d_flapping_controls_total 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("flapping"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    db.close().await;
    drop(daemon);
    server.shutdown().await;
}
