//! `GET /?q=<filter>&page=<n>`: counts by state, last sweeps, outbox backlog, and
//! one page of the controls the filter matches. The filter is the CLI's grammar
//! and runs through the same query ([`Store::list_controls_from`]); the URL is
//! the whole view, so it can be shared.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::Web;
use super::charts::{self, StateBar};
use super::layout::{self, scroll_region, state_badge};
use crate::control::ControlState;
use crate::filter::Filter;
use crate::store::{QueryError, Store, SweepRow};

/// Controls per page.
pub const PAGE_SIZE: usize = 50;
/// The states the chart shows, worst first (removed controls are not active).
const CHART_STATES: [ControlState; 6] = [
    ControlState::Alarm,
    ControlState::Error,
    ControlState::Invalid,
    ControlState::Ok,
    ControlState::Tbd,
    ControlState::Skipped,
];
/// Columns the table sorts by: (heading, sort field).
/// (The question is not sortable: no index holds that order.)
const COLUMNS: [(&str, Option<&str>); 7] = [
    ("Workload", Some("workload_name")),
    ("Question", None),
    ("State", Some("state")),
    ("Reason", None),
    ("Account", Some("account_id")),
    ("Region", Some("region")),
    ("Evaluated", Some("evaluated_at")),
];

#[derive(serde::Deserialize)]
pub struct Params {
    q: Option<String>,
    page: Option<String>,
}

/// Everything the overview shows, read before rendering.
pub struct Overview {
    pub bars: Vec<StateBar>,
    pub sweeps: Vec<(String, Option<SweepRow>)>,
    pub backlog: i64,
    pub latest: i64,
    pub query: String,
    pub page: usize,
    pub rows: Result<(Vec<crate::store::ControlRow>, bool), String>,
}

pub async fn page(State(web): State<Arc<Web>>, Query(params): Query<Params>) -> Response {
    let query = params.q.unwrap_or_default();
    let page = match params.page.as_deref().map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            return layout::message_page(
                StatusCode::BAD_REQUEST,
                "Bad page",
                "page must be a whole number from 1",
            );
        }
    };
    match read(&web.store, &web.scopes, query, page).await {
        Ok(overview) => {
            let status = if overview.rows.is_ok() {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            let latest = overview.latest;
            (
                status,
                layout::page("Overview", render(&overview), Some(latest)),
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(
                error = crate::display::chain(&error).to_string(),
                "cannot read the overview"
            );
            layout::message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Cannot read the state database",
                "The overview could not be read; the daemon's log says why.",
            )
        }
    }
}

/// Reads the overview: four small queries and one page of the filter's matches,
/// one after another, so a page holds at most one database connection at a time
/// (pages at once are bounded by [`super::Web`]'s admission, and so is their share
/// of the pool). A filter the user got wrong is part of the page (`rows`), not an error.
pub async fn read(
    store: &Store,
    scopes: &[String],
    query: String,
    page: usize,
) -> anyhow::Result<Overview> {
    let counts = store.count_by_state().await;
    let sweeps = store.sweeps().await;
    let backlog = store.outbox_backlog().await;
    let latest = store.latest_transition_id().await;
    let mut bars: Vec<StateBar> = CHART_STATES
        .iter()
        .map(|&state| StateBar {
            state,
            unmuted: 0,
            muted: 0,
        })
        .collect();
    for count in counts? {
        if let Some(bar) = bars.iter_mut().find(|b| b.state.as_str() == count.state) {
            if count.muted {
                bar.muted += count.count;
            } else {
                bar.unmuted += count.count;
            }
        }
    }
    let mut by_scope: BTreeMap<String, Option<SweepRow>> =
        scopes.iter().map(|s| (s.clone(), None)).collect();
    for sweep in sweeps? {
        by_scope.insert(sweep.scope.clone(), Some(sweep));
    }
    let rows = match Filter::parse(&query) {
        Err(e) => Err(e.to_string()),
        Ok(filter) => match controls_page(store, &filter, page).await {
            Ok(found) => Ok(found),
            Err(e) => match e.downcast_ref::<QueryError>() {
                Some(refused) => Err(refused.to_string()),
                None => return Err(e),
            },
        },
    };
    Ok(Overview {
        bars,
        sweeps: by_scope.into_iter().collect(),
        backlog: backlog?,
        latest: latest?,
        query,
        page,
        rows,
    })
}

/// One page of matches, and whether there is a next one. A `limit:` in the
/// filter caps the matches across all pages.
async fn controls_page(
    store: &Store,
    filter: &Filter,
    page: usize,
) -> anyhow::Result<(Vec<crate::store::ControlRow>, bool)> {
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let cap = filter.limit.map_or(usize::MAX, |l| l as usize);
    if offset >= cap {
        return Ok((Vec::new(), false));
    }
    let wanted = (PAGE_SIZE + 1).min(cap - offset);
    let mut paged = filter.clone();
    paged.limit = Some(wanted as u32);
    let mut rows = store.list_controls_from(&paged, offset).await?;
    let more = rows.len() > PAGE_SIZE;
    rows.truncate(PAGE_SIZE);
    Ok((rows, more))
}

