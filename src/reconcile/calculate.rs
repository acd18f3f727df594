//! Runs the calculations of calculated policies for one evaluation: each
//! `template_input` query on rel04d's own schema with `resource` = the workload
//! as just described (no Tool call beyond that GetWorkload), then its template
//! (pure, in `control::calculated`).

use chrono::{DateTime, Utc};

use crate::control::calculated::render;
use crate::control::{self, Calculated, CalculationTrace, WorkloadFacts};
use crate::graphql::EvaluatedResource;
use crate::graphql::turbot::Resource;
use crate::workload::Workload;

use super::Reconciler;

impl Reconciler {
    /// Every calculation that applies to `workload`, run now; failures are kept
    /// in the traces (they make the control `invalid` only if their value wins).
    pub(super) async fn calculate(
        &self,
        workload: &Workload,
        facts: &WorkloadFacts<'_>,
        now: DateTime<Utc>,
    ) -> Calculated {
        let mut calculated = Calculated::default();
        let wanted = control::calculations(&self.policies, facts, now);
        if wanted.is_empty() {
            return calculated;
        }
        let resource = EvaluatedResource(Resource::of_workload(workload));
        for (origin, key, calculation) in wanted {
            let request = async_graphql::Request::new(calculation.template_input.clone())
                .data(resource.clone());
            let response = self.schema.execute(request).await;
            let mut trace = CalculationTrace {
                template: calculation.template.clone(),
                input: None,
                output: None,
                error: None,
            };
            if response.errors.is_empty() {
                let input = response.data.into_json().unwrap_or_default();
                match render(&calculation.template, &input) {
                    Ok(output) => trace.output = Some(output),
                    Err(error) => trace.error = Some(format!("the template failed: {error}")),
                }
                trace.input = Some(input);
            } else {
                let messages: Vec<String> =
                    response.errors.iter().map(|e| e.message.clone()).collect();
                trace.error = Some(format!(
                    "the template_input query failed: {}",
                    messages.join("; ")
                ));
            }
            calculated.0.insert((origin.to_owned(), key), trace);
        }
        calculated
    }
}
