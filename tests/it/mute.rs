//! Muting: a muted control is still evaluated and recorded but not announced; a
//! mute ends at its time or when its awaited state is reached; every mute and
//! unmute is kept with who and why.

use std::process::Command;
use std::time::Duration;

use crate::common::moto::{Moto, notifications, unique};
use crate::common::*;
use chrono::Utc;
use rel04d::aws::Endpoints;
use rel04d::control::ControlState;
use rel04d_simulator::Simulator;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn muted_transitions_are_recorded_but_not_announced_and_mutes_end_by_themselves() {
    let moto = Moto::connect().await;
    let bus = unique("rel04d-mute");
    let subscriber = moto.queue_with_dlq(&unique("mute-subscriber"), 5).await;
    moto.bus_to_queue(&bus, json!({"source": ["rel04d"]}), &subscriber.arn)
        .await;

    let sim = Simulator::new(REGION);
    let [forever, briefly, until_ok] =
        ["muted-forever", "muted-briefly", "muted-until-ok"].map(|name| {
            sim.add_workload(workload(name, answer(&ALL_FOUR, &[], true)))
                .id
        });
    let config = format!(
        "[schedule]\ninterval = \"1h\"\n[notify]\nevent_bus = \"{bus}\"\n[policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n"
    );
    let endpoints = Endpoints {
        eventbridge: Some(moto.url.clone()),
        ..Endpoints::default()
    };
    let d = RunningDaemon::start(sim, &config, endpoints).await;
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        let mut all_ok = true;
        for id in [&forever, &briefly, &until_ok] {
            all_ok &= d.state_of(id).await.as_deref() == Some("ok");
        }
        all_ok
    })
    .await;
    let store = &d.daemon.store;
    let control =
        |id: String| async move { store.control_by_workload_id(&id).await.unwrap().unwrap() };
    let now = Utc::now();
    store
        .mute(
            &control(forever.clone()).await,
            None,
            None,
            "alice",
            "known issue",
            now,
        )
        .await
        .unwrap();
    store
        .mute(
            &control(briefly.clone()).await,
            Some(now + chrono::Duration::seconds(1)),
            None,
            "bob",
            "deploying",
            now,
        )
        .await
        .unwrap();
    // A mute until the state the control is already in would be meaningless.
    let refused = store
        .mute(
            &control(until_ok.clone()).await,
            None,
            Some(ControlState::Ok),
            "carol",
            "fix in progress",
            now,
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("already ok"), "{refused:#}");
    moto.drain(&subscriber.url, Duration::from_secs(3)).await; // the first sweep's announcements
    tokio::time::sleep(Duration::from_millis(1500)).await; // the brief mute expires

    for id in [&forever, &briefly, &until_ok] {
        d.sim
            .set_answer(id, answer(&[IDENTIFY], &[], true))
            .unwrap();
    }
    d.daemon.sweep_all().await;
    // Now alarm, it may be muted until it is ok again.
    store
        .mute(
            &control(until_ok.clone()).await,
            None,
            Some(ControlState::Ok),
            "carol",
            "fix in progress",
            Utc::now(),
        )
        .await
        .unwrap();
    let alarms: Vec<_> = d
        .transitions()
        .await
        .into_iter()
        .filter(|t| t.to_state == "alarm")
        .collect();
    assert_eq!(
        alarms.len(),
        3,
        "muted controls are still evaluated and recorded"
    );
    let muted: Vec<(&str, bool)> = alarms
        .iter()
        .map(|t| (t.workload_id.as_str(), t.muted))
        .collect();
    assert!(
        muted.contains(&(forever.as_str(), true)) && muted.contains(&(until_ok.as_str(), false)),
        "{muted:?}"
    );
    assert!(
        muted.contains(&(briefly.as_str(), false)),
        "an expired mute stops muting: {muted:?}"
    );

    // The awaited state ends the mute, and that transition is announced again.
    d.sim
        .set_answer(&until_ok, answer(&ALL_FOUR, &[], true))
        .unwrap();
    d.daemon.sweep_all().await;
    let recovered = d.transitions().await.remove(0);
    assert_eq!(
        (
            recovered.workload_id.as_str(),
            recovered.to_state.as_str(),
            recovered.muted
        ),
        (until_ok.as_str(), "ok", false)
    );
    assert!(!control(until_ok.clone()).await.muted);

    let announced = notifications(&moto.drain(&subscriber.url, Duration::from_secs(5)).await);
    let announced_workloads: Vec<(&str, &str)> = announced
        .iter()
        .map(|n| {
            (
                n["workload_id"].as_str().unwrap(),
                n["to_state"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        !announced_workloads.iter().any(|(w, _)| *w == forever),
        "{announced_workloads:?}"
    );
    assert!(
        announced_workloads.contains(&(briefly.as_str(), "alarm")),
        "{announced_workloads:?}"
    );
    assert!(
        announced_workloads.contains(&(until_ok.as_str(), "ok")),
        "{announced_workloads:?}"
    );
    assert!(
        announced_workloads.contains(&(until_ok.as_str(), "alarm")),
        "{announced_workloads:?}"
    );
    assert_eq!(announced.len(), 3, "{announced_workloads:?}");

    let history = store
        .mute_history_of(&control(until_ok.clone()).await.key())
        .await
        .unwrap();
    let summary: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|m| (m.action.as_str(), m.actor.as_str(), m.reason.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("unmute", "rel04d", "reached state ok"),
            ("mute", "carol", "fix in progress")
        ]
    );

    // Muted controls are counted apart.
    let metrics = reqwest::get(format!("http://{}/metrics", d.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("rel04d_controls{state=\"alarm\",muted=\"true\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rel04d_controls{state=\"alarm\",muted=\"false\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rel04d_transitions_total{to_state=\"alarm\",muted=\"true\"} 1"),
        "{metrics}"
    );
    d.stop().await;
}

/// One workload, `payments`, evaluated once: alarm.
async fn one_alarm() -> (TestEnv, String) {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("payments", answer(&[IDENTIFY], &[], true)))
        .id;
    let env = TestEnv::start(sim, "[policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n").await;
    env.sweep().await;
    (env, id)
}

#[tokio::test]
async fn mute_and_unmute_from_the_cli_are_kept_with_who_and_why() {
    let (env, id) = one_alarm().await;
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rel04d"))
            .args(args)
            .args(["--database-url", &env.database_url])
            .env_remove("REL04D_CONFIG")
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.success(),
        )
    };
    let (stdout, stderr, ok) = run(&[
        "mute",
        "--workload",
        &id,
        "--until-state",
        "ok",
        "--reason",
        "owner is on it",
        "--by",
        "alice",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!("{id}: muted until it is ok by alice: owner is on it")
    );
    let (stdout, _, _) = run(&["controls", "--output", "json"]);
    let controls: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(controls[0]["muted"], true);
    assert_eq!(controls[0]["mute"]["until_state"], "ok");

    let (_, stderr, ok) = run(&[
        "mute",
        "--workload",
        &id,
        "--until",
        "tomorrow",
        "--reason",
        "x",
    ]);
    assert!(
        !ok && stderr.contains("--until \"tomorrow\" is neither an RFC 3339 time nor a duration"),
        "{stderr}"
    );
    let (_, stderr, ok) = run(&["mute", "--workload", "unknown", "--reason", "x"]);
    assert!(
        !ok && stderr.contains("no control for workload unknown"),
        "{stderr}"
    );

    let (stdout, stderr, ok) = run(&[
        "unmute",
        "--workload",
        &id,
        "--reason",
        "handled",
        "--by",
        "bob",
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), format!("{id}: unmuted by bob: handled"));
    let (_, stderr, ok) = run(&["unmute", "--workload", &id]);
    assert!(!ok && stderr.contains("is not muted"), "{stderr}");

    let (stdout, _, ok) = run(&["explain", "--workload", &id]);
    assert!(ok);
    assert!(stdout.contains("Mutes (newest first):"), "{stdout}");
    assert!(stdout.contains("unmute by bob: handled"), "{stdout}");
    assert!(
        stdout.contains("mute until ok by alice: owner is on it"),
        "{stdout}"
    );
    env.stop().await;
}