fn render(o: &Overview) -> Markup {
    html! {
        div #live data-live {
            h1 { "Controls" }
            section aria-labelledby="by-state" {
                h2 #by-state { "By state" }
                (charts::state_bars(&o.bars))
                ul.state-links {
                    @for bar in &o.bars {
                        li {
                            a href={ "/?q=" (encode(&format!("state:{}", bar.state.as_str()))) } {
                                (state_badge(bar.state.as_str()))
                            }
                            ": " span.count data-state=(bar.state.as_str()) { (bar.unmuted + bar.muted) }
                            @if bar.muted > 0 { " (" (bar.muted) " muted)" }
                        }
                    }
                }
            }
            div.facts {
                section aria-labelledby="sweeps" {
                    h2 #sweeps { "Last complete sweep" }
                    table {
                        thead { tr { th scope="col" { "Account-region" } th scope="col" { "Completed" } th scope="col" { "Workloads" } th scope="col" { "Took" } } }
                        tbody {
                            @for (scope, sweep) in &o.sweeps {
                                tr {
                                    th scope="row" { (scope) }
                                    @match sweep {
                                        Some(s) => {
                                            td { (layout::time(&s.completed_at)) }
                                            td { (s.listed) }
                                            td { (format!("{:.1} s", s.duration_ms as f64 / 1000.0)) }
                                        }
                                        None => { td colspan="3" { "⚠ never completed" } }
                                    }
                                }
                            }
                        }
                    }
                }
                section aria-labelledby="outbox" {
                    h2 #outbox { "Outbox" }
                    p { span #backlog { (o.backlog) } " notifications not yet accepted by EventBridge." }
                }
            }
        }
        section aria-labelledby="table-heading" {
            h2 #table-heading { "Controls" }
            form.filter method="get" action="/" role="search" {
                label for="q" { "Filter" }
                input #q type="search" name="q" value=(o.query)
                    placeholder="state:alarm account:111122223333 workload:/prod/ sort:-evaluated_at"
                    aria-describedby="filter-help";
                button type="submit" { "Apply" }
                p #filter-help.help {
                    "The CLI's grammar: " code { "key:a,b" } ", " code { "!key:v" } ", "
                    code { "key:/regex/" } ", " code { "sort:-field" } ", " code { "limit:N" }
                    "; keys: state, workload, account, region, resource, controlType."
                }
            }
            div #table-live data-live { (table(o)) }
        }
    }
}

fn table(o: &Overview) -> Markup {
    let (rows, more) = match &o.rows {
        Ok(found) => found,
        Err(problem) => return html! { p.problem role="alert" { "✖ " (problem) } },
    };
    let sorted = current_sort(&o.query);
    html! {
        @if rows.is_empty() {
            p #no-matches { "No controls match." }
        } @else {
            (scroll_region("Controls table", html! {
                table #controls {
                    caption { "Page " (o.page) " of the matching controls" }
                    thead { tr {
                        @for (heading, field) in COLUMNS {
                            @match field {
                                Some(field) => {
                                    @let (aria, next) = match &sorted {
                                        Some((f, false)) if f == field => ("ascending", format!("-{field}")),
                                        Some((f, true)) if f == field => ("descending", field.to_owned()),
                                        _ => ("none", field.to_owned()),
                                    };
                                    th scope="col" aria-sort=(aria) {
                                        a href=(link(&with_sort(&o.query, &next), 1)) { (heading)
                                            @match aria { "ascending" => " ▲", "descending" => " ▼", _ => "" }
                                        }
                                    }
                                }
                                None => { th scope="col" { (heading) } }
                            }
                        }
                    } }
                    tbody {
                        @for c in rows {
                            tr data-workload-id=(c.workload_id) {
                                th scope="row" { a href=(super::control::href(c)) { (c.workload_name) } }
                                td { (layout::question(c)) }
                                td { (state_badge(c.state.as_str())) @if c.muted { " " span.muted-tag { "muted" } } }
                                td { (c.reason) }
                                td { (c.account_id) }
                                td { (c.region) }
                                td { @match &c.evaluated_at { Some(at) => (layout::time(at)), None => "never" } }
                            }
                        }
                    }
                }
            }))
        }
        nav.pages aria-label="Pages" {
            @if o.page > 1 { a rel="prev" href=(link(&o.query, o.page - 1)) { "← Previous" } }
            " "
            @if *more { a rel="next" href=(link(&o.query, o.page + 1)) { "Next →" } }
        }
    }
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// The overview's URL for `query` at `page`.
fn link(query: &str, page: usize) -> String {
    let mut url = format!("/?q={}", encode(query));
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

/// The filter's terms, split as the grammar splits them (spaces outside quotes).
fn terms(query: &str) -> Vec<String> {
    let (mut terms, mut current, mut quoted) = (Vec::new(), String::new(), false);
    for c in query.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    terms.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        terms.push(current);
    }
    terms
}

/// `query` with its `sort:` term replaced by `sort:<sort>`.
fn with_sort(query: &str, sort: &str) -> String {
    let mut kept: Vec<String> = terms(query)
        .into_iter()
        .filter(|t| !t.starts_with("sort:"))
        .collect();
    kept.push(format!("sort:{sort}"));
    kept.join(" ")
}

/// The field the query sorts by and whether descending.
fn current_sort(query: &str) -> Option<(String, bool)> {
    let term = terms(query).into_iter().rfind(|t| t.starts_with("sort:"))?;
    let field = &term["sort:".len()..];
    Some(match field.strip_prefix('-') {
        Some(f) => (f.to_owned(), true),
        None => (field.to_owned(), false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_replaces_only_the_sort_term_and_keeps_quoted_values_whole() {
        let q = r#"workload:"a sort:b" state:alarm sort:region"#;
        assert_eq!(
            with_sort(q, "-state"),
            r#"workload:"a sort:b" state:alarm sort:-state"#
        );
        assert_eq!(current_sort(q), Some(("region".to_owned(), false)));
        assert!(current_sort("sort:-evaluated_at").unwrap().1);
        assert_eq!(current_sort("state:ok"), None);
    }

    #[test]
    fn links_carry_the_filter_and_the_page() {
        assert_eq!(link("state:alarm", 1), "/?q=state%3Aalarm");
        assert_eq!(link("", 3), "/?q=&page=3");
    }
}
