//! The store's one write seam, `Store::apply`, on SQLite and (with
//! `REL04D_TEST_POSTGRES_URL`) Postgres: what each verdict writes about a
//! control the database has, has not yet, or has changed since it was read.

use crate::common::db::Db;
use crate::common::*;
use rel04d::control::{ControlState, Details, Outcome, Verdict};
use rel04d::store::{Applied, Effect, Evaluation, Known, Store};
use rel04d::workload::{Trigger, Workload};

const SCOPE: &str = "111122223333/us-east-1";

fn workload() -> Workload {
    let id = "0123456789abcdef0123456789abcdef".to_owned();
    Workload {
        arn: format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/{id}"),
        id,
        name: "payments".into(),
        account_id: "111122223333".into(),
        region: REGION.into(),
        lenses: vec!["wellarchitected".into()],
        tags: None,
        data: None,
    }
}

fn record(state: ControlState, reason: &str) -> Verdict {
    Verdict::record(Outcome {
        state,
        reason: reason.into(),
        details: Details::default(),
    })
}

/// `(from, to)` of each transition `applied` committed, in order.
fn steps(applied: &Applied) -> Vec<(Option<String>, String)> {
    applied
        .transitions
        .iter()
        .map(|t| (t.from_state.clone(), t.to_state.clone()))
        .collect()
}

async fn saved(store: &Store, workload: &Workload) -> Known {
    let control = store.control(&workload.arn).await.unwrap().unwrap();
    Known::Saved(Box::new(control))
}

#[tokio::test]
async fn each_verdict_writes_what_it_says_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = Store::connect(&url, 2).await.unwrap().with_outbox(true);
    store.migrate().await.unwrap();
    let db = Db::connect(&url).await;
    let workload = workload();
    let on = Evaluation {
        workload: &workload,
        scanned_by: SCOPE,
        trigger: &Trigger::Sweep,
        lens_status: None,
    };
    let transitions = "SELECT COUNT(*) FROM transitions";

    // No control yet: ignoring, being busy and removing write nothing.
    for verdict in [Verdict::Ignore, Verdict::Busy, Verdict::remove("gone")] {
        let applied = store.apply(&Known::New, verdict, &on).await.unwrap();
        assert!(applied.transitions.is_empty(), "{applied:?}");
        assert!(matches!(applied.effect, Effect::Ignored | Effect::Busy));
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM controls").await, Some(0));

    // A new control is created with its first verdict: two transitions, one commit.
    let alarm = || record(ControlState::Alarm, "Not selected: Identify");
    let applied = store.apply(&Known::New, alarm(), &on).await.unwrap();
    assert_eq!(applied.effect, Effect::Recorded(ControlState::Alarm));
    assert_eq!(
        steps(&applied),
        [
            (None, "tbd".to_owned()),
            (Some("tbd".to_owned()), "alarm".to_owned())
        ]
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM outbox").await, Some(2));

    // The same verdict again: recorded, no transition, only the time, batched.
    let current = saved(&store, &workload).await;
    let applied = store.apply(&current, alarm(), &on).await.unwrap();
    assert_eq!(applied.effect, Effect::Recorded(ControlState::Alarm));
    assert!(applied.transitions.is_empty());
    assert_eq!(store.flush_evaluated().await.unwrap(), 1);

    // A change about the control as read before someone else wrote it loses;
    // an unchanged verdict about it only notes the time, which is then dropped.
    let fixed = record(ControlState::Ok, "4 of 4 required best practices selected");
    let applied = store.apply(&current, fixed, &on).await.unwrap();
    assert_eq!(applied.effect, Effect::Recorded(ControlState::Ok));
    let failed = record(ControlState::Error, "Could not read the answer");
    let applied = store.apply(&current, failed, &on).await.unwrap();
    assert_eq!(applied.effect, Effect::Conflict);
    assert!(applied.transitions.is_empty());
    store.apply(&current, alarm(), &on).await.unwrap();
    assert_eq!(store.flush_evaluated().await.unwrap(), 0);
    assert_eq!(db.strings("SELECT state FROM controls").await, ["ok"]);
    assert_eq!(db.count(transitions).await, Some(3));

    // Removal, once; a removed control is not removed again.
    let mut removals = Vec::new();
    for _ in 0..2 {
        let current = saved(&store, &workload).await;
        let verdict = Verdict::remove("gone");
        removals.push(store.apply(&current, verdict, &on).await.unwrap());
    }
    assert_eq!(removals[0].effect, Effect::Removed);
    assert_eq!(
        steps(&removals[0]),
        [(Some("ok".to_owned()), "removed".to_owned())]
    );
    assert_eq!(removals[1].effect, Effect::Ignored);
    assert_eq!(db.count(transitions).await, Some(4));
    db.close().await;
}

/// The lens review's status is written with the control, by `apply`: a verdict
/// that finds the status changed writes the row (version-checked), one that finds
/// it as recorded is only a batched time bump, and an unknown status keeps the
/// row's own. No separate statement writes it.
#[tokio::test]
async fn the_lens_status_is_written_with_the_verdict_and_only_when_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let db = Db::connect(&url).await;
    let workload = workload();
    let on = |lens_status| Evaluation {
        workload: &workload,
        scanned_by: SCOPE,
        trigger: &Trigger::Sweep,
        lens_status,
    };
    let alarm = || record(ControlState::Alarm, "Not selected: Identify");
    let status = "SELECT COALESCE(lens_status, '-') FROM controls";
    let version = "SELECT version FROM controls";

    // Created with the status as read.
    let created = store
        .apply(&Known::New, alarm(), &on(Some("CURRENT")))
        .await;
    assert_eq!(created.unwrap().transitions.len(), 2);
    assert_eq!(db.strings(status).await, ["CURRENT"]);
    let first = db.count(version).await;

    // Unchanged, status as recorded or unknown: only the time, batched.
    for known in [Some("CURRENT"), None] {
        let current = saved(&store, &workload).await;
        let applied = store.apply(&current, alarm(), &on(known)).await.unwrap();
        assert!(applied.transitions.is_empty());
        assert_eq!(db.count(version).await, first, "{known:?}: no row write");
        assert_eq!(store.flush_evaluated().await.unwrap(), 1);
    }
    assert_eq!(db.strings(status).await, ["CURRENT"]);

    // The status alone changed: the row is written (no transition: same state).
    let current = saved(&store, &workload).await;
    let not_current = on(Some("NOT_CURRENT"));
    let applied = store.apply(&current, alarm(), &not_current).await.unwrap();
    assert!(applied.transitions.is_empty());
    assert_eq!(db.strings(status).await, ["NOT_CURRENT"]);
    assert!(db.count(version).await > first);
    db.close().await;
}