/// Many unmutes of one mute at once, each holding the control as read before
/// any of them: exactly one ends it and is kept in the history; the others are
/// told it is not muted. Likewise a mute until a state the control reached
/// since it was read is refused, not written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_unmutes_end_a_mute_once() {
    let (env, id) = one_alarm().await;
    let store = env.daemon.store.clone();
    let stale = store.control_by_workload_id(&id).await.unwrap().unwrap();
    store
        .mute(&stale, None, None, "alice", "known issue", Utc::now())
        .await
        .unwrap();
    let muted = store.control_by_workload_id(&id).await.unwrap().unwrap();
    let unmutes = (0..8).map(|n| {
        let (store, muted) = (store.clone(), muted.clone());
        tokio::spawn(async move {
            store
                .unmute(&muted, &format!("op{n}"), "handled", Utc::now())
                .await
        })
    });
    let results = futures::future::join_all(unmutes).await;
    let (ended, refused): (Vec<_>, Vec<_>) = results
        .into_iter()
        .map(|joined| joined.unwrap())
        .partition(Result::is_ok);
    assert_eq!(ended.len(), 1, "{refused:?}");
    for error in refused {
        let error = error.unwrap_err();
        assert!(error.to_string().ends_with("is not muted"), "{error:#}");
    }
    let history = store.mute_history_of(&muted.key()).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|m| m.action.as_str()).collect();
    assert_eq!(actions, ["unmute", "mute"]);

    // The control is alarm; a mute until alarm, from a read taken when it was
    // still tbd, would never end.
    let mut before = muted.clone();
    before.state = ControlState::Tbd;
    assert_eq!(muted.state, ControlState::Alarm);
    let refused = store
        .mute(
            &before,
            None,
            Some(ControlState::Alarm),
            "carol",
            "x",
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("already alarm"), "{refused:#}");
    let after = store.control_by_workload_id(&id).await.unwrap().unwrap();
    assert!(after.mute.is_none());
    assert_eq!(store.mute_history_of(&muted.key()).await.unwrap().len(), 2);
    env.stop().await;
}

