//! The state database's bookkeeping, on SQLite and (with `REL04D_TEST_POSTGRES_URL`)
//! Postgres: what pruning forgets and keeps, and how refused notifications back
//! off and are finally set aside; how a control first seen by a sweep is
//! created with its first verdict.

use crate::common::db::Db;
use crate::common::*;
use chrono::{Duration, TimeZone, Utc};
use rel04d::control::ControlState;
use rel04d::store::{
    AttemptEnd, ControlKey, InboxAttempt, MAX_PUBLISH_ATTEMPTS, Recording, Store, Written,
};
use rel04d::workload::{Trigger, Workload};

async fn fresh_store(dir: &tempfile::TempDir) -> (Store, String) {
    let url = fresh_database_url(dir).await;
    let store = Store::connect(&url, 2).await.unwrap().with_outbox(true);
    store.migrate().await.unwrap();
    (store, url)
}

fn a_workload(n: u32) -> Workload {
    let id = format!("{n:032x}");
    Workload {
        arn: format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/{id}"),
        id,
        name: format!("w{n}"),
        account_id: "111122223333".into(),
        region: REGION.into(),
        lenses: vec!["wellarchitected".into()],
        tags: None,
        data: None,
    }
}

/// Opens a control, which writes its `NULL → tbd` transition and queues one
/// notification; returns that notification's outbox id.
async fn queue_a_notification(store: &Store, n: u32, at: chrono::DateTime<Utc>) -> i64 {
    let workload = a_workload(n);
    store
        .open_control_of(
            &ControlKey::rel04(&workload.arn),
            "rel04",
            &workload,
            "111122223333/us-east-1",
            &Trigger::Sweep,
            at,
        )
        .await
        .unwrap();
    let claimed = store.claim_outbox("test", 100, at, at).await.unwrap();
    claimed.last().expect("a queued notification").id
}

