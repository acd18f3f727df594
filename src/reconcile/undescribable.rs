//! A workload that cannot be described: gone, or out of reach.

use super::commit::workload_of;
use super::{Reconciled, Reconciler, ScopeRef, decide};
use crate::control::Verdict;
use crate::store::{Evaluation, Known};
use crate::wellarchitected::WaError;
use crate::workload::{Trigger, Workload};

impl Reconciler {
    /// Removes the control of a workload that no longer exists; otherwise puts the
    /// control of a workload known from the listing or the store in `error`.
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
            return self.apply_current(workload_id, verdict, trigger).await;
        }
        let control = match listed {
            Some(workload) if workload.has_lens() => {
                self.open(workload, scope.key, trigger).await?
            }
            _ => match self.store.control_by_workload_id(workload_id).await? {
                Some(control) if !control.is_removed() => control,
                _ => {
                    tracing::warn!(workload_id, error = %error, "cannot describe a workload that has no control");
                    return Ok(Reconciled::Ignored);
                }
            },
        };
        let workload = workload_of(&control);
        let on = Evaluation {
            workload: &workload,
            scanned_by: scope.key,
            trigger,
        };
        self.apply(&on, &Known::Saved(Box::new(control)), verdict)
            .await
    }
}
