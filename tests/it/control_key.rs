//! A control is (workload, lens, question) (issue 23): a database written before
//! controls had a question migrates with its history intact, as REL 04's; two
//! controls of one workload are written, muted, filtered and removed without
//! disturbing each other. On SQLite and (with `REL04D_TEST_POSTGRES_URL`) Postgres.

use crate::common::db::Db;
use crate::common::*;
use chrono::Utc;
use rel04d::control::{ControlState, Outcome, Verdict};
use rel04d::filter::Filter;
use rel04d::store::{ControlKey, Effect, Evaluation, Known, Store};
use rel04d::workload::{Trigger, Workload};

const ARN: &str = "arn:aws:wellarchitected:us-east-1:111122223333:workload/0123456789abcdef";
const REL05: &str = "prevent-interaction-failure-2";

fn backend(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// Migrates `url` to schema `version` only, as a rel04d of that version did.
async fn migrate_to(url: &str, version: u32) {
    let source = format!("{}/migrations/{}", env!("CARGO_MANIFEST_DIR"), backend(url));
    let older = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name[..4].parse::<u32>().unwrap() <= version {
            std::fs::copy(&path, older.path().join(name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(older.path()).await.unwrap();
    let db = Db::connect(url).await;
    migrator.run(&db.pool).await.unwrap();
    db.close().await;
}

async fn execute(db: &Db, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn a_database_at_0012_migrates_with_its_controls_and_history_as_rel04s() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    migrate_to(&url, 12).await;
    let db = Db::connect(&url).await;
    let at = "2026-01-02T03:04:05.000000Z";
    execute(
        &db,
        &format!(
            "INSERT INTO controls (workload_arn, workload_id, workload_name, account_id, region, \
             state, reason, details, scanned_by, version, created_at, updated_at, evaluated_at, \
             muted_at, muted_by, muted_reason, settled_state, settled_through) VALUES ('{ARN}', \
             '0123456789abcdef', 'payments', '111122223333', 'us-east-1', 'alarm', 'Not selected: \
             Identify', '{{\"missing\":[\"identify\"]}}', '111122223333/us-east-1', 3, '{at}', \
             '{at}', '{at}', '{at}', 'ops', 'maintenance', 'alarm', 2)"
        ),
    )
    .await;
    for (from, to) in [("NULL", "'tbd'"), ("'tbd'", "'alarm'")] {
        execute(
            &db,
            &format!(
                "INSERT INTO transitions (workload_id, workload_arn, account_id, region, \
                 from_state, to_state, reason, \"trigger\", occurred_at) VALUES \
                 ('0123456789abcdef', '{ARN}', '111122223333', 'us-east-1', {from}, {to}, 'r', \
                 'sweep', '{at}')"
            ),
        )
        .await;
    }
    execute(
        &db,
        &format!(
            "INSERT INTO mutes (workload_id, workload_arn, action, actor, reason, occurred_at) \
             VALUES ('0123456789abcdef', '{ARN}', 'mute', 'ops', 'maintenance', '{at}')"
        ),
    )
    .await;
    execute(
        &db,
        &format!("INSERT INTO enforce_writes (workload_arn, written_at) VALUES ('{ARN}', '{at}')"),
    )
    .await;
    execute(
        &db,
        &format!(
            "INSERT INTO securityhub_findings (workload_arn, generation, due_at) \
             VALUES ('{ARN}', 4, '{at}')"
        ),
    )
    .await;
    execute(
        &db,
        &format!(
            "INSERT INTO exception_warnings (workload_arn, setting, expires_at, payload, \
             created_at) VALUES ('{ARN}', 's', '{at}', '{{}}', '{at}')"
        ),
    )
    .await;

    let store = Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    store.check_schema().await.unwrap();

    let control = store.control(ARN).await.unwrap().expect("REL 04's control");
    assert_eq!(control.key(), ControlKey::rel04(ARN));
    assert_eq!(
        (control.lens.as_str(), control.question_id.as_str()),
        ("wellarchitected", "prevent-interaction-failure")
    );
    assert_eq!(control.state, ControlState::Alarm);
    assert_eq!(control.reason, "Not selected: Identify");
    assert_eq!(control.details.as_str(), "{\"missing\":[\"identify\"]}");
    assert_eq!((control.version, control.created_at.as_str()), (3, at));
    assert_eq!(control.mute.as_ref().unwrap().reason, "maintenance");
    assert_eq!(control.lens_status, None);
    let transitions = store.list_transitions(&Filter::default()).await.unwrap();
    assert_eq!(transitions.len(), 2);
    assert!(
        transitions
            .iter()
            .all(|t| t.key() == ControlKey::rel04(ARN))
    );
    let mutes = store
        .mute_history_of(&ControlKey::rel04(ARN))
        .await
        .unwrap();
    assert_eq!(mutes.len(), 1);
    assert_eq!(mutes[0].question_id, "prevent-interaction-failure");
    let own = store.last_own_write(&ControlKey::rel04(ARN)).await.unwrap();
    assert_eq!(own.map(rel04d::store::timestamp).as_deref(), Some(at));
    for (table, rows) in [("securityhub_findings", 1), ("exception_warnings", 1)] {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE lens = 'wellarchitected' \
             AND question_id = 'prevent-interaction-failure'"
        );
        assert_eq!(db.count(&sql).await, Some(rows), "{table}");
    }
    // The key is the triple now: another question of the workload is a row of its own.
    execute(
        &db,
        &format!(
            "INSERT INTO controls (workload_arn, question_id, workload_id, workload_name, \
             account_id, region, state, reason, scanned_by, created_at, updated_at) VALUES \
             ('{ARN}', '{REL05}', '0123456789abcdef', 'payments', '111122223333', 'us-east-1', \
             'tbd', 'r', 's', '{at}', '{at}')"
        ),
    )
    .await;
    assert_eq!(db.count("SELECT COUNT(*) FROM controls").await, Some(2));
    assert_eq!(store.control(ARN).await.unwrap().unwrap().version, 3);
    store.close().await;
    db.close().await;
}

fn workload() -> Workload {
    Workload {
        arn: ARN.into(),
        id: "0123456789abcdef".into(),
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
        details: Default::default(),
    })
}

async fn list(store: &Store, filter: &str) -> Vec<(String, String)> {
    let filter = Filter::parse(filter).unwrap();
    let mut rows: Vec<_> = store
        .list_controls(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.question_id, c.state.to_string()))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn two_controls_of_one_workload_are_written_muted_filtered_and_removed_apart() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = Store::connect(&url, 2)
        .await
        .unwrap()
        .with_outbox(true)
        .with_findings(true);
    store.migrate().await.unwrap();
    let db = Db::connect(&url).await;
    let workload = workload();
    let on = Evaluation {
        workload: &workload,
        scanned_by: "111122223333/us-east-1",
        trigger: &Trigger::Sweep,
        lens_status: None,
    };
    let rel04 = ControlKey::rel04(ARN);
    let rel05 = ControlKey::new(ARN, "wellarchitected", REL05);

    let alarm = record(ControlState::Alarm, "Not selected: Identify");
    store.apply(&Known::New, alarm, &on).await.unwrap();
    let ok = record(ControlState::Ok, "all selected");
    let applied = store
        .apply_of(&rel05, "rel05", &Known::New, ok, &on)
        .await
        .unwrap();
    assert_eq!(applied.effect, Effect::Recorded(ControlState::Ok));
    assert!(applied.transitions.iter().all(|t| t.key() == rel05));
    assert_eq!(
        list(&store, "").await,
        [
            ("prevent-interaction-failure".into(), "alarm".into()),
            (REL05.into(), "ok".into())
        ]
    );
    assert_eq!(
        store.control(ARN).await.unwrap().unwrap().state,
        ControlState::Alarm
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM transitions").await, Some(4));
    assert_eq!(db.count("SELECT COUNT(*) FROM outbox").await, Some(4));
    assert_eq!(store.findings_backlog().await.unwrap(), 2);

    // A change of one is written by its key and leaves the other as it was.
    let saved = Known::Saved(Box::new(store.control_of(&rel05).await.unwrap().unwrap()));
    let failed = record(ControlState::Alarm, "Not selected: x");
    store.apply(&saved, failed, &on).await.unwrap();
    let rel05_row = store.control_of(&rel05).await.unwrap().unwrap();
    assert_eq!(rel05_row.state, ControlState::Alarm);
    let rel04_row = store.control_of(&rel04).await.unwrap().unwrap();
    assert_eq!(rel04_row.reason, "Not selected: Identify");
    let filter = Filter::parse(&format!("question:{REL05}")).unwrap();
    let history = store.list_transitions(&filter).await.unwrap();
    assert_eq!(history.len(), 3);
    assert!(history.iter().all(|t| t.question_id == REL05));

    // An unchanged evaluation of each only notes the time, per control.
    let again = Known::Saved(Box::new(rel04_row.clone()));
    let alarm = record(ControlState::Alarm, "Not selected: Identify");
    store.apply(&again, alarm, &on).await.unwrap();
    let again = Known::Saved(Box::new(rel05_row.clone()));
    let alarm = record(ControlState::Alarm, "Not selected: x");
    store.apply(&again, alarm, &on).await.unwrap();
    assert_eq!(store.flush_evaluated().await.unwrap(), 2);

    // A mute is the muted control's alone.
    let now = Utc::now();
    store
        .mute(&rel05_row, None, None, "ops", "noisy", now)
        .await
        .unwrap();
    assert!(store.control_of(&rel05).await.unwrap().unwrap().muted);
    assert!(!store.control_of(&rel04).await.unwrap().unwrap().muted);
    assert_eq!(store.mute_history_of(&rel05).await.unwrap().len(), 1);
    assert!(
        store
            .mute_history_of(&ControlKey::rel04(ARN))
            .await
            .unwrap()
            .is_empty()
    );

    // The filters: lens, question and the lens status set on the lens.
    assert_eq!(list(&store, "lens:wellarchitected").await.len(), 2);
    assert_eq!(list(&store, "lens:arn:aws:wellarchitected::x").await, []);
    assert_eq!(list(&store, &format!("!question:{REL05}")).await.len(), 1);
    assert_eq!(list(&store, "lensStatus:NOT_CURRENT").await, []);
    let set = store.set_lens_status(ARN, "wellarchitected", "NOT_CURRENT");
    assert_eq!(set.await.unwrap(), 2);
    assert_eq!(list(&store, "lensStatus:NOT_CURRENT").await.len(), 2);
    let filter = Filter::parse("lensStatus:NOT_CURRENT").unwrap();
    assert_eq!(store.list_transitions(&filter).await.unwrap().len(), 5);
    assert_eq!(
        store
            .control(ARN)
            .await
            .unwrap()
            .unwrap()
            .lens_status
            .as_deref(),
        Some("NOT_CURRENT")
    );

    // The workload's removal removes both, each with its transition.
    let removed = store
        .remove_workload(ARN, "gone", &Trigger::Sweep, Utc::now())
        .await
        .unwrap();
    let mut keys: Vec<_> = removed.iter().map(|t| t.key()).collect();
    keys.sort();
    assert_eq!(keys, [rel04.clone(), rel05.clone()]);
    assert_eq!(list(&store, "state:removed").await.len(), 2);
    assert!(
        store
            .remove_workload(ARN, "gone", &Trigger::Sweep, Utc::now())
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
    db.close().await;
}

/// `rel04d controls` (JSON, CSV), `history` and GraphQL show each control's lens
/// and question, and filter by them.
#[tokio::test]
async fn the_cli_and_graphql_show_and_filter_by_lens_and_question() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    let store = Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let workload = workload();
    let on = Evaluation {
        workload: &workload,
        scanned_by: "111122223333/us-east-1",
        trigger: &Trigger::Sweep,
        lens_status: None,
    };
    let rel05 = ControlKey::new(ARN, "wellarchitected", REL05);
    let alarm = record(ControlState::Alarm, "Not selected: Identify");
    store.apply(&Known::New, alarm, &on).await.unwrap();
    let ok = record(ControlState::Ok, "all selected");
    store
        .apply_of(&rel05, "rel05", &Known::New, ok, &on)
        .await
        .unwrap();
    store
        .set_lens_status(ARN, "wellarchitected", "CURRENT")
        .await
        .unwrap();
    store.close().await;
    let cli = crate::guardrails::cli;
    let question = format!("question:{REL05}");

    let (out, err, ok) = cli(
        &url,
        &["controls", "--output", "json", "--filter", &question],
    );
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["lens"], "wellarchitected");
    assert_eq!(rows[0]["question_id"], REL05);
    assert_eq!(rows[0]["lens_status"], "CURRENT");
    assert_eq!(rows[0]["state"], "ok");

    let (out, err, ok) = cli(
        &url,
        &[
            "controls",
            "--output",
            "csv",
            "--filter",
            "lens:wellarchitected",
        ],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].ends_with(",reason,lens,question_id,lens_status"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.ends_with(&format!(",wellarchitected,{REL05},CURRENT"))),
        "{out}"
    );

    let (out, err, ok) = cli(
        &url,
        &["history", "--output", "json", "--filter", &question],
    );
    assert!(ok, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows.iter().all(|t| t["question_id"] == REL05), "{out}");

    let query = format!(
        "{{ controls(filter: \"{question} lensStatus:CURRENT\") {{ items {{ lens questionId lensStatus state }} }} \
         transitions(filter: \"!{question}\") {{ items {{ lens questionId toState }} }} }}"
    );
    let (out, err, ok) = cli(&url, &["graphql", &query, "--format", "json"]);
    assert!(ok, "{err}");
    let body: serde_json::Value = serde_json::from_str(&out).unwrap();
    let controls = &body["controls"]["items"];
    assert_eq!(
        *controls,
        serde_json::json!([{"lens": "wellarchitected", "questionId": REL05, "lensStatus": "CURRENT", "state": "ok"}]),
        "{out}"
    );
    let transitions = body["transitions"]["items"].as_array().unwrap();
    assert_eq!(transitions.len(), 2, "{out}");
    assert!(
        transitions
            .iter()
            .all(|t| t["questionId"] == "prevent-interaction-failure"),
        "{out}"
    );

    let (_, err, ok) = cli(&url, &["controls", "--filter", "lensStatus:STALE"]);
    assert!(!ok);
    assert!(err.contains("unknown lens status \"STALE\""), "{err}");
}
