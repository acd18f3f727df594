//! `rel04d enforce --plan`: what Enforce would write to each answer now, read
//! live from the Tool, writing nothing (neither the Tool nor the database).

use chrono::Utc;
use serde::Serialize;

use super::{Reconciler, ScopeRef};
use crate::control::enforce_plan::{EnforcePlan, PlanStatus, enforce_plan};
use crate::control::{self, Mode, Plan};
use crate::store::ControlRow;

/// One workload's plan, as `enforce --plan` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadPlan {
    pub workload_id: String,
    pub workload_name: String,
    pub workload_arn: String,
    #[serde(flatten)]
    pub plan: EnforcePlan,
}

impl Reconciler {
    /// Reads the workload and its answer as an evaluation would, and says what
    /// Enforce would write. Tool errors end in the plan (`unreadable`).
    pub async fn enforce_plan(&self, scope: &ScopeRef<'_>, control: &ControlRow) -> WorkloadPlan {
        WorkloadPlan {
            workload_id: control.workload_id.clone(),
            workload_name: control.workload_name.clone(),
            workload_arn: control.workload_arn.clone(),
            plan: self.plan_now(scope, control).await,
        }
    }

    async fn plan_now(&self, scope: &ScopeRef<'_>, control: &ControlRow) -> EnforcePlan {
        let unreadable = |error: String| EnforcePlan::nothing(PlanStatus::Unreadable, error);
        let workload = match scope.wa.describe_workload(&control.workload_id).await {
            Ok(workload) => workload,
            Err(error) => return unreadable(error.to_string()),
        };
        let definition = self.definition_of(&control.lens, &control.question_id);
        let plan = control::plan(control::resolve_control(
            &definition,
            &self.policies,
            &workload.policy_facts(),
            Utc::now(),
            &Default::default(),
        ));
        if !matches!(&plan, Plan::Check(expected) if expected.mode == Mode::Enforce) {
            return enforce_plan(&plan, Err("not read"), None);
        }
        let observed = match scope
            .wa
            .get_answer(&workload.id, &control.lens, &control.question_id)
            .await
        {
            Ok(observed) => observed,
            Err(error) => {
                return enforce_plan(&plan, Err(&error.to_string()), None);
            }
        };
        let deferral = if self.defer_after_human_change.is_zero() {
            None
        } else {
            match self.deferral(scope.wa, &workload, &control.key()).await {
                Ok(deferral) => deferral,
                Err(error) => return unreadable(crate::display::chain(&error).to_string()),
            }
        };
        enforce_plan(&plan, Ok(&observed), deferral)
    }
}
