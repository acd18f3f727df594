//! The frame every page shares, and how a state is shown: always as its name
//! with an icon, colour only as a third cue.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::control::ControlState;

/// The icon shown before a state's name.
pub fn icon(state: &str) -> &'static str {
    match state {
        "ok" => "✔",
        "alarm" => "✖",
        "error" => "⚠",
        "invalid" => "⊘",
        "tbd" => "…",
        "skipped" => "↷",
        "removed" => "⌫",
        _ => "?",
    }
}

/// A state as a badge: icon and name, coloured by class.
pub fn state_badge(state: &str) -> Markup {
    html! {
        span class={ "state state-" (css_state(state)) } {
            span aria-hidden="true" { (icon(state)) " " }
            (state)
        }
    }
}

/// A state name usable in a class (anything unknown becomes `unknown`).
pub fn css_state(state: &str) -> &str {
    if ControlState::ALL.iter().any(|s| s.as_str() == state) {
        state
    } else {
        "unknown"
    }
}

/// A whole page. `latest` is the newest transition id when the page was read;
/// with it the live script is loaded and compares against it.
pub fn page(title: &str, body: Markup, latest: Option<i64>) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · rel04d" }
                link rel="stylesheet" href="/static/style.css";
                @if latest.is_some() {
                    script src="/static/live.js" defer {}
                }
            }
            body data-latest-transition=[latest] {
                header.site {
                    a href="/" { "rel04d" }
                    span { " · REL 04 control status" }
                    @if latest.is_some() {
                        p #live-status role="status" aria-live="polite" { "Live updates: connecting…" }
                    }
                }
                main #content { (body) }
            }
        }
    };
    Html(page.into_string())
}

/// A page that only says something (refusals, errors, not found).
pub fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p.problem role="alert" { (message) }
        p { a href="/" { "Back to the overview" } }
    };
    let mut response = (status, page(title, body, None)).into_response();
    super::auth::security_headers(response.headers_mut());
    response
}

/// Stored timestamps are fixed-width RFC 3339 (`2026-01-02T03:04:05.000000Z`):
/// shown to the second, in UTC.
pub fn time(at: &str) -> Markup {
    let shown = at.get(..19).unwrap_or(at).replace('T', " ");
    html! { time datetime=(at) { (shown) " UTC" } }
}

/// A wide table that scrolls sideways on a narrow screen. Focusable, so a
/// keyboard user can scroll it too (WCAG 2.1.1; axe's `scrollable-region-focusable`),
/// and named, so a screen reader says what the focused region is.
pub fn scroll_region(label: &str, table: Markup) -> Markup {
    html! {
        div.scroll role="region" aria-label=(label) tabindex="0" { (table) }
    }
}

/// A control's question: its id, the lens when it is not the AWS one (a custom
/// lens's ARN), and the lens review's status when it is not CURRENT.
pub fn question(control: &crate::store::ControlRow) -> Markup {
    let status = control
        .lens_status
        .as_deref()
        .filter(|status| *status != "CURRENT");
    html! {
        code.question { (control.question_id) }
        @if control.lens != crate::control::policy::LENS_ALIAS {
            " · " code.arn { (control.lens) }
        }
        @if let Some(status) = status { " " span.lens-status { "lens " (status) } }
    }
}
