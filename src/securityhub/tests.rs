//! The publisher against a fake Security Hub and a real (SQLite) store: what is
//! queued, when it is sent again, what refusals and failures do.

use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::control::ControlState;
use crate::control::policy::{LENS_ALIAS, QUESTION_ID};
use crate::store::{Recording, Written};
use crate::workload::{Trigger, Workload};

/// Records every request; refuses the ids in `refuse` once each, fails whole
/// calls while `fail` is set.
#[derive(Default)]
struct Fake {
    requests: Mutex<Vec<(String, String, Vec<Finding>)>>,
    refuse: Mutex<Vec<String>>,
    fail: Mutex<bool>,
}

impl Importer for Fake {
    async fn import(
        &self,
        account: &str,
        region: &str,
        findings: &[Finding],
    ) -> Result<Vec<Refused>, ImportError> {
        self.requests
            .lock()
            .unwrap()
            .push((account.into(), region.into(), findings.to_vec()));
        if *self.fail.lock().unwrap() {
            return Err(ImportError::Call("ServiceUnavailable".into()));
        }
        let mut refuse = self.refuse.lock().unwrap();
        let refused: Vec<Refused> = findings
            .iter()
            .filter(|f| refuse.contains(&f.id))
            .map(|f| Refused {
                id: f.id.clone(),
                message: "InvalidInput: nope".into(),
            })
            .collect();
        refuse.retain(|id| !refused.iter().any(|r| &r.id == id));
        Ok(refused)
    }
}

impl Fake {
    fn sent(&self) -> Vec<Finding> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, _, findings)| findings.clone())
            .collect()
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    publisher: FindingPublisher<Arc<Fake>>,
    fake: Arc<Fake>,
}

async fn setup(findings_on: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url, 2)
        .await
        .unwrap()
        .with_findings(findings_on);
    store.migrate().await.unwrap();
    let fake = Arc::new(Fake::default());
    let publisher = FindingPublisher {
        store,
        importer: fake.clone(),
        settings: SecurityHubSettings::default(),
        policies: crate::control::PolicySet::default(),
        owner: "me".into(),
        metrics: Arc::new(Metrics::new()),
    };
    Setup {
        _dir: dir,
        publisher,
        fake,
    }
}

fn workload(n: usize, account: &str) -> Workload {
    Workload {
        arn: format!("arn:aws:wellarchitected:us-east-1:{account}:workload/w{n}"),
        id: format!("w{n}"),
        name: format!("workload {n}"),
        account_id: account.into(),
        region: "us-east-1".into(),
        lenses: vec!["wellarchitected".into()],
        tags: None,
        data: None,
    }
}

async fn record(store: &Store, workload: &Workload, state: ControlState, reason: &str) {
    let details = json!({});
    let rec = Recording {
        workload,
        scanned_by: "ambient/us-east-1",
        state,
        reason,
        details: &details,
        trigger: &Trigger::Sweep,
        enforced: None,
        lens_status: None,
        at: Utc::now(),
    };
    match store.control(&workload.arn).await.unwrap() {
        None => {
            let key = crate::store::ControlKey::rel04(&rec.workload.arn);
            store
                .create_and_record_of(&key, "rel04", &rec)
                .await
                .unwrap()
                .unwrap();
        }
        Some(previous) => {
            let written = store.record(&previous, &rec).await.unwrap();
            assert!(!matches!(written, Written::Conflict));
        }
    }
}

fn counted(publisher: &FindingPublisher<Arc<Fake>>, result: FindingResult) -> u64 {
    publisher
        .metrics
        .securityhub_findings
        .get_or_create(&FindingLabels { result })
        .get()
}

#[tokio::test]
async fn a_change_queues_its_finding_and_an_import_sends_the_current_state() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    let w = workload(1, "111122223333");
    record(store, &w, ControlState::Alarm, "two are missing").await;
    assert_eq!(s.publisher.publish_due().await.unwrap(), 1);
    let sent = s.fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].status, finding::ComplianceStatus::Failed);
    assert_eq!(counted(&s.publisher, FindingResult::Imported), 1);
    // Sent: nothing is due until something changes.
    assert_eq!(s.publisher.publish_due().await.unwrap(), 0);
    assert_eq!(store.findings_backlog().await.unwrap(), 0);

    // A reason-only change (no transition) updates the finding too.
    record(store, &w, ControlState::Alarm, "one is missing").await;
    assert_eq!(s.publisher.publish_due().await.unwrap(), 1);
    let sent = s.fake.sent();
    assert_eq!(sent[1].id, sent[0].id, "the same finding, updated");
    assert_eq!(sent[1].reason, "one is missing");

    record(store, &w, ControlState::Ok, "all four").await;
    s.publisher.publish_due().await.unwrap();
    assert_eq!(s.fake.sent()[2].status, finding::ComplianceStatus::Passed);
}

#[tokio::test]
async fn nothing_is_queued_when_security_hub_is_off() {
    let s = setup(false).await;
    record(
        &s.publisher.store,
        &workload(1, "111122223333"),
        ControlState::Ok,
        "x",
    )
    .await;
    assert_eq!(s.publisher.publish_due().await.unwrap(), 0);
    assert!(s.fake.sent().is_empty());
}

