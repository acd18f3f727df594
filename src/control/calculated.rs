//! Calculated policy values, the Guardrails way: a GraphQL query (`template_input`)
//! whose result a Jinja/Nunjucks template (`template`) turns into the value.
//!
//! Running the query is I/O-shaped (it goes through the GraphQL schema) and lives
//! in `reconcile`; this module only compiles and renders, which is pure given the
//! query's result.
//!
//! Guardrails templates name the query result `$` (`{{ $.resource.data.Environment }}`),
//! which is not an identifier in Jinja. Before compiling, every `$` inside a
//! `{{ … }}` or `{% … %}` tag and outside a string literal is rewritten to
//! [`INPUT_NAME`], and the result is bound to that name; text outside tags and
//! `$` inside quoted strings are left as written.

pub mod sandbox;
mod trace;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde::Serialize;

pub use trace::{
    CalculationTrace, InputDigest, MAX_ERROR_BYTES, MAX_EXCERPT_BYTES, MAX_INPUT_BYTES,
    bounded_text,
};

/// The name `$` is rewritten to. Not a name a template would use by accident.
pub const INPUT_NAME: &str = "__rel04d_input";

/// Rendered output longer than this is refused: every policy value is a short
/// phrase, so a long render is a mistake (and bounds what `details` stores).
const MAX_OUTPUT_BYTES: usize = 1024;

/// A policy value computed per workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Calculation {
    /// A GraphQL query on rel04d's schema; `resource` is the workload evaluated.
    pub template_input: String,
    /// A Jinja template; the query's `data` is `$`.
    pub template: String,
    /// The first field the query reads that a workload's owner controls (tags,
    /// names, the description, answers, …), if any: a value calculated from it
    /// may not select `Enforce:` unless `policies.tags.allow_enforce` is on.
    pub owner_data: Option<String>,
}

/// Rewrites Guardrails' `$` to [`INPUT_NAME`] inside tags, outside string literals.
pub fn rewrite_dollar(template: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum At {
        Text,
        Tag,
        Quoted(char),
        Comment,
    }
    let mut out = String::with_capacity(template.len() + 16);
    let mut at = At::Text;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match at {
            At::Text => {
                out.push(c);
                match (c, next) {
                    ('{', Some('{' | '%')) => {
                        out.push(chars.next().unwrap_or_default());
                        at = At::Tag;
                    }
                    ('{', Some('#')) => {
                        out.push(chars.next().unwrap_or_default());
                        at = At::Comment;
                    }
                    _ => {}
                }
            }
            At::Comment => {
                out.push(c);
                if c == '#' && next == Some('}') {
                    out.push(chars.next().unwrap_or_default());
                    at = At::Text;
                }
            }
            At::Quoted(quote) => {
                out.push(c);
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        out.push(escaped);
                    }
                } else if c == quote {
                    at = At::Tag;
                }
            }
            At::Tag => match (c, next) {
                ('$', _) => out.push_str(INPUT_NAME),
                ('"' | '\'', _) => {
                    out.push(c);
                    at = At::Quoted(c);
                }
                ('}' | '%', Some('}')) => {
                    out.push(c);
                    out.push(chars.next().unwrap_or_default());
                    at = At::Text;
                }
                _ => out.push(c),
            },
        }
    }
    out
}

/// Checks that `template` compiles within the sandbox's rules, for
/// configuration checks at load time.
pub fn check_template(template: &str) -> Result<(), String> {
    sandbox::check_reserved(template)?;
    sandbox::compile(&rewrite_dollar(template)).map(|_| ())
}

/// Renders `template` with `input` as `$`; the trimmed output is the value.
pub fn render(template: &str, input: &serde_json::Value) -> Result<String, String> {
    render_until(template, input, &Arc::new(AtomicBool::new(false)))
}

/// [`render`], stopping with an error once `cancel` is raised (the caller's
/// wall-clock budget). Bounded in steps, memory and output: see [`sandbox`].
pub fn render_until(
    template: &str,
    input: &serde_json::Value,
    cancel: &Arc<AtomicBool>,
) -> Result<String, String> {
    sandbox::check_reserved(template)?;
    let source = rewrite_dollar(template);
    let instructions = sandbox::compile(&source)?;
    let output = sandbox::run(&instructions, input, cancel)?;
    let output = output.trim();
    if output.len() > MAX_OUTPUT_BYTES {
        return Err(format!(
            "the template rendered {} bytes; a policy value is at most {MAX_OUTPUT_BYTES}",
            output.len()
        ));
    }
    Ok(output.to_owned())
}

/// A template error in the author's terms: `$`, not the rewritten name.
fn describe(error: &minijinja::Error) -> String {
    let mut text = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    if let Some(line) = error.line() {
        text.push_str(&format!(" (line {line})"));
    }
    text.replace(INPUT_NAME, "$")
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
