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

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The name `$` is rewritten to. Not a name a template would use by accident.
pub const INPUT_NAME: &str = "__rel04d_input";

/// Rendered output longer than this is refused: every policy value is a short
/// phrase, so a long render is a mistake (and bounds what `details` stores).
const MAX_OUTPUT_BYTES: usize = 1024;
/// Templates are configuration, but a loop over a large input should still end.
const MAX_FUEL: u64 = 100_000;

/// A policy value computed per workload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Calculation {
    /// A GraphQL query on rel04d's schema; `resource` is the workload evaluated.
    pub template_input: String,
    /// A Jinja template; the query's `data` is `$`.
    pub template: String,
}

/// What one calculation did, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CalculationTrace {
    pub template: String,
    /// The query's result (`$`), when the query ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// The rendered, trimmed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why there is no value: a query error or a render error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Nunjucks looks up `a.b.c` on a missing `a` quietly; so does Guardrails.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(MAX_FUEL));
    env
}

/// Checks that `template` compiles, for configuration checks at load time.
pub fn check_template(template: &str) -> Result<(), String> {
    let env = environment();
    env.template_from_str(&rewrite_dollar(template))
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Renders `template` with `input` as `$`; the trimmed output is the value.
pub fn render(template: &str, input: &serde_json::Value) -> Result<String, String> {
    let env = environment();
    let rewritten = rewrite_dollar(template);
    let compiled = env
        .template_from_str(&rewritten)
        .map_err(|e| describe(&e))?;
    let context =
        minijinja::Value::from_iter([(INPUT_NAME, minijinja::Value::from_serialize(input))]);
    let output = compiled.render(context).map_err(|e| describe(&e))?;
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
mod tests {
    use super::*;
    use serde_json::json;

    const TIER: &str =
        r#"{% if $.resource.turbot.tags.tier == "critical" %}True{% else %}Skip{% endif %}"#;

    #[test]
    fn dollar_is_rewritten_only_inside_tags_and_outside_strings() {
        let rewritten = rewrite_dollar(r#"costs $5 {{ $.a ~ "$" ~ '$x' }} {# $ #} {% if $ %}$"#);
        assert_eq!(
            rewritten,
            format!(
                r#"costs $5 {{{{ {INPUT_NAME}.a ~ "$" ~ '$x' }}}} {{# $ #}} {{% if {INPUT_NAME} %}}$"#
            )
        );
    }

    #[test]
    fn guardrails_templates_render_verbatim() {
        let critical = json!({ "resource": { "turbot": { "tags": { "tier": "critical" } } } });
        assert_eq!(render(TIER, &critical).unwrap(), "True");
        let other = json!({ "resource": { "turbot": { "tags": {} } } });
        assert_eq!(render(TIER, &other).unwrap(), "Skip");
        // A missing chain is quietly undefined, as in Nunjucks.
        assert_eq!(render(TIER, &json!({})).unwrap(), "Skip");
        let data = r#"
            {% if $.resource.data.Environment == "PRODUCTION" %}
              Check: Choices based on sub policies
            {% else %}
              Skip
            {% endif %}"#;
        let production = json!({ "resource": { "data": { "Environment": "PRODUCTION" } } });
        assert_eq!(
            render(data, &production).unwrap(),
            "Check: Choices based on sub policies"
        );
    }

    #[test]
    fn syntax_errors_are_found_before_rendering_and_name_dollar() {
        let err = check_template("{% if $.resource.data %}True").unwrap_err();
        assert!(err.contains("syntax error"), "{err}");
        assert!(!err.contains(INPUT_NAME), "{err}");
        assert!(check_template(TIER).is_ok());
        let err = render("{{ $.a | no_such_filter }}", &json!({})).unwrap_err();
        assert!(err.contains("no_such_filter"), "{err}");
    }

    #[test]
    fn long_and_endless_renders_are_refused() {
        let err = render("{% for i in range(2000) %}xx{% endfor %}", &json!({})).unwrap_err();
        assert!(err.contains("at most 1024"), "{err}");
        let err = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }
}
