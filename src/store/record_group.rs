//! Evaluations that change a control, written many to a commit.
//!
//! Each change is still its own version-checked update (and transition, and
//! outbox row): a batch only shares the transaction, so a change whose control
//! was written meanwhile is a [`Written::Conflict`] alone and the others
//! commit. Under a flood of events this is one WAL append (or one PostgreSQL
//! commit) for many transitions, and pages they share (the tail of
//! `transitions`, the time indexes) are written once. If the shared
//! transaction fails at one change's statement, that change fails alone and the
//! others are written again together.

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::Store;
use super::rows::ControlRow;
use super::write::{Recording, Written, update_in};
use crate::control::ControlState;
use crate::workload::{Trigger, Workload};

/// Most changes one commit writes.
pub(super) const MAX_PER_COMMIT: usize = 64;

/// A [`Recording`] that owns what it says, to be written by whichever
/// evaluation holds the writer's turn.
struct OwnedRecording {
    workload: Workload,
    scanned_by: String,
    state: ControlState,
    reason: String,
    details: serde_json::Value,
    trigger: Trigger,
    enforced: Option<Vec<String>>,
    lens_status: Option<String>,
    at: DateTime<Utc>,
}

impl OwnedRecording {
    fn of(rec: &Recording<'_>) -> Self {
        OwnedRecording {
            workload: rec.workload.clone(),
            scanned_by: rec.scanned_by.to_owned(),
            state: rec.state,
            reason: rec.reason.to_owned(),
            details: rec.details.clone(),
            trigger: rec.trigger.clone(),
            enforced: rec.enforced.map(<[String]>::to_vec),
            lens_status: rec.lens_status.map(str::to_owned),
            at: rec.at,
        }
    }

    fn recording(&self) -> Recording<'_> {
        Recording {
            workload: &self.workload,
            scanned_by: &self.scanned_by,
            state: self.state,
            reason: &self.reason,
            details: &self.details,
            trigger: &self.trigger,
            enforced: self.enforced.as_deref(),
            lens_status: self.lens_status.as_deref(),
            at: self.at,
        }
    }
}

/// A change waiting for its commit, and whom to answer.
pub(super) struct QueuedRecording {
    previous: ControlRow,
    rec: OwnedRecording,
    answer: oneshot::Sender<Result<Written, String>>,
}

impl Store {
    /// Writes `rec` over `previous` in a commit shared with the changes other
    /// evaluations queued meanwhile; returns once that commit is done.
    pub(super) async fn record_together(
        &self,
        previous: &ControlRow,
        rec: &Recording<'_>,
    ) -> anyhow::Result<Written> {
        let (answer, answered) = oneshot::channel();
        let queued = QueuedRecording {
            previous: previous.clone(),
            rec: OwnedRecording::of(rec),
            answer,
        };
        self.recordings
            .submit(queued, answered, |batch| self.write_recordings(batch))
            .await?
            .map_err(|why| anyhow::anyhow!(why))
    }

    async fn write_recordings(&self, mut batch: Vec<QueuedRecording>) {
        loop {
            let failed = match self.write_in_one(&batch).await {
                Ok(written) => {
                    for (queued, written) in batch.into_iter().zip(written) {
                        let _ = queued.answer.send(Ok(written));
                    }
                    return;
                }
                Err(failed) => failed,
            };
            let why = crate::display::chain(&failed.error).to_string();
            match failed.at {
                // The change whose statement failed fails alone; the others
                // are written again together (each round drops one).
                Some(at) => {
                    let _ = batch.remove(at).answer.send(Err(why));
                    if batch.is_empty() {
                        return;
                    }
                }
                None => {
                    for queued in batch {
                        let _ = queued.answer.send(Err(why.clone()));
                    }
                    return;
                }
            }
        }
    }

    /// Writes each queued change in one transaction, committed unless every
    /// one of them conflicted (then nothing was written).
    async fn write_in_one(&self, batch: &[QueuedRecording]) -> Result<Vec<Written>, Failed> {
        let whole = |error| Failed { error, at: None };
        let mut tx = self.begin_write().await.map_err(whole)?;
        let mut written = Vec::with_capacity(batch.len());
        for (at, queued) in batch.iter().enumerate() {
            let rec = queued.rec.recording();
            let one = update_in(&mut tx, self.queues(), &queued.previous, &rec).await;
            written.push(one.map_err(|error| Failed {
                error,
                at: Some(at),
            })?);
        }
        if written.iter().any(|w| *w != Written::Conflict) {
            let what = if batch.len() == 1 {
                "an evaluation"
            } else {
                "evaluations"
            };
            self.commit(tx, what).await.map_err(whole)?;
        }
        Ok(written)
    }
}

/// Why a shared transaction failed: a change's own statement (`at`, its
/// place in the batch), or the transaction itself (beginning, committing).
struct Failed {
    error: anyhow::Error,
    at: Option<usize>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::ControlKey;

    fn workload(n: usize) -> Workload {
        Workload {
            arn: format!("arn:aws:wellarchitected:us-east-1:111122223333:workload/w{n}"),
            id: format!("w{n}"),
            name: format!("workload {n}"),
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            lenses: vec!["wellarchitected".into()],
            tags: None,
            data: None,
        }
    }

