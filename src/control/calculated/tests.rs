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

/// Issue 21, finding 9: values, output and steps are bounded, and each refusal
/// names its bound.
#[test]
fn growing_values_are_refused_before_they_are_built() {
    let input = json!({ "s": "x", "items": ["a", "b"] });
    let refused = [
        // The issue's template: its constant is sized before it is folded.
        (
            "{{ ('x' * 1000000)|replace('x', 'x' * 1000)|length }}",
            "64 KiB",
        ),
        ("{{ ('x' * 60000) ~ ('x' * 60000) }}", "64 KiB"),
        ("{{ [1, 2] * 100000000 }}", "64 KiB"),
        // The same from the input, at run time.
        ("{{ ($.s * 1000000)|length }}", "64 KiB"),
        (
            "{{ ($.s * 60000)|replace('x', $.s * 1000)|length }}",
            "64 KiB",
        ),
        ("{{ range(100000)|join($.s * 1000) }}", "64 KiB"),
        ("{{ ($.items * 100000000)|length }}", "at most 100000"),
        ("{{ (($.s * 60000) ~ ($.s * 60000))|length }}", "64 KiB"),
        // Many values, each small: the render's total.
        (
            "{% for i in range(100) %}{% if ($.s * 60000)|length > 1 %}{% endif %}{% endfor %}",
            "1024 KiB",
        ),
        // Written text, literal or not.
        (
            "{% for i in range(100000) %}xxxxxxxx{% endfor %}",
            "wrote more than 64 KiB",
        ),
        (
            "{% for i in range(100000) %}{{ i }}{% endfor %}",
            "wrote more than 64 KiB",
        ),
        // Steps.
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "fuel",
        ),
    ];
    for (template, bound) in refused {
        let err = render(template, &input).unwrap_err();
        assert!(err.contains(bound), "{template}: {err}");
    }
}

#[test]
fn doubling_in_a_loop_stops_at_the_value_bound() {
    let doubling =
        "{% set s = $.s %}{% for i in range(100) %}{% set s = s ~ s %}{% endfor %}{{ s|length }}";
    match render(doubling, &json!({ "s": "x" })) {
        // minijinja scopes `set` to one iteration: nothing grows at all.
        Ok(length) => assert!(length.parse::<usize>().unwrap() <= 64 * 1024, "{length}"),
        Err(err) => assert!(err.contains("64 KiB"), "{err}"),
    }
    let err = check_template("{% set ns = namespace(s='x') %}{{ ns.s }}");
    let err = err.map_or_else(
        |e| e,
        |()| render("{% set ns = namespace(s='x') %}", &json!({})).unwrap_err(),
    );
    assert!(err.contains("namespace"), "{err}");
}

#[test]
fn constructs_that_write_elsewhere_or_recurse_are_refused_at_load() {
    for (template, what) in [
        ("{% set x %}{{ $.s }}{% endset %}{{ x }}", "capture output"),
        ("{% filter upper %}x{% endfilter %}", "capture output"),
        (
            "{% for i in [[1]] recursive %}{{ loop(i) }}{% endfor %}",
            "recursive loops",
        ),
        ("{{ __rel04d_mul(1, 2) }}", "reserved"),
        ("{% macro m() %}{% endmacro %}", "syntax error"),
        ("{% include 'x' %}", "syntax error"),
    ] {
        let err = check_template(template).unwrap_err();
        assert!(err.contains(what), "{template}: {err}");
    }
}

#[test]
fn ordinary_operators_and_filters_still_work() {
    let input = json!({ "s": "ab", "items": ["a", "b"], "n": 3 });
    for (template, expected) in [
        ("{{ 'a' ~ 'b' ~ 1 }}", "ab1"),
        ("{{ $.s ~ '-' ~ $.n }}", "ab-3"),
        (
            "{{ 2 * 3 }} {{ $.n * 2 }} {{ 1.5 + 1 }} {{ $.n + 1 }}",
            "6 6 2.5 4",
        ),
        ("{{ $.s * 2 }}", "abab"),
        ("{{ ([1] + [2] + $.items)|length }}", "4"),
        ("{{ ($.items * 2)|join(',') }}", "a,b,a,b"),
        ("{{ $.items|join(', ')|upper }}", "A, B"),
        ("{{ $.s|replace('a', 'xy') }}", "xyb"),
        ("{{ 'Critical'|lower == 'critical' }}", "True"),
        ("{{ $.missing.deeper|default('Skip') }}", "Skip"),
        ("{% if 'a' in $.items %}True{% endif %}", "True"),
        ("{{ $.items|select('eq', 'a')|list|length }}", "1"),
    ] {
        assert_eq!(render(template, &input).unwrap(), expected, "{template}");
    }
}

#[test]
fn a_raised_cancel_flag_stops_the_render() {
    let cancel = Arc::new(AtomicBool::new(true));
    let err = render_until("{{ $.s ~ 'x' }}", &json!({ "s": "x" }), &cancel).unwrap_err();
    assert!(err.contains("time budget"), "{err}");
}