#[tokio::test]
async fn prune_forgets_only_handled_rows_older_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh_store(&dir).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let old = now - Duration::days(20);
    let recent = now - Duration::days(1);

    store
        .mark_event_processed("old", "evaluated", old)
        .await
        .unwrap();
    store
        .mark_event_processed("recent", "evaluated", recent)
        .await
        .unwrap();
    let handled_old = store.inbox_insert("{}", old).await.unwrap();
    store
        .inbox_done(handled_old, None, true, old)
        .await
        .unwrap();
    let handled_recent = store.inbox_insert("{}", recent).await.unwrap();
    store
        .inbox_done(handled_recent, None, true, recent)
        .await
        .unwrap();
    store.inbox_insert("{}", old).await.unwrap(); // old but never handled
    let published_old = queue_a_notification(&store, 1, old).await;
    store.mark_published(&[published_old], old).await.unwrap();
    let published_recent = queue_a_notification(&store, 2, recent).await;
    store
        .mark_published(&[published_recent], recent)
        .await
        .unwrap();
    queue_a_notification(&store, 3, old).await; // old but never published

    let pruned = store.prune(Duration::days(15), now).await.unwrap();

    assert_eq!(pruned, 3, "one old row of each kind");
    assert!(!store.event_processed("old").await.unwrap());
    assert!(store.event_processed("recent").await.unwrap());
    let db = Db::connect(&url).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM inbox").await, Some(2));
    assert_eq!(
        db.count("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
            .await,
        Some(1),
        "an unhandled event is never pruned"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM outbox").await, Some(2));
    assert_eq!(store.outbox_backlog().await.unwrap(), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM transitions").await,
        Some(3),
        "history is never pruned"
    );
    assert_eq!(store.prune(Duration::days(15), now).await.unwrap(), 0);
}

/// Records an `Exception Expiring` warning for `setting` expiring at `expires`.
async fn warn(store: &Store, setting: &str, expires: chrono::DateTime<Utc>) -> bool {
    let detail = rel04d::store::ExceptionExpiring {
        control_type: "rel04",
        workload_id: "w",
        workload_arn: "arn:aws:wellarchitected:us-east-1:111122223333:workload/w",
        account_id: "111122223333",
        region: "us-east-1",
        setting,
        origin: "policies.settings[0]",
        policies: vec!["idempotent"],
        expires_at: rel04d::store::timestamp(expires),
        reason: None,
        ticket: None,
        owner: None,
        occurred_at: rel04d::store::timestamp(expires),
    };
    let key = rel04d::store::ControlKey::rel04(detail.workload_arn);
    store
        .warn_exception_expiring(&key, &detail, expires)
        .await
        .unwrap()
}

#[tokio::test]
async fn prune_forgets_sent_warnings_of_exceptions_expired_longer_than_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh_store(&dir).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let old = now - Duration::days(20);
    let recent = now - Duration::days(1);
    assert!(warn(&store, "sent-old", old).await);
    assert!(!warn(&store, "sent-old", old).await, "once per expiry");
    assert!(warn(&store, "sent-recent", recent).await);
    let claimed = store
        .claim_warnings("t", 10, now, now + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let ids: Vec<i64> = claimed.iter().map(|w| w.id).collect();
    store
        .mark_sent(rel04d::store::EventQueue::ExceptionWarnings, &ids, now)
        .await
        .unwrap();
    assert!(warn(&store, "unsent-old", old).await);

    assert_eq!(store.prune(Duration::days(15), now).await.unwrap(), 1);
    let db = Db::connect(&url).await;
    assert_eq!(
        db.strings("SELECT setting FROM exception_warnings ORDER BY setting")
            .await,
        ["sent-recent", "unsent-old"]
    );
    assert_eq!(store.outbox_backlog().await.unwrap(), 1, "the unsent one");
}

#[tokio::test]
async fn a_refused_notification_waits_for_its_retry_time_and_is_set_aside_after_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _url) = fresh_store(&dir).await;
    let now = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let id = queue_a_notification(&store, 1, now).await;

    let retry_at = now + Duration::seconds(8);
    store.mark_failed(id, "refused", retry_at).await.unwrap();
    let before = store
        .claim_outbox("other", 10, retry_at - Duration::seconds(1), retry_at)
        .await
        .unwrap();
    assert!(
        before.is_empty(),
        "claimed before its retry time: {before:?}"
    );
    let after = store
        .claim_outbox(
            "other",
            10,
            retry_at + Duration::seconds(1),
            retry_at + Duration::seconds(31),
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].id, after[0].attempts), (id, 1));

    for _ in 1..MAX_PUBLISH_ATTEMPTS {
        store.mark_failed(id, "refused", now).await.unwrap();
    }
    let later = now + Duration::days(1);
    assert!(
        store
            .claim_outbox("other", 10, later, later)
            .await
            .unwrap()
            .is_empty(),
        "set aside after {MAX_PUBLISH_ATTEMPTS} attempts"
    );
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        1,
        "but still counted"
    );
}

