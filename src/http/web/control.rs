//! `GET /controls/{workload_id}` (REL 04's control) and
//! `GET /controls/{workload_id}?lens=<lens>&question=<question id>` (any other
//! question's): one control's state and reason, the explain view (each policy's
//! value and where it came from, the answer as last read, the verdict per best
//! practice), its mute, and its history as a timeline and a table. Two indexed
//! reads: the control by (workload id, lens, question), its transitions by
//! (ARN, lens, question). Odd values are refused before any read (400).

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::Web;
use super::charts;
use super::layout::{self, scroll_region, state_badge};
use crate::config::controls::MAX_NAME;
use crate::control::policy::{LENS_ALIAS, QUESTION_ID};
use crate::explain::{Explanation, explain};
use crate::filter::{Filter, Key, Matcher, Term};
use crate::store::{ControlRow, TransitionRow};

/// Transitions shown: the newest this many (the CLI's `history` pages further).
pub const HISTORY_ROWS: u32 = 500;

/// The longest workload id or lens a request may name (a lens ARN fits well
/// within it); question ids are names of at most [`MAX_NAME`] characters.
pub const MAX_PART: usize = 1024;

/// Which question's control of the workload (default: REL 04's).
#[derive(Debug, Default, serde::Deserialize)]
pub struct Which {
    lens: Option<String>,
    question: Option<String>,
}

/// The (lens, question) a request names, or why it cannot name a control.
fn named<'a>(workload_id: &str, which: &'a Which) -> Result<(&'a str, &'a str), String> {
    let lens = which.lens.as_deref().unwrap_or(LENS_ALIAS);
    let question = which.question.as_deref().unwrap_or(QUESTION_ID);
    if workload_id.is_empty() || workload_id.len() > MAX_PART {
        return Err(format!("a workload id is 1 to {MAX_PART} characters"));
    }
    if lens.is_empty() || lens.len() > MAX_PART {
        return Err(format!(
            "lens is an alias or a lens ARN of 1 to {MAX_PART} characters"
        ));
    }
    let name_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if question.is_empty() || question.len() > MAX_NAME || !question.chars().all(name_char) {
        return Err(format!(
            "question is a question id: 1 to {MAX_NAME} of A-Z, a-z, 0-9, - and _"
        ));
    }
    Ok((lens, question))
}

/// The control page's address of `control`.
pub fn href(control: &ControlRow) -> String {
    let workload = utf8_percent_encode(&control.workload_id, NON_ALPHANUMERIC);
    if control.key().is_rel04() {
        return format!("/controls/{workload}");
    }
    format!(
        "/controls/{workload}?lens={}&question={}",
        utf8_percent_encode(&control.lens, NON_ALPHANUMERIC),
        utf8_percent_encode(&control.question_id, NON_ALPHANUMERIC)
    )
}

pub async fn page(
    State(web): State<Arc<Web>>,
    Path(workload_id): Path<String>,
    which: Result<Query<Which>, QueryRejection>,
) -> Response {
    let which = match which {
        Ok(Query(which)) => which,
        Err(rejection) => {
            return layout::message_page(
                StatusCode::BAD_REQUEST,
                "Bad control address",
                &format!("The query string does not name a control: {rejection}"),
            );
        }
    };
    let (lens, question) = match named(&workload_id, &which) {
        Ok(named) => named,
        Err(why) => {
            return layout::message_page(StatusCode::BAD_REQUEST, "Bad control address", &why);
        }
    };
    match read(&web, &workload_id, lens, question).await {
        Ok(Some((control, history, latest))) => {
            let now = Utc::now();
            let definition = web.controls.definition_of(lens, question);
            let explanation = explain(&definition, &control, &web.policies, now);
            let body = render(&control, &explanation, &history, now);
            let title = format!("{} ({})", control.workload_name, control.state);
            (StatusCode::OK, layout::page(&title, body, Some(latest))).into_response()
        }
        Ok(None) => layout::message_page(
            StatusCode::NOT_FOUND,
            "No such control",
            &format!(
                "No control has workload id {workload_id:?}, lens {lens:?} and question {question:?}."
            ),
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
    lens: &str,
    question: &str,
) -> anyhow::Result<Option<(ControlRow, Vec<TransitionRow>, i64)>> {
    // Read the latest id first: a transition committing meanwhile makes the page
    // refresh once more, never miss it.
    let latest = web.store.latest_transition_id().await?;
    let Some(control) = web
        .store
        .control_by_workload_id_of(workload_id, lens, question)
        .await?
    else {
        return Ok(None);
    };
    let term = |key, value: &str| Term {
        key,
        negated: false,
        matcher: Matcher::AnyOf(vec![value.to_owned()]),
        path: Vec::new(),
    };
    let history = Filter {
        terms: vec![
            term(Key::Resource, &control.workload_arn),
            term(Key::Lens, &control.lens),
            term(Key::Question, &control.question_id),
        ],
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
