//! A workload that cannot be described: gone, or out of reach.

use super::commit::workload_of;
use super::lens::Ended;
use super::{Reconciled, Reconciler, ScopeRef, Subject, decide};
use crate::control::Verdict;
use crate::store::{ControlRow, Evaluation, Known};
use crate::wellarchitected::WaError;
use crate::workload::{Trigger, Workload};

impl Reconciler {
    /// Removes the controls of a workload that no longer exists; otherwise puts
    /// its controls in `error`: those of the lenses its listing shows (created if
    /// new) and every other active one the store has.
    pub(super) async fn undescribable(
        &self,
        scope: &ScopeRef<'_>,
        trigger: &Trigger,
        workload_id: &str,
        listed: Option<&Workload>,
        error: WaError,
    ) -> anyhow::Result<Reconciled> {
        let verdict = decide::of_undescribable(&error);
        if let Verdict::Remove { .. } = verdict {
            return self.apply_current_all(workload_id, verdict, trigger).await;
        }
        let mut controls: Vec<ControlRow> = Vec::new();
        if let Some(workload) = listed {
            for governed in self.lenses.iter().filter(|g| workload.has(&g.lens)) {
                for control in &governed.listed {
                    let subject = Subject {
                        scope,
                        workload,
                        control,
                        lens_status: None,
                        trigger,
                    };
                    controls.push(self.open(&subject).await?);
                }
            }
        }
        for stored in self.store.controls_of_workload_id(workload_id).await? {
            if !stored.is_removed() && !controls.iter().any(|c| c.key() == stored.key()) {
                controls.push(stored);
            }
        }
        if controls.is_empty() {
            tracing::warn!(workload_id, error = %error, "cannot describe a workload that has no control");
            return Ok(Reconciled::Ignored);
        }
        let mut ended = Ended::default();
        for control in controls {
            let workload = workload_of(&control);
            let on = Evaluation {
                workload: &workload,
                scanned_by: scope.key,
                trigger,
                lens_status: None,
            };
            let (key, control_type) = (control.key(), control.control_type.clone());
            let saved = Known::Saved(Box::new(control));
            let verdict = verdict.clone();
            ended.add(
                self.apply_to(&on, (&key, &control_type), &saved, verdict)
                    .await?,
            );
        }
        Ok(ended.into_reconciled())
    }
}
