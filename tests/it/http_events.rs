//! `POST /events` for EventBridge API destinations, and the operational endpoints.

use std::time::Duration;

use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d::events::sample::update_answer_event;
use rel04d_simulator::Simulator;

const TOKEN: &str = "s3cret-token-for-tests-0123456789";

async fn daemon_with_token(token: Option<&str>) -> (RunningDaemon, String) {
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload("payments", answer(&ALL_FOUR, &[], true)));
    let token_line = token
        .map(|t| format!("[http]\nevents_token = \"{t}\"\n"))
        .unwrap_or_default();
    let config = format!(
        "{token_line}[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n[policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n"
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        d.state_of(&w.id).await.as_deref() == Some("ok")
    })
    .await;
    (d, w.id)
}

async fn post(d: &RunningDaemon, token: Option<&str>, body: String) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/events", d.http))
        .body(body);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_events_are_authenticated_validated_stored_and_evaluated() {
    let (d, id) = daemon_with_token(Some(TOKEN)).await;
    let event = update_answer_event("pushed-1", "111122223333", REGION, &id).to_string();

    let (status, body) = post(&d, None, event.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("missing or wrong bearer token"))
    );
    let (status, _) = post(&d, Some("s3cret-token-for-tests-012345678X"), event.clone()).await;
    assert_eq!(status, 401);

    let (status, body) = post(&d, Some(TOKEN), "{not json".into()).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed event: not JSON"),
        "{body}"
    );

    let (status, _) = post(&d, Some(TOKEN), "x".repeat(300 * 1024)).await;
    assert_eq!(status, 413, "bodies over 256 KiB are refused");

    let mut irrelevant: serde_json::Value = serde_json::from_str(&event).unwrap();
    irrelevant["detail"]["eventName"] = "ListWorkloads".into();
    let (status, body) = post(&d, Some(TOKEN), irrelevant.to_string()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ignored")));

    d.sim
        .set_answer(&id, answer(&[IDENTIFY], &[], true))
        .unwrap();
    let (status, body) = post(&d, Some(TOKEN), event.clone()).await;
    assert_eq!(
        (status, body["status"].as_str(), body["id"].as_str()),
        (202, Some("accepted"), Some("pushed-1"))
    );
    d.wait_for(
        "the pushed event's evaluation",
        Duration::from_secs(10),
        || async { d.state_of(&id).await.as_deref() == Some("alarm") },
    )
    .await;
    let newest = d.transitions().await.remove(0);
    assert_eq!(
        (newest.trigger.as_str(), newest.event_id.as_deref()),
        ("event", Some("pushed-1"))
    );

    // A second push of the same event is accepted and handled as a duplicate.
    let (status, _) = post(&d, Some(TOKEN), event).await;
    assert_eq!(status, 202);
    d.wait_for("the duplicate", Duration::from_secs(10), || async {
        d.daemon.metrics.counter(
            "rel04d_events_total",
            &[("intake", "http"), ("outcome", "duplicate")],
        ) == 1.0
    })
    .await;
    assert_eq!(d.transitions().await.len(), 3);
    // The evaluated event's lag was observed once; a duplicate's is not.
    assert_eq!(
        d.daemon
            .metrics
            .counter("rel04d_event_lag_seconds_count", &[("intake", "http")]),
        1.0
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_endpoint_is_off_without_a_token() {
    let (d, id) = daemon_with_token(None).await;
    let event = update_answer_event("e", "111122223333", REGION, &id).to_string();
    let (status, body) = post(&d, Some(TOKEN), event).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("http.events_token")
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let (d, _) = daemon_with_token(None).await;
    let get = |path: &str| reqwest::get(format!("http://{}{path}", d.http));
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    d.wait_for("readiness", Duration::from_secs(10), || async {
        get("/readyz").await.unwrap().status() == 200
    })
    .await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    for expected in [
        "# TYPE rel04d_sweeps_total counter",
        "rel04d_sweeps_total{scope=\"ambient/us-east-1\",result=\"complete\"} 1",
        // Durations are histograms (the sweep's was a last-value gauge).
        "# TYPE rel04d_sweep_duration_seconds histogram",
        "rel04d_sweep_duration_seconds_count{scope=\"ambient/us-east-1\"} 1",
        "rel04d_reconcile_duration_seconds_count{trigger=\"sweep\"} 1",
        "rel04d_aws_call_duration_seconds_count{operation=\"GetAnswer\"} 1",
        "rel04d_evaluations_total{state=\"ok\"} 1",
        "rel04d_controls{state=\"ok\",muted=\"false\"} 1",
        "rel04d_transitions_total{to_state=\"ok\",muted=\"false\"} 1",
        "rel04d_aws_calls_total{operation=\"GetAnswer\",outcome=\"ok\"} 1",
        "rel04d_outbox_backlog 0",
        "rel04d_queue_depth{scope=\"ambient/us-east-1\"} 0",
    ] {
        assert!(
            metrics.contains(expected),
            "{expected} missing from:\n{metrics}"
        );
    }
    d.stop().await;
}

/// A daemon with events on (`TOKEN`), `extra` configuration, and one workload,
/// after its first sweep; the simulator's call counts reset.
async fn answer_change_daemon(extra: &str) -> (RunningDaemon, String) {
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload("payments", answer(&ALL_FOUR, &[], true)));
    let config = format!(
        "[http]\nevents_token = \"{TOKEN}\"\n[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n\
         [policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n{extra}"
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        d.state_of(&w.id).await.as_deref() == Some("ok")
    })
    .await;
    d.sim.reset_calls();
    (d, w.id)
}

