//! `notify.settle` against its reference model, on the real store (SQLite, and
//! Postgres with `REL04D_TEST_POSTGRES_URL`): random runs of state changes —
//! thousands of steps, 2 to 6 states, gaps around the window, muted stretches —
//! decided while they are recorded, by the rule the publisher uses, with the
//! store reopened and a second publisher deciding the same rows at random. Every
//! notification sent (and its `from_state`) must be what
//! [`expected_announcements`] derives from the whole history.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use rel04d::control::ControlState;
use rel04d::notify::flapping::Flapping;
use rel04d::notify::settle::{Rule, SETTLE_GRACE};
use rel04d::store::{ControlKey, Recording, Settled, Store, TransitionRow, Written};
use rel04d::workload::{Trigger, Workload};
use serde_json::Value;

use crate::common::db::Db;
use crate::common::*;
use crate::settle::expected_announcements;

const SETTLE: Duration = Duration::from_secs(60);
const STATES: [ControlState; 6] = [
    ControlState::Ok,
    ControlState::Alarm,
    ControlState::Invalid,
    ControlState::Error,
    ControlState::Skipped,
    ControlState::Tbd,
];

/// One step of a run: wait `gap_s`, then what happens.
#[derive(Clone, Debug)]
struct Step {
    gap_s: i64,
    state: usize,
    /// Run the publisher after recording the step.
    decide: bool,
    /// Reopen the store (a restart) before the step.
    restart: bool,
    /// Mute or unmute the control before the step.
    toggle_mute: bool,
}

fn run() -> impl Strategy<Value = (usize, Vec<Step>)> {
    (2usize..=6).prop_flat_map(|states| {
        let gap = prop_oneof![0i64..5, 55i64..70, 0i64..200, Just(SETTLE.as_secs() as i64),];
        let step = (
            gap,
            0..states,
            proptest::bool::weighted(0.3),
            proptest::bool::weighted(0.005),
            proptest::bool::weighted(0.01),
        )
            .prop_map(|(gap_s, state, decide, restart, toggle_mute)| Step {
                gap_s,
                state,
                decide,
                restart,
                toggle_mute,
            });
        (Just(states), proptest::collection::vec(step, 1..3000))
    })
}

fn the_workload() -> Workload {
    Workload {
        arn: format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/model"),
        id: "model".into(),
        name: "model".into(),
        account_id: "111122223333".into(),
        region: REGION.into(),
        lenses: vec!["wellarchitected".into()],
        tags: None,
        data: None,
    }
}

async fn open(url: &str) -> Store {
    let store = Store::connect(url, 2).await.unwrap().with_outbox(true);
    store.migrate().await.unwrap();
    store
}

/// One round of the publisher at virtual time `now`: every undecided row whose
/// decision is due, oldest first; a second publisher (`twin`) decides some of
/// the same rows at the same time. Returns how many were decided.
async fn decide_due(store: &Store, twin: &Store, now: DateTime<Utc>, race: bool) -> usize {
    let undecided = store.undecided_notifications(0, 1_000).await.unwrap();
    let ids: Vec<i64> = undecided.iter().map(|u| u.id).collect();
    let rows = store
        .claim_outbox_due("model", 0, now, now, &ids)
        .await
        .unwrap();
    let mut decided = 0;
    for row in rows.iter().filter(|r| !r.settled) {
        let created = undecided.iter().find(|u| u.id == row.id).unwrap();
        let rule = Rule {
            settle: SETTLE,
            pending_for: (now - created.created_at).to_std().unwrap_or_default(),
            flapping: Flapping::OFF,
        };
        let (mine, theirs) = if race {
            let (a, b) = tokio::join!(
                store.settle_notification(row, &rule),
                twin.settle_notification(row, &rule)
            );
            (a.unwrap(), Some(b.unwrap()))
        } else {
            (store.settle_notification(row, &rule).await.unwrap(), None)
        };
        let outcomes = [Some(mine), theirs];
        // What is announced is sent at once (the model has no EventBridge).
        if outcomes
            .iter()
            .flatten()
            .any(|o| matches!(o, Settled::Announced { .. }))
        {
            store.mark_published(&[row.id], now).await.unwrap();
        }
        let made: Vec<_> = outcomes
            .iter()
            .flatten()
            .filter(|o| matches!(o, Settled::Announced { .. } | Settled::Collapsed))
            .collect();
        assert!(made.len() <= 1, "two publishers both recorded {made:?}");
        decided += made.len();
    }
    decided
}

