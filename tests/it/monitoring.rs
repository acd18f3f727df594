//! deploy/grafana/rel04d.json and deploy/prometheus/rules.yml query only series
//! that a real daemon's `/metrics` exposes: a renamed metric breaks this test,
//! not an operator's dashboard in the middle of an incident.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::common::*;
use crate::status_page::get;
use rel04d::aws::Endpoints;
use rel04d::events::sample::update_answer_event;
use rel04d_simulator::{Faults, Simulator};

/// The sample names `/metrics` can carry, from its `# TYPE` lines (every
/// registered family has one, also before its first sample).
fn exposed(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').expect("# TYPE <name> <type>");
        let suffixes: &[&str] = match kind {
            // The encoder names counters with their `_total` already.
            "counter" if name.ends_with("_total") => &[""],
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_sum", "_count"],
            "gauge" => &[""],
            other => panic!("unexpected metric type {other} for {name}"),
        };
        for suffix in suffixes {
            names.insert(format!("{name}{suffix}"));
        }
    }
    names
}

/// Every `rel04d_*` name in a file of queries.
fn queried(path: &str) -> BTreeSet<String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let names: BTreeSet<String> = text
        .match_indices("rel04d_")
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    assert!(names.len() > 3, "{path} queries almost nothing: {names:?}");
    names
}

/// A daemon that has done every kind of work a metric counts: sweeps against a
/// throttling Tool (calls, retries, throttles), an enforced answer, a pushed
/// event (events, event lag) and notifications to an unreachable EventBridge
/// (failed notifications, outbox backlog).
async fn busy_daemon() -> RunningDaemon {
    let sim = Simulator::new(REGION);
    let failing = sim.add_workload(workload("enforced", answer(&ALL_FOUR[..2], &[], true)));
    sim.add_workload(workload("passing", answer(&ALL_FOUR, &[], true)));
    sim.set_faults(Faults {
        throttle_probability: 0.3,
        seed: 15,
        ..Faults::default()
    });
    let config = format!(
        "[http]\nevents_token = \"{TOKEN}\"\n[schedule]\ninterval = \"1h\"\n[notify]\nevent_bus = \"rel04d-monitoring\"\n\
         [policies.global]\n{ALL_TRUE}\n[[policies.settings]]\nscope = \"workload:{}\"\nrel04 = \"Enforce: Choices based on sub policies\"\n",
        failing.id
    );
    // Nothing listens on port 9: every notification fails.
    let endpoints = Endpoints {
        eventbridge: Some("http://127.0.0.1:9".to_owned()),
        ..Endpoints::default()
    };
    let d = RunningDaemon::start(sim, &config, endpoints).await;
    d.daemon.sweep_all().await;
    let event = update_answer_event("monitoring-1", "111122223333", REGION, &failing.id);
    let response = reqwest::Client::new()
        .post(format!("http://{}/events", d.http))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    d
}

const TOKEN: &str = "monitoring-events-token-0123456789";

#[tokio::test]
async fn the_dashboard_and_the_alerts_query_only_exposed_metrics() {
    let d = busy_daemon().await;
    let mut queries = BTreeSet::new();
    for path in ["deploy/grafana/rel04d.json", "deploy/prometheus/rules.yml"] {
        queries.extend(queried(path).into_iter().map(|name| (path, name)));
    }
    // Families appear in /metrics with their first sample; wait for the work.
    let mut missing = Vec::new();
    for _ in 0..300 {
        let (status, text) = get(&d, "/metrics", &[]).await;
        assert_eq!(status, 200);
        let exposed = exposed(&text);
        missing = queries
            .iter()
            .filter(|(_, name)| !exposed.contains(name))
            .collect();
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        missing.is_empty(),
        "queried but not exposed by /metrics (file, series): {missing:?}"
    );
    // And the dashboard covers what the issue asked of it.
    let dashboard = queried("deploy/grafana/rel04d.json");
    for wanted in [
        "rel04d_controls",
        "rel04d_transitions_total",
        "rel04d_evaluations_total",
        "rel04d_aws_calls_total",
        "rel04d_aws_call_duration_seconds_bucket",
        "rel04d_aws_throttles_total",
        "rel04d_event_lag_seconds_bucket",
        "rel04d_sweep_duration_seconds_bucket",
        "rel04d_outbox_backlog",
    ] {
        assert!(
            dashboard.contains(wanted),
            "the dashboard shows no {wanted}"
        );
    }
    d.stop().await;
}

/// The sample names a scrape carries now (not only declares).
fn sampled(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_fresh_daemon_shows_every_queried_series_from_its_first_scrape() {
    // Nothing to evaluate, no event, no notification: only what start creates.
    let d = RunningDaemon::start(
        Simulator::new(REGION),
        "[schedule]\ninterval = \"1h\"\n",
        Endpoints::default(),
    )
    .await;
    let (status, text) = get(&d, "/metrics", &[]).await;
    assert_eq!(status, 200);
    let sampled = sampled(&text);
    let mut missing = Vec::new();
    for path in ["deploy/grafana/rel04d.json", "deploy/prometheus/rules.yml"] {
        for name in queried(path) {
            if !sampled.contains(&name) {
                missing.push(format!("{path}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "series with no sample on a fresh daemon (panels say \"No data\", rate() misses the first increment):\n{}",
        missing.join("\n")
    );
    // Zero, not a count of anything that happened.
    assert!(
        text.lines()
            .any(|l| l == "rel04d_events_total{intake=\"http\",outcome=\"evaluated\"} 0"),
        "{text}"
    );
    d.stop().await;
}