/// Pushes an `UpdateAnswer` event for `id` and waits until the control is in `state`.
async fn push_answer_change(d: &RunningDaemon, id: &str, event_id: &str, state: &str) {
    let event = update_answer_event(event_id, "111122223333", REGION, id).to_string();
    let (status, _) = post(d, Some(TOKEN), event).await;
    assert_eq!(status, 202);
    d.wait_for(state, Duration::from_secs(10), || async {
        d.state_of(id).await.as_deref() == Some(state)
    })
    .await;
}

/// An `UpdateAnswer` event needs only the answer when no policy reads more:
/// GetAnswer, no GetWorkload. A lens removed meanwhile is still found (the
/// 404 is confirmed by describing), and a workload-name policy describes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_change_reads_only_the_answer_unless_policies_read_more() {
    let (d, id) = answer_change_daemon("").await;
    d.sim
        .set_answer(&id, answer(&[IDENTIFY], &[], true))
        .unwrap();
    push_answer_change(&d, &id, "answer-1", "alarm").await;
    let calls = d.sim.calls();
    assert_eq!(calls.operation("GetAnswer").ok, 1, "{calls:?}");
    assert_eq!(calls.operation("GetWorkload").total, 0, "{calls:?}");

    d.sim.set_lenses(&id, vec!["serverless".into()]).unwrap();
    push_answer_change(&d, &id, "answer-2", "removed").await;
    assert_eq!(d.sim.calls().operation("GetWorkload").ok, 1);
    d.stop().await;

    let (d, id) = answer_change_daemon(
        "[[policies.settings]]\nscope = \"workload-name:pay*\"\nconstant_work = \"True\"\n",
    )
    .await;
    d.sim
        .set_answer(&id, answer(&[IDENTIFY], &[], true))
        .unwrap();
    push_answer_change(&d, &id, "answer-3", "alarm").await;
    assert_eq!(d.sim.calls().operation("GetWorkload").ok, 1);
    d.stop().await;
}

/// An `UpdateAnswer` naming one question of a lens with several governed
/// questions evaluates that question's control alone, with one `GetAnswer`
/// (no `ListAnswers`, no describe), the lens ARN URL-encoded as CloudTrail logs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_change_of_one_question_reads_and_evaluates_that_question_alone() {
    use crate::questions::{BOTH_REQUIRED, ENCRYPT, KEEP_BACKUPS, LENS, RETENTION};
    let (sim, id) = crate::questions::seeded();
    let config = format!(
        "[http]\nevents_token = \"{TOKEN}\"\n[schedule]\ninterval = \"1h\"\njitter = \"0s\"\n{}",
        crate::questions::config("Check: Choices based on sub policies", &BOTH_REQUIRED)
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    let retention_state = || async {
        let controls = d.daemon.store.controls_of_workload_id(&id).await.unwrap();
        controls
            .into_iter()
            .find(|c| c.lens == LENS && c.question_id == RETENTION)
            .map(|c| c.state.to_string())
    };
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        retention_state().await.as_deref() == Some("alarm")
    })
    .await;
    d.sim.reset_calls();
    d.sim
        .set_question_answer(
            &id,
            LENS,
            RETENTION,
            answer(&[KEEP_BACKUPS, ENCRYPT], &[], true),
        )
        .unwrap();
    let encoded = LENS.replace(':', "%3A").replace('/', "%2F");
    let event = rel04d::events::sample::cloudtrail_event(
        "one-question",
        "111122223333",
        REGION,
        "UpdateAnswer",
        serde_json::json!({"WorkloadId": id, "LensAlias": encoded, "QuestionId": RETENTION}),
    );
    let (status, _) = post(&d, Some(TOKEN), event.to_string()).await;
    assert_eq!(status, 202);
    d.wait_for("retention ok", Duration::from_secs(10), || async {
        retention_state().await.as_deref() == Some("ok")
    })
    .await;
    let calls = d.sim.calls();
    assert_eq!(calls.operation("GetAnswer").total, 1, "{calls:?}");
    assert_eq!(calls.operation("ListAnswers").total, 0, "{calls:?}");
    assert_eq!(calls.operation("GetWorkload").total, 0, "{calls:?}");
    d.stop().await;
}

/// A slow evaluation does not hold up the pushed events behind it: while one
/// workload's answer takes seconds to read, an event pushed after it for
/// another workload is evaluated (the inbox reads and starts its next batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_evaluation_does_not_hold_up_later_pushed_events() {
    let (d, slow) = answer_change_daemon("").await;
    let fast = d
        .sim
        .add_workload(workload("orders", answer(&ALL_FOUR, &[], true)))
        .id;
    d.sim.set_faults(rel04d_simulator::Faults {
        latency_spike: Duration::from_secs(5),
        slow_workloads: [slow.clone()].into(),
        ..Default::default()
    });
    for id in [&slow, &fast] {
        d.sim
            .set_answer(id, answer(&[IDENTIFY], &[], true))
            .unwrap();
    }
    let event = update_answer_event("slow-1", "111122223333", REGION, &slow).to_string();
    assert_eq!(post(&d, Some(TOKEN), event).await.0, 202);
    // The inbox reads an event as soon as it is stored: by now the slow
    // event's batch is under way (its call takes 5 s).
    tokio::time::sleep(Duration::from_millis(500)).await;
    push_answer_change(&d, &fast, "fast-1", "alarm").await;
    assert_eq!(
        d.state_of(&slow).await.as_deref(),
        Some("ok"),
        "the later event was evaluated before the slow one ended"
    );
    d.wait_for("the slow event", Duration::from_secs(20), || async {
        d.state_of(&slow).await.as_deref() == Some("alarm")
    })
    .await;
    d.stop().await;
}