    fn recording<'a>(
        workload: &'a Workload,
        state: ControlState,
        reason: &'a str,
        details: &'a serde_json::Value,
    ) -> Recording<'a> {
        Recording {
            workload,
            scanned_by: "ambient/us-east-1",
            state,
            reason,
            details,
            trigger: &Trigger::Sweep,
            enforced: None,
            lens_status: None,
            at: Utc::now(),
        }
    }

    /// A scratch SQLite store with `n` controls in `ok`, and them as read.
    async fn controls_in_ok(
        n: usize,
    ) -> (tempfile::TempDir, Store, Vec<Workload>, Vec<ControlRow>) {
        let (dir, store) = crate::store::scratch_store().await;
        let details = json!({});
        let workloads: Vec<Workload> = (0..n).map(workload).collect();
        let mut rows = Vec::new();
        for w in &workloads {
            let key = ControlKey::rel04(&w.arn);
            let rec = recording(w, ControlState::Ok, "all four", &details);
            store
                .create_and_record_of(&key, "rel04", &rec)
                .await
                .unwrap();
            rows.push(store.control(&w.arn).await.unwrap().unwrap());
        }
        (dir, store, workloads, rows)
    }

    /// Commits in the WAL of the SQLite database at `db` since it was last
    /// emptied: frames whose header gives the database's size after a commit.
    fn commits_in_wal(db: &std::path::Path) -> usize {
        let wal = std::fs::read(format!("{}-wal", db.display())).unwrap();
        let page_size = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
        let salts = &wal[16..24];
        let mut commits = 0;
        let mut at = 32;
        while at + 24 + page_size <= wal.len() {
            let frame = &wal[at..at + 24];
            if &frame[8..16] != salts {
                break;
            }
            if frame[4..8] != [0; 4] {
                commits += 1;
            }
            at += 24 + page_size;
        }
        commits
    }

    async fn empty_the_wal(db: &std::path::Path) {
        let url = format!("sqlite://{}", db.display());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .unwrap();
    }

    /// Changes recorded at once are each written once, with their transition,
    /// in fewer commits than changes.
    #[tokio::test]
    async fn changes_recorded_at_once_share_commits() {
        let (dir, store, workloads, rows) = controls_in_ok(40).await;
        let db = dir.path().join("t.db");
        empty_the_wal(&db).await;
        let details = json!({"n": 1});
        let written = futures::future::join_all(workloads.iter().zip(&rows).map(|(w, row)| {
            let rec = recording(w, ControlState::Alarm, "one is missing", &details);
            let store = store.clone();
            async move { store.record(row, &rec).await.unwrap() }
        }))
        .await;
        for (w, written) in workloads.iter().zip(&written) {
            let Written::Transition(transition) = written else {
                panic!("{written:?}")
            };
            assert_eq!(transition.workload_arn, w.arn);
            assert_eq!(transition.to_state, "alarm");
            let now = store.control(&w.arn).await.unwrap().unwrap();
            assert_eq!(now.state, ControlState::Alarm);
        }
        let commits = commits_in_wal(&db);
        assert!(
            (1..20).contains(&commits),
            "{commits} commits for 40 changes"
        );
    }

    /// Two changes of one control read at the same version, in one commit:
    /// one is written, the other conflicts, and the rest of the commit stands.
    #[tokio::test]
    async fn a_change_that_conflicts_in_a_shared_commit_conflicts_alone() {
        let (_dir, store, workloads, rows) = controls_in_ok(2).await;
        let details = json!({});
        let alarm = recording(
            &workloads[0],
            ControlState::Alarm,
            "one is missing",
            &details,
        );
        let error = recording(
            &workloads[0],
            ControlState::Error,
            "the Tool failed",
            &details,
        );
        let other = recording(
            &workloads[1],
            ControlState::Alarm,
            "one is missing",
            &details,
        );
        let (a, b, c) = tokio::join!(
            store.record(&rows[0], &alarm),
            store.record(&rows[0], &error),
            store.record(&rows[1], &other),
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!(
            [&a, &b]
                .iter()
                .filter(|w| ***w == Written::Conflict)
                .count(),
            1,
            "{a:?} {b:?}"
        );
        assert!(matches!(c, Written::Transition(_)), "{c:?}");
        let filter =
            crate::filter::Filter::parse(&format!("workload:{}", workloads[0].id)).unwrap();
        let transitions = store.list_transitions(&filter).await.unwrap();
        assert_eq!(transitions.len(), 3, "tbd, ok, and one of the two");
    }

    /// A change whose statement fails (here a trigger refuses it) fails alone;
    /// the changes that shared its commit are written.
    #[tokio::test]
    async fn a_change_that_cannot_be_written_fails_alone() {
        let (dir, store, workloads, rows) = controls_in_ok(3).await;
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query(
            "CREATE TRIGGER refuse BEFORE UPDATE ON controls WHEN NEW.reason = 'refused' \
             BEGIN SELECT RAISE(ABORT, 'this change is refused'); END",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let details = json!({});
        let first = recording(
            &workloads[0],
            ControlState::Alarm,
            "one is missing",
            &details,
        );
        let refused = recording(&workloads[1], ControlState::Alarm, "refused", &details);
        let last = recording(
            &workloads[2],
            ControlState::Alarm,
            "one is missing",
            &details,
        );
        let (first, refused, last) = tokio::join!(
            store.record(&rows[0], &first),
            store.record(&rows[1], &refused),
            store.record(&rows[2], &last),
        );
        let refused = refused.unwrap_err().to_string();
        assert!(refused.contains("this change is refused"), "{refused}");
        assert!(matches!(first.unwrap(), Written::Transition(_)));
        assert!(matches!(last.unwrap(), Written::Transition(_)));
        let states: Vec<ControlState> =
            futures::future::join_all(workloads.iter().map(|w| store.control(&w.arn)))
                .await
                .into_iter()
                .map(|row| row.unwrap().unwrap().state)
                .collect();
        assert_eq!(
            states,
            [ControlState::Alarm, ControlState::Ok, ControlState::Alarm]
        );
    }
}