/// A mute refused through GraphQL names GraphQL's arguments, never the CLI's flags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_mute_errors_name_graphql_arguments() {
    let (env, id) = one_alarm().await;
    let schema = rel04d::graphql::schema(env.daemon.store.clone(), env.daemon.policies.clone());
    let ask = |query: String| {
        let schema = schema.clone();
        async move {
            let response =
                rel04d::graphql::execute(&schema, async_graphql::Request::new(query)).await;
            response
                .errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default()
        }
    };
    let passed = ask(format!(
        "mutation {{ muteControl(input: {{ id: \"{id}\", note: \"x\", toTimestamp: \"2001-01-01T00:00:00Z\" }}) {{ muted }} }}"
    ))
    .await;
    assert!(passed.starts_with("toTimestamp 2001-01-01"), "{passed}");
    let no_note = ask(format!(
        "mutation {{ muteControl(input: {{ id: \"{id}\", note: \"  \" }}) {{ muted }} }}"
    ))
    .await;
    assert!(
        no_note.contains("a reason is required: note must say why"),
        "{no_note}"
    );
    let same_state = ask(format!(
        "mutation {{ muteControl(input: {{ id: \"{id}\", note: \"x\", untilStates: [\"alarm\"] }}) {{ muted }} }}"
    ))
    .await;
    assert!(same_state.contains("untilStates alarm"), "{same_state}");
    for message in [&passed, &no_note, &same_state] {
        assert!(!message.contains("--"), "{message}");
    }
    let not_muted = ask(format!(
        "mutation {{ unmuteControl(input: {{ id: \"{id}\" }}) {{ muted }} }}"
    ))
    .await;
    assert!(not_muted.ends_with("is not muted"), "{not_muted}");
    env.stop().await;
}
