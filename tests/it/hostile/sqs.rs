//! The SQS consumer on a quiet queue: long polls that come back empty are
//! answers, not timeouts, and an event after the quiet is handled at once.

use std::time::{Duration, Instant};

use rel04d::events::sample::update_answer_event;
use rel04d_simulator::Simulator;

use crate::common::db::Db;
use crate::common::moto::{Moto, unique};
use crate::common::process::{Proc, rel04d, tail, wait_until};
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_long_polls_are_quiet_and_an_event_after_them_is_handled_at_once() {
    let moto = Moto::connect().await;
    let queue = moto.queue_with_dlq(&unique("quiet"), 3).await;
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("quiet", answer(&ALL_FOUR, &[], true)))
        .id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");

    let mut command = rel04d();
    command
        .arg("run")
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", server.url())
        .env("AWS_ENDPOINT_URL_SQS", &moto.url)
        .env("REL04D__DATABASE__URL", &database_url)
        .env("REL04D__EVENTS__SQS__QUEUE_URL", &queue.url)
        // Polls shorter than the default keep the test short; a call timeout below
        // the wait is what made every empty poll time out before.
        .env("REL04D__EVENTS__SQS__WAIT_TIME", "2s")
        .env("REL04D__AWS__CALL_TIMEOUT", "1s")
        .env("REL04D__HTTP__LISTEN", "127.0.0.1:0")
        .env("REL04D__SCHEDULE__INTERVAL", "1h")
        .env("REL04D__AWS__REGIONS", REGION)
        .env("REL04D__LOG__LEVEL", "info")
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True");
    let mut daemon = Proc::spawn(command, &log);
    let db = Db::connect(&database_url).await;
    wait_until("the first sweep", Duration::from_secs(30), || async {
        db.count(&format!(
            "SELECT COUNT(*) FROM controls WHERE workload_id = '{id}' AND state = 'ok'"
        ))
        .await
            == Some(1)
    })
    .await;

    // Four empty polls.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    let loud: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("\"level\":\"WARN\"") || l.contains("\"level\":\"ERROR\""))
        .collect();
    assert!(
        loud.is_empty(),
        "an idle consumer logged:\n{}",
        loud.join("\n")
    );

    sim.set_answer(&id, answer(&[IDENTIFY], &[], true)).unwrap();
    let event = update_answer_event(&unique("after-quiet"), "111122223333", REGION, &id);
    let sent = Instant::now();
    moto.sqs
        .send_message()
        .queue_url(&queue.url)
        .message_body(event.to_string())
        .send()
        .await
        .unwrap();
    // Long polling answers as soon as a message arrives: well within a poll's wait,
    // and far from the ~30 s a backed-off consumer took.
    wait_until("the event's evaluation", Duration::from_secs(5), || async {
        db.count(&format!(
            "SELECT COUNT(*) FROM controls WHERE workload_id = '{id}' AND state = 'alarm'"
        ))
        .await
            == Some(1)
    })
    .await;
    eprintln!("event handled {:?} after it was sent", sent.elapsed());
    let status = daemon.terminate(Duration::from_secs(30)).await;
    assert!(status.success(), "{}", tail(&log));
    db.close().await;
}
