//! Enforce: put the Tool's answer right, then record what was written.

use anyhow::Context;

use super::{Reconciled, Reconciler, Subject};
use crate::control::{self, ControlState, Expected, ObservedAnswer, Outcome};
use crate::metrics::EnforcementLabels;
use crate::store::ControlRow;

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
        alarm: Outcome,
    ) -> anyhow::Result<Reconciled> {
        let Some(update) = control::plan_update(expected, observed) else {
            return self.record(subject, &control, &alarm, None).await;
        };
        // The mismatch is a real state of the world: record it before acting on it.
        // Recording releases any claim, so claim again before writing the answer.
        let settled = [ControlState::Alarm, ControlState::Error];
        let control = if settled.contains(&control.state) {
            control
        } else {
            if self.record(subject, &control, &alarm, None).await? == Reconciled::Superseded {
                return Ok(Reconciled::Superseded);
            }
            let recorded = self
                .store
                .control(&subject.workload.arn)
                .await?
                .context("the control vanished while enforcing")?;
            match self.claim(recorded).await? {
                Some(control) => control,
                None => return Ok(Reconciled::Busy),
            }
        };
        let (wa, id) = (subject.scope.wa, &subject.workload.id);
        let (result, written) = match wa.update_answer(id, &update).await {
            Err(error) => (
                control::unreadable(expected, &format!("enforce failed: {error}")),
                false,
            ),
            Ok(()) => (self.read_back(subject, expected).await, true),
        };
        self.metrics
            .enforcements
            .get_or_create(&EnforcementLabels {
                result: result.state,
            })
            .inc();
        // Only a write that happened is recorded as one.
        let enforced = written.then_some(update.changes.as_slice());
        self.record(subject, &control, &result, enforced).await
    }

    /// The answer after writing it: `ok` if it now matches, else `error`.
    async fn read_back(&self, subject: &Subject<'_>, expected: &Expected) -> Outcome {
        let (wa, id) = (subject.scope.wa, &subject.workload.id);
        match wa.get_answer(id).await {
            Err(error) => control::unreadable(
                expected,
                &format!("read-back after enforce failed: {error}"),
            ),
            Ok(after) => {
                let mut judged = control::judge(expected, &after);
                if judged.state != ControlState::Ok {
                    judged.state = ControlState::Error;
                    judged.reason = format!(
                        "Enforced, but the answer still does not match: {}",
                        judged.reason
                    );
                }
                judged
            }
        }
    }
}
