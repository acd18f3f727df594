//! `rel04d enforce --plan`: per workload, the choices Enforce would select or
//! unselect now, read live from the Tool; nothing is written anywhere.

use super::Output;
use super::output::{json, table};
use crate::config::Settings;
use crate::filter::Filter;
use crate::reconcile::{ScopeRef, WorkloadPlan};
use crate::startup::Daemon;

pub async fn enforce_plan(settings: Settings, filter: &str, format: Output) -> anyhow::Result<()> {
    let filter = Filter::parse(filter)?;
    let daemon = Daemon::build(settings, None).await?;
    let controls = daemon.store.list_controls(&filter).await?;
    let mut plans = Vec::new();
    for control in controls.iter().filter(|c| !c.is_removed()) {
        let Some(scope) = daemon.scopes.iter().find(|s| s.key() == control.scanned_by) else {
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
        plans.push(daemon.reconciler.enforce_plan(&scope, control).await);
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