/// A workload its sweep's page showed without a control: created and judged in
/// one commit, with both transitions (`NULL → tbd → alarm`) and their
/// notifications; if the control appeared meanwhile (another replica), nothing.
#[tokio::test]
async fn a_new_control_is_created_with_its_first_verdict_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh_store(&dir).await;
    let workload = a_workload(1);
    let details = serde_json::json!({"missing": ["identify"]});
    let recording = Recording {
        workload: &workload,
        scanned_by: "111122223333/us-east-1",
        state: ControlState::Alarm,
        reason: "Not selected: Identify",
        details: &details,
        trigger: &Trigger::Sweep,
        enforced: None,
        lens_status: None,
        at: Utc::now(),
    };

    let (opened, written) = store
        .create_and_record_of(
            &ControlKey::rel04(&recording.workload.arn),
            "rel04",
            &recording,
        )
        .await
        .unwrap()
        .expect("the control did not exist");
    assert_eq!(
        (opened.from_state.as_deref(), opened.to_state.as_str()),
        (None, "tbd")
    );
    let Written::Transition(verdict) = written else {
        panic!("expected the verdict's transition, got {written:?}");
    };
    assert_eq!(
        (verdict.from_state.as_deref(), verdict.to_state.as_str()),
        (Some("tbd"), "alarm")
    );
    let db = Db::connect(&url).await;
    let states = "SELECT state FROM controls";
    assert_eq!(db.strings(states).await, ["alarm"]);
    assert_eq!(db.count("SELECT COUNT(*) FROM transitions").await, Some(2));
    assert_eq!(db.count("SELECT COUNT(*) FROM outbox").await, Some(2));

    // Another replica's sweep created it first: this one writes nothing.
    let again = Recording {
        state: ControlState::Ok,
        reason: "4 of 4 required best practices selected",
        ..recording
    };
    assert!(
        store
            .create_and_record_of(&ControlKey::rel04(&again.workload.arn), "rel04", &again)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.strings(states).await, ["alarm"]);
    assert_eq!(db.count("SELECT COUNT(*) FROM transitions").await, Some(2));
    assert_eq!(db.count("SELECT COUNT(*) FROM outbox").await, Some(2));
    db.close().await;
}

