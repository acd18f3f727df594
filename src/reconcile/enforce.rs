//! Enforce: put the Tool's answer right, then record what was written.

use anyhow::Context;
use chrono::Utc;

use super::decide::{self, Enforcing};
use super::{Reconciled, Reconciler, Subject};
use crate::control::defer::{self, Deferral};
use crate::control::{self, ControlState, Expected, ObservedAnswer, Outcome, Verdict};
use crate::metrics::EnforcementLabels;
use crate::store::{ControlKey, ControlRow, Known};
use crate::wellarchitected::WellArchitected;
use crate::workload::Workload;

impl Reconciler {
    /// Records the alarm, writes the expected answer, reads it back, and records
    /// `ok` (or `error`) with what was written. A control already in `alarm`, or in
    /// `error` from an enforce that keeps failing, is not moved to `alarm` first,
    /// so a persistent failure records nothing new pass after pass.
    pub(super) async fn enforce(
        &self,
        subject: &Subject<'_>,
        control: ControlRow,
        expected: &Expected,
        observed: &ObservedAnswer,
        mut alarm: Outcome,
    ) -> anyhow::Result<Reconciled> {
        let Some(update) = control::plan_update(expected, observed) else {
            let control = Known::Saved(Box::new(control));
            return self.apply(subject, &control, Verdict::record(alarm)).await;
        };
        if !self.defer_after_human_change.is_zero() {
            let key = subject.key();
            let deferral = self
                .deferral(subject.scope.wa, subject.workload, &key)
                .await;
            let deferral = deferral.map_err(|error| error.to_string());
            alarm = match decide::before_enforce(expected, alarm, deferral) {
                Enforcing::Write(alarm) => alarm,
                Enforcing::Hold(verdict) => {
                    let control = Known::Saved(Box::new(control));
                    return self.apply(subject, &control, verdict).await;
                }
            };
        }
        // The mismatch is a real state of the world: record it before acting on it.
        // Recording releases any claim, so claim again before writing the answer.
        let settled = [ControlState::Alarm, ControlState::Error];
        let control = if settled.contains(&control.state) {
            control
        } else {
            let unclaimed = Known::Saved(Box::new(control));
            if self
                .apply(subject, &unclaimed, Verdict::record(alarm))
                .await?
                == Reconciled::Superseded
            {
                return Ok(Reconciled::Superseded);
            }
            let recorded = self
                .store
                .control_of(&subject.key())
                .await?
                .context("the control vanished while enforcing")?;
            match self.claim(recorded).await? {
                Some(control) => control,
                None => return Ok(Reconciled::Busy),
            }
        };
        let (wa, id) = (subject.scope.wa, &subject.workload.id);
        // Recorded before the call too: a crash after the Tool took the write
        // must not leave it looking like someone else's change.
        let key = subject.key();
        let (lens, question) = (&subject.control.lens, &subject.control.question_id);
        self.store.record_own_write(&key, Utc::now()).await?;
        let (result, written) = match wa.update_answer(id, lens, question, &update).await {
            Err(error) => (
                control::unreadable(expected, &format!("enforce failed: {error}")),
                false,
            ),
            Ok(()) => {
                self.store.record_own_write(&key, Utc::now()).await?;
                (self.read_back(subject, expected).await, true)
            }
        };
        self.metrics
            .enforcements
            .get_or_create(&EnforcementLabels {
                result: result.state,
            })
            .inc();
        // Only a write that happened is recorded as one.
        let verdict = Verdict::Record {
            outcome: result,
            enforced: written.then_some(update.changes),
        };
        self.apply(subject, &Known::Saved(Box::new(control)), verdict)
            .await
    }

    /// Someone else's recent change to `workload`, if Enforce of the control
    /// `key` must wait for it. (The Tool dates changes per workload: rel04d's
    /// own write to another question of it reads as someone else's here, which
    /// only ever defers.)
    pub(super) async fn deferral(
        &self,
        wa: &WellArchitected,
        workload: &Workload,
        key: &ControlKey,
    ) -> anyhow::Result<Option<Deferral>> {
        let updated_at = wa.workload_updated_at(&workload.id).await?;
        let own_write = self.store.last_own_write(key).await?;
        Ok(defer::deferral(
            updated_at,
            own_write,
            self.defer_after_human_change,
            Utc::now(),
        ))
    }

    /// The answer after writing it: `ok` if it now matches, else `error`.
    async fn read_back(&self, subject: &Subject<'_>, expected: &Expected) -> Outcome {
        let (wa, id) = (subject.scope.wa, &subject.workload.id);
        let (lens, question) = (&subject.control.lens, &subject.control.question_id);
        decide::of_read_back(expected, wa.get_answer(id, lens, question).await.as_ref())
    }
}
