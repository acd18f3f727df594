//! `Exception Expiring` events (`notify.exception_expiry_warning`), with the real
//! binary against the simulator, moto's EventBridge and the test database: an
//! exception a control uses that expires within the window is announced once —
//! not again after a restart, nor by a second writer with no memory of it (a
//! one-shot `rel04d evaluate` on every database, a second daemon on Postgres) —
//! and once more when its expiry moves.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::common::db::Db;
use crate::common::moto::{Moto, details_of, unique};
use crate::common::process::{self, Proc, tail, wait_until};
use crate::common::*;
use rel04d_simulator::Simulator;

/// The `detail` of each `Exception Expiring` event among `messages`.
fn warnings(messages: &[aws_sdk_sqs::types::Message]) -> Vec<Value> {
    details_of(messages, "Exception Expiring")
}

fn config(workload_id: &str, expires: &str) -> String {
    format!(
        r#"
[notify]
exception_expiry_warning = "30d"

[[policies.settings]]
scope = "workload:{workload_id}"
idempotent = "Skip"
exception = true
expires = "{expires}"
reason = "moving to SQS"
ticket = "CHG-42"
owner = "team-shop"
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_exception_is_announced_once_per_expiry_across_restarts_and_writers() {
    let moto = Moto::connect().await;
    let run = unique("expiring");
    let subscriber = moto.queue_with_dlq(&run, 5).await;
    moto.bus_to_queue(
        &run,
        json!({"detail-type": ["Exception Expiring"]}),
        &subscriber.arn,
    )
    .await;
    let sim = Simulator::new(REGION);
    let workloads = add_all(
        &sim,
        vec![
            workload(&format!("{run}-excepted"), answer(&ALL_FOUR, &[], true)),
            workload(&format!("{run}-other"), answer(&ALL_FOUR, &[], true)),
        ],
    );
    let excepted = &workloads[0];
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let config_path = dir.path().join("rel04d.toml");
    let first_expiry = (Utc::now() + chrono::Duration::days(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(&config_path, config(&excepted.id, &first_expiry)).unwrap();
    let with_env = |mut command: std::process::Command| {
        command
            .env("REL04D_CONFIG", &config_path)
            .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &moto.url)
            .env("REL04D__NOTIFY__EVENT_BUS", &run)
            .env("REL04D__SCHEDULE__INTERVAL", "1s")
            .env("REL04D__SCHEDULE__JITTER", "0s");
        command
    };
    let start = |name: &str| {
        let mut command = with_env(process::daemon(&server.url(), &database_url, 1000));
        command.arg("run");
        Proc::spawn(command, &dir.path().join(format!("{name}.log")))
    };
    let db = Db::connect(&database_url).await;
    let published = "SELECT COUNT(*) FROM exception_warnings WHERE published_at IS NOT NULL";
    let recorded = "SELECT COUNT(*) FROM exception_warnings";
    // Two more complete sweeps than when asked.
    let two_sweeps = || async {
        let since = rel04d::store::timestamp(Utc::now() + chrono::Duration::milliseconds(1500));
        wait_until("two more sweeps", Duration::from_secs(30), || async {
            db.count(&format!(
                "SELECT COUNT(*) FROM sweeps WHERE completed_at > '{since}'"
            ))
            .await
            .unwrap_or(0)
                > 0
        })
        .await;
    };

    let mut daemon = start("first");
    wait_until("the warning published", Duration::from_secs(30), || async {
        db.count(published).await == Some(1)
    })
    .await;
    let events = warnings(&moto.drain(&subscriber.url, Duration::from_secs(3)).await);
    assert_eq!(
        events.len(),
        1,
        "{events:#?}\n{}",
        tail(&dir.path().join("first.log"))
    );
    let event = &events[0];
    assert_eq!(event["workload_arn"], excepted.arn.as_str());
    assert_eq!(
        event["setting"],
        format!("workload:{} idempotent", excepted.id)
    );
    assert_eq!(event["policies"], json!(["idempotent"]));
    assert_eq!(event["reason"], "moving to SQS");
    assert_eq!(event["ticket"], "CHG-42");
    assert_eq!(event["owner"], "team-shop");
    assert!(
        event["expires_at"]
            .as_str()
            .unwrap()
            .starts_with(&first_expiry[..19]),
        "{event}"
    );
    two_sweeps().await;
    assert!(daemon.terminate(Duration::from_secs(30)).await.success());

    // Restarted, with a second writer that has no memory of the warning: a
    // one-shot evaluation, and on Postgres a second daemon beside it.
    let mut daemon = start("restarted");
    let replica = std::env::var("REL04D_TEST_POSTGRES_URL")
        .is_ok()
        .then(|| start("replica"));
    let mut evaluate = with_env(process::daemon(&server.url(), &database_url, 1000));
    evaluate.args(["evaluate", "--workload", &excepted.id]);
    process::stdout_of(&mut evaluate);
    two_sweeps().await;
    two_sweeps().await;
    assert_eq!(db.count(recorded).await, Some(1), "no second warning");
    let events = warnings(&moto.drain(&subscriber.url, Duration::from_secs(3)).await);
    assert_eq!(events, Vec::<Value>::new(), "not announced again");
    if let Some(mut replica) = replica {
        assert!(replica.terminate(Duration::from_secs(30)).await.success());
    }
    assert!(daemon.terminate(Duration::from_secs(30)).await.success());

    // The expiry moved later: a new warning.
    let second_expiry = (Utc::now() + chrono::Duration::days(20))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(&config_path, config(&excepted.id, &second_expiry)).unwrap();
    let mut daemon = start("moved");
    wait_until(
        "the second warning published",
        Duration::from_secs(30),
        || async { db.count(published).await == Some(2) },
    )
    .await;
    let events = warnings(&moto.drain(&subscriber.url, Duration::from_secs(3)).await);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert!(
        events[0]["expires_at"]
            .as_str()
            .unwrap()
            .starts_with(&second_expiry[..19])
    );
    assert!(daemon.terminate(Duration::from_secs(30)).await.success());
    db.close().await;
    server.shutdown().await;
}
