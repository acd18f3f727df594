//! `rel04d enforce --plan`: per workload, the choices Enforce would select or
//! unselect now, read live from the Tool; nothing is written anywhere.

use std::sync::Arc;

use super::Output;
use super::commands::open_read_only;
use super::output::{json, table};
use crate::config::Settings;
use crate::filter::Filter;
use crate::metrics::Metrics;
use crate::reconcile::{Reconciler, ScopeRef, WorkloadPlan};

/// Reads the state database read-only (never created, changed or migrated) and
/// the Tool; builds only the evaluator and the account-regions, not the daemon.
pub async fn enforce_plan(settings: Settings, filter: &str, format: Output) -> anyhow::Result<()> {
    let filter = Filter::parse(filter)?;
    let store = open_read_only(&settings).await?;
    let metrics = Arc::new(Metrics::new());
    let setup = crate::aws::AwsSetup::from_env(&settings.aws).await;
    let scopes = crate::account_region::configured(&settings, &setup, &store, &metrics).await?;
    let reconciler = Reconciler::new(store.clone(), settings.policy_set()?, metrics, None)
        .with_controls(&settings.controls()?)
        .with_enforce_defer(settings.enforce.defer_after_human_change);
    let controls = store.list_controls(&filter).await?;
    let mut plans = Vec::new();
    for control in controls.iter().filter(|c| !c.is_removed()) {
        let Some(scope) = scopes.iter().find(|s| s.key() == control.scanned_by) else {
            tracing::warn!(
                workload_id = %control.workload_id,
                scope = %control.scanned_by,
                "its account-region is no longer configured; left out of the plan"
            );
            continue;
        };
        let scope = ScopeRef {
            key: scope.key(),
            wa: &scope.wa,
        };
        plans.push(reconciler.enforce_plan(&scope, control).await);
    }
    render(&plans, format)
}

fn render(plans: &[WorkloadPlan], format: Output) -> anyhow::Result<()> {
    if format == Output::Json {
        return json(plans);
    }
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "-".to_owned()
        } else {
            ids.join(",")
        }
    };
    table(
        &[
            "WORKLOAD ID",
            "WORKLOAD",
            "STATUS",
            "SELECT",
            "UNSELECT",
            "APPLICABLE",
            "NOTE",
        ],
        plans
            .iter()
            .map(|p| {
                vec![
                    p.workload_id.clone(),
                    p.workload_name.clone(),
                    p.plan.status.as_str().to_owned(),
                    list(&p.plan.select),
                    list(&p.plan.unselect),
                    p.plan
                        .set_applicable
                        .map_or("-".to_owned(), |a| format!("-> {a}")),
                    p.plan.note.clone(),
                ]
            })
            .collect(),
    );
    let writes = plans
        .iter()
        .filter(|p| {
            !p.plan.select.is_empty()
                || !p.plan.unselect.is_empty()
                || p.plan.set_applicable.is_some()
        })
        .count();
    eprintln!(
        "{} workload(s), {writes} with changes Enforce would write (nothing was written)",
        plans.len()
    );
    Ok(())
}
