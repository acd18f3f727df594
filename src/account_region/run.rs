//! GraphQL's `runControl` on a running daemon: the evaluation goes through the
//! control's account-region work queue, like an event's, so it coalesces with
//! any evaluation of the same workload already queued. A control of a question
//! other than REL 04 is evaluated alone (one `GetAnswer`), as an answer's event is.

use std::sync::Arc;

use anyhow::Context;
use futures::future::BoxFuture;

use super::AccountRegion;
use crate::graphql::RunControl;
use crate::queue::{Job, Target};
use crate::store::ControlRow;
use crate::workload::Trigger;

/// The daemon's account-regions, as a [`RunControl`].
pub struct ScopeRunner(pub Vec<Arc<AccountRegion>>);

impl RunControl for ScopeRunner {
    fn run<'a>(&'a self, control: &'a ControlRow) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let scope = self
                .0
                .iter()
                .find(|s| s.key() == control.scanned_by)
                .with_context(|| {
                    format!(
                        "the control's account-region {} is not configured",
                        control.scanned_by
                    )
                })?;
            // REL 04's run reads the workload afresh, as it always has; any
            // other question's evaluates that question's control alone.
            let target = if control.key().is_rel04() {
                Target::Id(control.workload_id.clone())
            } else {
                Target::AnswerOf(
                    control.workload_id.clone(),
                    control.lens.clone(),
                    control.question_id.clone(),
                )
            };
            let done = scope.submit(Job {
                target,
                trigger: Trigger::Manual,
            });
            let result = done.await.context("the daemon is stopping")?;
            result.map(|_| ()).map_err(anyhow::Error::msg)
        })
    }
}
