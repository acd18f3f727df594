//! `GET /controls/{workload_id}`: one control's state and reason, the explain
//! view (each policy's value and where it came from, the answer as last read,
//! the verdict per best practice), its mute, and its history as a timeline and a
//! table. Two indexed reads: the control by workload id, its transitions by ARN.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::Web;
use super::charts;
use super::layout::{self, scroll_region, state_badge};
use crate::explain::{Explanation, explain};
use crate::filter::{Filter, Key, Matcher, Term};
use crate::store::{ControlRow, TransitionRow};

/// Transitions shown: the newest this many (the CLI's `history` pages further).
pub const HISTORY_ROWS: u32 = 500;

pub async fn page(State(web): State<Arc<Web>>, Path(workload_id): Path<String>) -> Response {
    match read(&web, &workload_id).await {
        Ok(Some((control, history, latest))) => {
            let now = Utc::now();
            let explanation = explain(&control, &web.policies, now);
            let body = render(&control, &explanation, &history, now);
            let title = format!("{} ({})", control.workload_name, control.state);
            (StatusCode::OK, layout::page(&title, body, Some(latest))).into_response()
        }
        Ok(None) => layout::message_page(
            StatusCode::NOT_FOUND,
            "No such control",
            &format!("No control has workload id {workload_id:?}."),
        ),
        Err(error) => {
            tracing::error!(error = crate::display::chain(&error).to_string(), %workload_id, "cannot read a control");
            layout::message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot read the state database",
                "The control could not be read; the daemon's log says why.",
            )
        }
    }
}

async fn read(
    web: &Web,
    workload_id: &str,
) -> anyhow::Result<Option<(ControlRow, Vec<TransitionRow>, i64)>> {
    // Read the latest id first: a transition committing meanwhile makes the page
    // refresh once more, never miss it.
    let latest = web.store.latest_transition_id().await?;
    let Some(control) = web.store.control_by_workload_id(workload_id).await? else {
        return Ok(None);
    };
    let history = Filter {
        terms: vec![Term {
            key: Key::Resource,
            negated: false,
            matcher: Matcher::AnyOf(vec![control.workload_arn.clone()]),
            path: Vec::new(),
        }],
        sort: None,
        limit: Some(HISTORY_ROWS),
    };
    let transitions = web.store.list_transitions(&history).await?;
    Ok(Some((control, transitions, latest)))
}

fn parse_time(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn render(
    control: &ControlRow,
    e: &Explanation,
    history: &[TransitionRow],
    now: DateTime<Utc>,
) -> Markup {
    let entered: Vec<(String, DateTime<Utc>)> = history
        .iter()
        .rev()
        .filter_map(|t| Some((t.to_state.clone(), parse_time(&t.occurred_at)?)))
        .collect();
    let bands = charts::bands(&entered, now);
    html! {
        p { a href="/" { "← All controls" } }
        div #control-live data-live {
            h1 { (control.workload_name) }
            dl.facts-list {
                dt { "State" } dd #state { (state_badge(control.state.as_str())) }
                dt { "Reason" } dd #reason { (control.reason) }
                dt { "Question" } dd #question { (layout::question(control)) }
                dt { "Workload" } dd { code { (control.workload_id) } " · " code.arn { (control.workload_arn) } }
                dt { "Account, region" } dd { (control.account_id) ", " (control.region) }
                dt { "Evaluated" } dd { @match &control.evaluated_at { Some(at) => (layout::time(at)), None => "never" } }
                dt { "Mute" } dd #mute { (mute(control)) }
            }
            section aria-labelledby="history" {
                h2 #history { "History" }
                (charts::timeline(&bands))
                (transitions(history))
            }
            section aria-labelledby="why" {
                h2 #why { "Why: policies" }
                (policies(e))
                h2 { "Answer as last read" }
                (answer(e))
            }
        }
    }
}

fn mute(control: &ControlRow) -> Markup {
    match (&control.mute, control.muted) {
        (Some(m), true) => html! {
            "🔇 muted since " (layout::time(&m.since)) " by " (m.by) ": " (m.reason)
            @if let Some(until) = &m.until { "; until " (layout::time(until)) }
            @if let Some(state) = &m.until_state { "; until the state is " (state) }
        },
        (Some(m), false) => html! { "not muted (the last mute, by " (m.by) ", has ended)" },
        (None, _) => html! { "not muted" },
    }
}

fn transitions(history: &[TransitionRow]) -> Markup {
    html! {
        (scroll_region("Transitions table", html! {
            table #transitions {
                caption { "Transitions, newest first (at most " (HISTORY_ROWS) ")" }
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "From" } th scope="col" { "To" }
                    th scope="col" { "Reason" } th scope="col" { "Trigger" }
                } }
                tbody {
                    @for t in history {
                        tr data-transition-id=(t.id) {
                            td { (layout::time(&t.occurred_at)) }
                            td { @match &t.from_state { Some(s) => (state_badge(s)), None => "—" } }
                            td { (state_badge(&t.to_state)) @if t.muted { " " span.muted-tag { "muted" } } }
                            td { (t.reason) @if let Some(action) = &t.action { " (" (action) ")" } }
                            td { (t.trigger) }
                        }
                    }
                }
            }
        }))
    }
}

fn policies(e: &Explanation) -> Markup {
    html! {
        (scroll_region("Policies table", html! {
            table #policies {
                thead { tr {
                    th scope="col" { "Policy" } th scope="col" { "Value" } th scope="col" { "Set at" }
                    th scope="col" { "Passed over" }
                } }
                tbody {
                    @for p in &e.policies {
                        tr {
                            th scope="row" { (p.key.as_str()) }
                            td {
                                (p.value)
                                @if let Some(last) = &p.last_evaluated_value {
                                    br; small { "the last evaluation used " (last) }
                                }
                            }
                            td {
                                (p.level) ": " (p.origin)
                                @if let Some(a) = &p.accountability {
                                    @for (name, value) in a.fields() { br; small { (name) ": " (value) } }
                                }
                                @if let Some(at) = &p.expires { br; small { "expires " (layout::time(at)) } }
                            }
                            td {
                                @if p.passed_over.is_empty() { "—" }
                                ul.plain { @for s in &p.passed_over {
                                    li { (s.value) " (" (s.level) ": " (s.origin) ") — " (s.why) }
                                } }
                            }
                        }
                    }
                }
            }
        }))
    }
}

fn answer(e: &Explanation) -> Markup {
    let Some(question) = e.question.as_object() else {
        return html! { p { "No answer was read (the policies decided the state on their own, or it could not be read)." } };
    };
    let applicable = question.get("is_applicable") == Some(&serde_json::Value::Bool(true));
    let risk = question
        .get("risk")
        .and_then(|r| r.as_str())
        .unwrap_or("unknown");
    let text = |v: &serde_json::Value, key: &str| v[key].as_str().unwrap_or("").to_owned();
    html! {
        p { "Question " (if applicable { "applicable" } else { "not applicable" }) ", risk " (risk) "." }
        (scroll_region("Best practices table", html! {
            table #best-practices {
                thead { tr {
                    th scope="col" { "Best practice" } th scope="col" { "Policy" }
                    th scope="col" { "Observed" } th scope="col" { "Verdict" }
                } }
                tbody {
                    @for c in e.choices() {
                        tr {
                            th scope="row" { (text(c, "title")) }
                            td { (text(c, "policy")) }
                            td { (c["observed"].as_str().unwrap_or("missing")) }
                            td { (text(c, "result")) }
                        }
                    }
                }
            }
        }))
    }
}