/// Records and decides `steps`; checks the notifications against the model and
/// returns the transitions and the notifications sent (transition id → from_state).
async fn check_run(
    states: usize,
    steps: Vec<Step>,
) -> (Vec<TransitionRow>, BTreeMap<i64, Option<String>>) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let mut store = open(&url).await;
    let twin = open(&url).await;
    let workload = the_workload();
    let mut now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    store
        .open_control_of(
            &ControlKey::rel04(&workload.arn),
            "rel04",
            &workload,
            "scope",
            &Trigger::Sweep,
            now,
        )
        .await
        .unwrap();
    let details = serde_json::json!({});
    let mut muted = false;
    for step in &steps {
        now += chrono::Duration::seconds(step.gap_s);
        if step.restart {
            store.close().await;
            store = open(&url).await;
        }
        let control = store.control(&workload.arn).await.unwrap().unwrap();
        if step.toggle_mute {
            if muted {
                store.unmute(&control, "model", "test", now).await.unwrap();
            } else {
                store
                    .mute(&control, None, None, "model", "test", now)
                    .await
                    .unwrap();
            }
            muted = !muted;
        }
        let control = store.control(&workload.arn).await.unwrap().unwrap();
        let rec = Recording {
            workload: &workload,
            scanned_by: "scope",
            state: STATES[step.state % states],
            reason: "model",
            details: &details,
            trigger: &Trigger::Sweep,
            enforced: None,
            lens_status: None,
            at: now,
        };
        let written = store.record(&control, &rec).await.unwrap();
        assert!(!matches!(written, Written::Conflict));
        if step.decide {
            decide_due(&store, &twin, now, step.gap_s % 3 == 0).await;
        }
    }
    // Long after the last step, everything is decided.
    now += chrono::Duration::from_std(SETTLE + SETTLE_GRACE).unwrap();
    while decide_due(&store, &twin, now, false).await > 0 {}
    assert_eq!(store.undecided_notifications(0, 10).await.unwrap(), []);

    let transitions = store.list_transitions(&Default::default()).await.unwrap();
    let want = expected_announcements(&transitions, SETTLE);
    let db = Db::connect(&url).await;
    let got: BTreeMap<i64, Option<String>> = db
        .strings("SELECT payload FROM outbox WHERE collapsed = 0")
        .await
        .into_iter()
        .map(|payload| {
            let payload: Value = serde_json::from_str(&payload).unwrap();
            (
                payload["transition_id"].as_i64().unwrap(),
                payload["from_state"].as_str().map(str::to_owned),
            )
        })
        .collect();
    db.close().await;
    store.close().await;
    twin.close().await;
    assert_eq!(
        got,
        want,
        "{} transitions, {states} states",
        transitions.len()
    );
    (transitions, got)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 6,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn settle_announces_what_the_reference_model_says((states, steps) in run()) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(check_run(states, steps));
    }
}

/// The case, on the store: alarm → invalid → ok cycled 213 times
/// inside 5 s windows, then alarm holds. The alarm is announced, from `ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_held_after_213_cycles_is_announced() {
    let index = |s: ControlState| STATES.iter().position(|x| *x == s).unwrap();
    let step = |gap_s, state| Step {
        gap_s,
        state: index(state),
        decide: true,
        restart: false,
        toggle_mute: false,
    };
    let mut steps = vec![step(0, ControlState::Ok)];
    for cycle in 0..213 {
        let first_gap = if cycle == 0 { 100 } else { 1 };
        steps.push(step(first_gap, ControlState::Alarm));
        steps.push(step(1, ControlState::Invalid));
        steps.push(step(1, ControlState::Ok));
    }
    steps.push(step(1, ControlState::Alarm));
    let (transitions, got) = check_run(STATES.len(), steps).await;
    let last = transitions.iter().map(|t| t.id).max().unwrap();
    assert_eq!(
        got.get(&last),
        Some(&Some("ok".to_owned())),
        "the held alarm is announced from ok"
    );
    assert_eq!(got.len(), 2, "ok, then the alarm: {got:?}");
}
