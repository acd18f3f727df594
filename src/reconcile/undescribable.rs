//! A workload that cannot be described: gone, or out of reach.

use super::{Reconciled, Reconciler, ScopeRef, Subject};
use crate::control::{self, ControlState, Outcome};
use crate::wellarchitected::{ErrorKind, WaError};
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
        if error.kind == ErrorKind::NotFound {
            return self
                .remove(workload_id, "The workload no longer exists", trigger)
                .await;
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
        let workload = Workload {
            arn: control.workload_arn.clone(),
            id: control.workload_id.clone(),
            name: control.workload_name.clone(),
            account_id: control.account_id.clone(),
            region: control.region.clone(),
            lenses: Vec::new(),
            tags: None,
            data: None,
        };
        let outcome = Outcome {
            state: ControlState::Error,
            reason: format!("Could not describe the workload: {error}"),
            details: control::Details {
                error: Some(error.to_string()),
                ..control::Details::default()
            },
        };
        let subject = Subject {
            scope,
            workload: &workload,
            trigger,
        };
        self.record(&subject, &control, &outcome, None).await
    }
}