#[tokio::test]
async fn a_removed_workloads_finding_is_archived() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    let w = workload(1, "111122223333");
    record(store, &w, ControlState::Alarm, "x").await;
    s.publisher.publish_due().await.unwrap();
    let control = store.control(&w.arn).await.unwrap().unwrap();
    store
        .remove(&control, "Workload deleted", &Trigger::Sweep, Utc::now())
        .await
        .unwrap();
    s.publisher.publish_due().await.unwrap();
    let last = s.fake.sent().pop().unwrap();
    assert!(last.archived);
    assert_eq!(last.to_asff()["RecordState"], "ARCHIVED");
}

#[tokio::test]
async fn refused_findings_are_counted_and_retried_alone() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    let (a, b) = (workload(1, "111122223333"), workload(2, "111122223333"));
    record(store, &a, ControlState::Ok, "x").await;
    record(store, &b, ControlState::Alarm, "y").await;
    let refused_id = finding::finding_id(&b.arn, "rel04", LENS_ALIAS, QUESTION_ID);
    s.fake.refuse.lock().unwrap().push(refused_id.clone());
    s.publisher.publish_due().await.unwrap();
    assert_eq!(counted(&s.publisher, FindingResult::Imported), 1);
    assert_eq!(counted(&s.publisher, FindingResult::Refused), 1);
    assert_eq!(store.findings_backlog().await.unwrap(), 1);
    // Backed off: not due at once; due after its backoff, and only it.
    assert_eq!(s.publisher.publish_due().await.unwrap(), 0);
    let later = Utc::now() + chrono::Duration::seconds(10);
    let due = store
        .claim_findings("me", 10, later, later + CLAIM)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].control.workload_arn, b.arn);
    assert_eq!(due[0].attempts, 1);
}

#[tokio::test]
async fn a_failed_call_is_counted_per_finding_and_retried() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    record(store, &workload(1, "111122223333"), ControlState::Ok, "x").await;
    record(store, &workload(2, "111122223333"), ControlState::Ok, "x").await;
    *s.fake.fail.lock().unwrap() = true;
    s.publisher.publish_due().await.unwrap();
    assert_eq!(counted(&s.publisher, FindingResult::Failed), 2);
    assert_eq!(store.findings_backlog().await.unwrap(), 2);
    let later = Utc::now() + chrono::Duration::seconds(10);
    assert_eq!(
        store
            .claim_findings("me", 10, later, later + CLAIM)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn findings_are_imported_per_account_and_region() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    record(store, &workload(1, "111122223333"), ControlState::Ok, "x").await;
    record(store, &workload(2, "444455556666"), ControlState::Ok, "x").await;
    record(store, &workload(3, "111122223333"), ControlState::Ok, "x").await;
    s.publisher.publish_due().await.unwrap();
    let requests = s.fake.requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    for (account, region, findings) in requests.iter() {
        assert_eq!(region, "us-east-1");
        assert!(findings.iter().all(|f| &f.aws_account_id == account));
    }
}

#[tokio::test]
async fn every_finding_is_sent_again_before_security_hub_expires_it() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    record(store, &workload(1, "111122223333"), ControlState::Ok, "x").await;
    s.publisher.publish_due().await.unwrap();
    let before_refresh = Utc::now() + REFRESH - chrono::Duration::minutes(1);
    let claim = |at: DateTime<Utc>| store.claim_findings("me", 10, at, at + CLAIM);
    assert!(claim(before_refresh).await.unwrap().is_empty());
    let after_refresh = Utc::now() + REFRESH + chrono::Duration::minutes(1);
    assert_eq!(claim(after_refresh).await.unwrap().len(), 1);
    assert!(REFRESH < chrono::Duration::days(90));
}

#[tokio::test]
async fn a_change_during_an_import_is_not_lost() {
    let s = setup(true).await;
    let store = &s.publisher.store;
    let w = workload(1, "111122223333");
    record(store, &w, ControlState::Alarm, "x").await;
    let now = Utc::now();
    let due = store
        .claim_findings("me", 10, now, now + CLAIM)
        .await
        .unwrap();
    // The control changes after it was read for the import, before it is marked.
    record(store, &w, ControlState::Ok, "fixed").await;
    store
        .mark_finding_sent(&due[0], "me", now, now + REFRESH)
        .await
        .unwrap();
    assert_eq!(store.findings_backlog().await.unwrap(), 1);
    s.publisher.publish_due().await.unwrap();
    assert_eq!(s.fake.sent()[0].status, finding::ComplianceStatus::Passed);
    assert_eq!(store.findings_backlog().await.unwrap(), 0);
}

#[tokio::test]
async fn controls_recorded_before_enabling_are_queued_once() {
    let s = setup(false).await;
    let store = &s.publisher.store;
    record(store, &workload(1, "111122223333"), ControlState::Ok, "x").await;
    let store = store.clone().with_findings(true);
    assert_eq!(store.queue_missing_findings(Utc::now()).await.unwrap(), 1);
    assert_eq!(store.queue_missing_findings(Utc::now()).await.unwrap(), 0);
    assert_eq!(s.publisher.publish_due().await.unwrap(), 1);
}
