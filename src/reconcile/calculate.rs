//! Runs the calculations of calculated policies for one evaluation: each
//! `template_input` query on rel04d's own schema with `resource` = the workload
//! as just described (no Tool call beyond that GetWorkload), then its template
//! (pure, in `control::calculated`), off the async workers.
//!
//! A query gets what a `/graphql` request gets: the schema's cost limits, a
//! regex budget and `http.request_timeout`; its result is read only up to
//! [`MAX_INPUT_BYTES`]. The trace stored keeps a digest of the input, never the
//! input itself. Templates render on the blocking pool, [`RENDERS_AT_ONCE`] at
//! a time, within [`RENDER_BUDGET`] of wall-clock time each.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::control::calculated::{InputDigest, MAX_INPUT_BYTES, render_until};
use crate::control::{self, Calculated, Calculation, CalculationTrace, WorkloadFacts};
use crate::graphql::EvaluatedResource;
use crate::graphql::limits::{Capped, RegexBudget};
use crate::graphql::turbot::Resource;
use crate::workload::Workload;

use super::Reconciler;

/// Renders running at once in the process (on the blocking pool, so the async
/// workers — and `/healthz` — never wait on a template).
pub const RENDERS_AT_ONCE: usize = 2;
/// Wall-clock time one render may take; then it is told to stop, and its
/// calculation fails naming this bound.
pub const RENDER_BUDGET: Duration = Duration::from_secs(1);

static RENDERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(RENDERS_AT_ONCE);

/// Renders `template` off the async workers within [`RENDER_BUDGET`]. A render
/// past its budget is told to stop; it keeps its place among the
/// [`RENDERS_AT_ONCE`] until it has.
pub async fn render_bounded(template: String, input: serde_json::Value) -> Result<String, String> {
    render_within(template, input, RENDER_BUDGET).await
}

async fn render_within(
    template: String,
    input: serde_json::Value,
    budget: Duration,
) -> Result<String, String> {
    let permit = RENDERS
        .acquire()
        .await
        .map_err(|_| "the renderer is shut down".to_owned())?;
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let render = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        render_until(&template, &input, &flag)
    });
    match tokio::time::timeout(budget, render).await {
        Ok(Ok(result)) => result,
        Ok(Err(failed)) => Err(format!("the render failed: {failed}")),
        Err(_) => {
            cancel.store(true, Ordering::Relaxed);
            Err(format!(
                "the template ran longer than {}, the most a render may take",
                humantime::format_duration(budget)
            ))
        }
    }
}

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
            let trace = self.run_calculation(&resource, calculation).await;
            calculated.0.insert((origin.to_owned(), key), trace);
        }
        calculated
    }

    async fn run_calculation(
        &self,
        resource: &EvaluatedResource,
        calculation: &Calculation,
    ) -> CalculationTrace {
        let template = &calculation.template;
        let input = match self.calculation_input(resource, calculation).await {
            Ok(input) => input,
            Err(error) => return CalculationTrace::new(template, None, Err(error)),
        };
        let digest = InputDigest::of(&input);
        let result = match serde_json::from_str(&input) {
            Ok(value) => render_bounded(template.clone(), value)
                .await
                .map_err(|e| format!("the template failed: {e}")),
            Err(e) => Err(format!("the template_input result is not JSON: {e}")),
        };
        CalculationTrace::new(template, Some(digest), result)
    }

    /// The `template_input` result as compact JSON, within the GraphQL limits.
    async fn calculation_input(
        &self,
        resource: &EvaluatedResource,
        calculation: &Calculation,
    ) -> Result<String, String> {
        let request = async_graphql::Request::new(calculation.template_input.clone())
            .data(resource.clone())
            .data(RegexBudget::default());
        let deadline = self.graphql_deadline;
        let response = tokio::time::timeout(deadline, self.schema.execute(request))
            .await
            .map_err(|_| too_slow(deadline))?;
        if !response.errors.is_empty() {
            let messages: Vec<String> = response.errors.iter().map(|e| e.message.clone()).collect();
            return Err(format!(
                "the template_input query failed: {}",
                messages.join("; ")
            ));
        }
        let mut json = Capped::new(MAX_INPUT_BYTES);
        serde_json::to_writer(&mut json, &response.data).map_err(|_| {
            format!(
                "the template_input result is over {} KiB, the most a calculation reads; \
                 select fewer fields or items (limit:)",
                MAX_INPUT_BYTES / 1024
            )
        })?;
        String::from_utf8(json.into_inner()).map_err(|e| e.to_string())
    }
}

fn too_slow(deadline: Duration) -> String {
    format!(
        "the template_input query did not finish within {} (http.request_timeout, the \
         deadline of every GraphQL request); ask for less: a smaller limit:, value terms \
         instead of regexes",
        humantime::format_duration(deadline)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Steps enough to keep a render busy for a while, within its fuel.
    const BUSY: &str = "{% for i in range(30000) %}{% endfor %}True";

    /// Finding 9: renders run off the async workers, so a one-thread runtime
    /// keeps serving other tasks (as `/healthz`) while a template renders.
    #[tokio::test(flavor = "current_thread")]
    async fn other_tasks_run_while_a_template_renders() {
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        let output = render_bounded(BUSY.to_owned(), serde_json::json!({})).await;
        ticker.abort();
        assert_eq!(output.unwrap(), "True");
        let ticks = ticks.load(Ordering::Relaxed);
        assert!(
            ticks > 100,
            "the runtime served {ticks} polls during the render"
        );
    }

    /// A render past its wall-clock budget fails naming it, and is told to stop.
    #[tokio::test(flavor = "current_thread")]
    async fn a_render_past_its_budget_fails_naming_it() {
        let err = render_within(BUSY.to_owned(), serde_json::json!({}), Duration::ZERO)
            .await
            .unwrap_err();
        assert!(err.contains("longer than 0s"), "{err}");
        // Its place among the renders comes back once it has stopped.
        let _all = RENDERS.acquire_many(RENDERS_AT_ONCE as u32).await.unwrap();
    }
}