/// A removed control is written again only by reviving it: an evaluation or a
/// removal over the row read as removed, whose version is current, conflicts
/// and changes nothing (the version says whether it is removed; the statements
/// no longer ask).
#[tokio::test]
async fn a_control_read_as_removed_is_not_written_over() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh_store(&dir).await;
    let workload = a_workload(1);
    let key = ControlKey::rel04(&workload.arn);
    let (live, _) = store
        .open_control_of(&key, "rel04", &workload, "s", &Trigger::Sweep, Utc::now())
        .await
        .unwrap();
    let removed = store
        .remove(
            &live,
            "the workload was deleted",
            &Trigger::Sweep,
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(matches!(removed, Written::Transition(_)), "{removed:?}");
    let read = store.control_of(&key).await.unwrap().unwrap();
    assert!(read.is_removed());

    let details = serde_json::json!({});
    let recording = Recording {
        workload: &workload,
        scanned_by: "s",
        state: ControlState::Ok,
        reason: "4 of 4 required best practices selected",
        details: &details,
        trigger: &Trigger::Sweep,
        enforced: None,
        lens_status: None,
        at: Utc::now(),
    };
    let recorded = store.record(&read, &recording).await.unwrap();
    assert_eq!(recorded, Written::Conflict);
    let again = store
        .remove(
            &read,
            "the workload was deleted",
            &Trigger::Sweep,
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(again, Written::Conflict);

    assert_eq!(store.control_of(&key).await.unwrap().unwrap(), read);
    let db = Db::connect(&url).await;
    assert_eq!(db.count("SELECT COUNT(*) FROM transitions").await, Some(2));
    db.close().await;
}

/// A batch of pushed events is stored and finished in a statement or two, each
/// row still ending its own way: ids in the order of the bodies, handled rows
/// done, a retry due later, an error kept, handled ids remembered once.
#[tokio::test]
async fn a_batch_of_pushed_events_is_stored_and_finished_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh_store(&dir).await;
    let now = Utc.with_ymd_and_hms(2026, 12, 6, 12, 0, 0).unwrap();
    let bodies: Vec<String> = (0..5).map(|n| format!("{{\"n\": {n}}}")).collect();
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let ids = store.inbox_insert_many(&bodies, now).await.unwrap();
    let pending = store.inbox_pending(0, 10, now).await.unwrap();
    let stored: Vec<(i64, &str)> = pending.iter().map(|r| (r.id, r.body.as_str())).collect();
    let expected: Vec<(i64, &str)> = ids.iter().copied().zip(bodies.iter().copied()).collect();
    assert_eq!(stored, expected);
    // Only those stored after an id: how the processor reads new events.
    let after: Vec<i64> = store
        .inbox_pending(ids[2], 10, now)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(after, ids[3..]);

    store
        .mark_event_processed("e-0", "evaluated", now)
        .await
        .unwrap();
    let done = |n: usize, event: Option<&str>| InboxAttempt {
        id: ids[n],
        processed: event.map(|e| (e.to_owned(), "evaluated")),
        end: AttemptEnd::Done(None),
    };
    let attempts = [
        done(0, Some("e-0")), // remembered before: no conflict error
        done(1, Some("e-1")),
        done(2, None),
        InboxAttempt {
            id: ids[3],
            processed: None,
            end: AttemptEnd::Done(Some("malformed".into())),
        },
        InboxAttempt {
            id: ids[4],
            processed: None,
            end: AttemptEnd::Retry {
                error: "busy".into(),
                at: now + Duration::seconds(5),
                counted: true,
            },
        },
    ];
    store.inbox_finish(&attempts, now).await.unwrap();

    let handled = store
        .events_processed(&["e-0", "e-1", "e-2"])
        .await
        .unwrap();
    assert_eq!(handled, ["e-0".to_owned(), "e-1".to_owned()].into());
    assert!(store.inbox_pending(0, 10, now).await.unwrap().is_empty());
    let later = store
        .inbox_pending(0, 10, now + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(
        later.iter().map(|r| (r.id, r.attempts)).collect::<Vec<_>>(),
        [(ids[4], 1)]
    );
    let db = Db::connect(&url).await;
    let kept =
        "SELECT COUNT(*) FROM inbox WHERE processed_at IS NOT NULL AND last_error = 'malformed'";
    assert_eq!(db.count(kept).await, Some(1));
}

/// PostgreSQL plans a prepared statement once for all values (its generic
/// plan), often while the table is still small; the writes of controls by
/// their key must then not walk a whole partial sort index (`controls_live_*`)
/// per row, which a `removed_at IS NULL` in them let the planner choose:
/// hundreds of pages per update at 10,000 controls. One control's writes find
/// it by the primary key.
#[tokio::test]
async fn a_control_is_written_by_its_primary_key_whatever_the_table_size_at_planning() {
    let Ok(server) = std::env::var("REL04D_TEST_POSTGRES_URL") else {
        return; // SQLite plans each statement against the table as it is.
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = fresh_store(&dir).await;
    assert!(url.starts_with(&server));
    for n in 0..3 {
        queue_a_notification(&store, n, Utc::now()).await;
    }
    // One connection: the plan mode and the prepared statements are its own.
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan")
        .execute(&mut db)
        .await
        .unwrap();
    for (n, sql) in rel04d::store::writes_by_key().iter().enumerate() {
        let parameters = (1..).take_while(|p| sql.contains(&format!("${p}"))).count();
        assert!(parameters > 3, "{sql}");
        let one_control = !sql.contains("VALUES");
        // A row of VALUES has no column to tell its parameters' types: the
        // fourth of each row is the version read.
        let types = if one_control {
            String::new()
        } else {
            let types: Vec<&str> = (0..parameters)
                .map(|p| if p % 5 == 3 { "bigint" } else { "text" })
                .collect();
            format!("({})", types.join(", "))
        };
        let prepare = format!("PREPARE write_{n}{types} AS {sql}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
            .execute(&mut db)
            .await
            .unwrap();
        let nulls = vec!["NULL"; parameters].join(", ");
        let explain = format!("EXPLAIN EXECUTE write_{n}({nulls})");
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
            .fetch_all(&mut db)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("controls_live_"), "{sql}\n{plan}");
        if one_control {
            assert!(
                plan.contains("Index Scan using controls_pkey on controls"),
                "{sql}\n{plan}"
            );
        }
    }
}
