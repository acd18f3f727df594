use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn load(file: Option<&str>, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut tmp = tempfile::NamedTempFile::new().unwrap();
    if let Some(text) = file {
        tmp.write_all(text.as_bytes()).unwrap();
    }
    Settings::load_with(file.map(|_| tmp.path()), env(pairs))
}

fn error(file: Option<&str>, pairs: &[(&str, &str)]) -> ConfigError {
    load(file, pairs).expect_err("configuration should be refused")
}

#[test]
fn the_shipped_defaults_load_as_documented() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.database_url(), "sqlite://rel04d.db?mode=rwc");
    assert_eq!(s.schedule.interval, Duration::from_secs(300));
    assert_eq!(s.schedule.jitter, Duration::from_secs(30));
    assert!(s.aws.regions.is_empty());
    assert_eq!(s.http.listen.to_string(), "127.0.0.1:9404");
    assert!(s.http.events_token.is_none());
    assert!(s.events.sqs.queue_url.is_none());
    assert!(s.notify.event_bus.is_none());
    assert_eq!(s.notify.source, "rel04d");
    assert_eq!(
        (s.log.format, s.log.level.as_str()),
        (LogFormat::Json, "info")
    );
    let set = s.policies.to_policy_set().unwrap();
    assert_eq!(set.settings.len(), 1, "only the (empty) global block");
    assert!(set.tag_prefix.is_none());
}

#[test]
fn a_file_and_then_the_environment_override_the_defaults() {
    let file = r#"
        [schedule]
        interval = "1m"
        [policies.global]
        rel04 = "Check: Choices based on sub policies"
        idempotent = "True"
        [[policies.settings]]
        scope = "account:123456789012"
        idempotent = "Skip"
        required = true
        expires = "2027-01-01T00:00:00Z"
    "#;
    let s = load(
        Some(file),
        &[
            ("REL04D__SCHEDULE__INTERVAL", "90s"),
            ("REL04D__AWS__REGIONS", "us-east-1,eu-west-1"),
            ("REL04D__AWS__MAX_CONCURRENCY", "3"),
            ("REL04D__POLICIES__GLOBAL__CONSTANT_WORK", "False"),
            ("REL04D__DATABASE__URL", "postgres://u:pw@localhost/db"),
        ],
    )
    .unwrap();
    assert_eq!(s.schedule.interval, Duration::from_secs(90));
    assert_eq!(s.aws.regions, ["us-east-1", "eu-west-1"]);
    assert_eq!(s.aws.max_concurrency, 3);
    assert_eq!(
        s.policies.global.values.get("constant_work"),
        Some(&PolicyInput::from("False"))
    );
    assert_eq!(
        s.policies.global.values.get("idempotent"),
        Some(&PolicyInput::from("True"))
    );
    let set = s.policies.to_policy_set().unwrap();
    assert_eq!(
        set.settings[1].origin,
        "policies.settings[0] (account:123456789012)"
    );
    assert!(set.settings[1].required);
    assert!(set.settings[1].expires.is_some());
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let err = error(Some("[database]\nurll = \"x\"\n"), &[]);
    assert_eq!(err.key, "database.urll");
    assert!(err.message.contains("unknown field `urll`"), "{err}");

    let err = error(None, &[("REL04D__SCHEDULE__INTERVALL", "5m")]);
    assert!(err.message.contains("unknown field `intervall`"), "{err}");

    let err = error(
        Some("[[policies.settings]]\nscope = \"account:123456789012\"\nidempotnet = \"True\"\n"),
        &[],
    );
    assert!(err.key.starts_with("policies.settings"), "{err}");
    assert!(err.message.contains("unknown field `idempotnet`"), "{err}");
}

#[test]
fn invalid_values_are_refused_by_key() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "schedule.interval",
            &[("REL04D__SCHEDULE__INTERVAL", "soon")],
            "soon",
        ),
        (
            "aws.max_concurrency",
            &[("REL04D__AWS__MAX_CONCURRENCY", "many")],
            "many",
        ),
        (
            "aws.max_concurrency",
            &[("REL04D__AWS__MAX_CONCURRENCY", "0")],
            "allowed: 1 to 1024",
        ),
        (
            "aws.max_requests_per_second",
            &[("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "-1")],
            "allowed: 0.01 to 10000",
        ),
        (
            "aws.max_requests_per_second",
            &[("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "fast")],
            "neither \"auto\" nor a number",
        ),
        (
            "aws.max_requests_per_second_ceiling",
            &[("REL04D__AWS__MAX_REQUESTS_PER_SECOND_CEILING", "0")],
            "allowed: 0.01 to 10000",
        ),
        (
            "aws.regions[0]",
            &[("REL04D__AWS__REGIONS", "Mars")],
            "not an AWS region",
        ),
        (
            "database.url",
            &[("REL04D__DATABASE__URL", "mysql://x")],
            "sqlite: or postgres:",
        ),
        (
            "http.listen",
            &[("REL04D__HTTP__LISTEN", "localhost")],
            "invalid socket address",
        ),
        ("log.format", &[("REL04D__LOG__FORMAT", "xml")], "xml"),
        (
            "log.level",
            &[("REL04D__LOG__LEVEL", "verbose")],
            "not a log level",
        ),
        (
            "schedule.jitter",
            &[("REL04D__SCHEDULE__JITTER", "10m")],
            "shorter than",
        ),
        (
            "http.events_token",
            &[("REL04D__HTTP__EVENTS_TOKEN", "short")],
            "at least 16",
        ),
        (
            "policies.global.idempotent",
            &[("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "true")],
            "allowed: Skip, True, False",
        ),
        (
            "policies.global.rel04",
            &[("REL04D__POLICIES__GLOBAL__REL04", "Check")],
            "allowed: Skip, Check:",
        ),
        (
            "notify.flapping_transitions",
            &[("REL04D__NOTIFY__FLAPPING_TRANSITIONS", "1")],
            "at least 2",
        ),
        (
            "notify.flapping_transitions",
            &[("REL04D__NOTIFY__FLAPPING_TRANSITIONS", "101")],
            "101",
        ),
        (
            "notify.flapping_window",
            &[("REL04D__NOTIFY__FLAPPING_WINDOW", "0s")],
            "0s",
        ),
        (
            "notify.flapping_window",
            &[("REL04D__NOTIFY__FLAPPING_WINDOW", "2days")],
            "2days",
        ),
    ];
    for (key, pairs, message) in cases {
        let err = error(None, pairs);
        assert_eq!(&err.key, key, "{err}");
        assert!(err.message.contains(message), "{key}: {err}");
        assert!(
            err.to_string()
                .starts_with(&format!("configuration key `{key}`"))
        );
    }
}

#[test]
fn policy_scopes_and_accounts_are_checked() {
    let err = error(
        Some("[[policies.settings]]\nscope = \"account:12\"\nidempotent = \"True\"\n"),
        &[],
    );
    assert_eq!(err.key, "policies.settings[0].scope");
    let err = error(Some("[[policies.settings]]\nidempotent = \"True\"\n"), &[]);
    assert_eq!(
        (err.key.as_str(), err.message.as_str()),
        ("policies.settings[0].scope", "missing scope")
    );
    let err = error(
        Some("[policies.global]\nscope = \"account:123456789012\"\n"),
        &[],
    );
    assert_eq!(err.key, "policies.global.scope");
    let err = error(
        Some(
            "[[aws.accounts]]\nid = \"123456789012\"\nrole_arn = \"role\"\nregions = [\"us-east-1\"]\n",
        ),
        &[],
    );
    assert_eq!(err.key, "aws.accounts[0].role_arn");
}

#[test]
fn a_missing_config_file_is_named() {
    let err =
        Settings::load_with(Some(Path::new("/nonexistent/rel04d.toml")), env(&[])).unwrap_err();
    assert_eq!(err.key, "--config");
    assert!(err.message.contains("/nonexistent/rel04d.toml"));
}

#[test]
fn secrets_are_redacted_in_the_resolved_view() {
    let s = load(
        Some("[[aws.accounts]]\nid = \"123456789012\"\nrole_arn = \"arn:aws:iam::123456789012:role/r\"\nexternal_id = \"ext-secret-value\"\nregions = [\"us-east-1\"]\n"),
        &[
            ("REL04D__DATABASE__URL", "postgres://rel04d:hunter2-password@db/rel04d"),
            ("REL04D__HTTP__EVENTS_TOKEN", "token-0123456789abcdef"),
        ],
    )
    .unwrap();
    let text = serde_json::to_string(&s.redacted()).unwrap();
    for secret in [
        "hunter2-password",
        "token-0123456789abcdef",
        "ext-secret-value",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("postgres://rel04d:***@db/rel04d"), "{text}");
    assert!(
        !format!("{s:?}").contains("hunter2-password"),
        "Debug must not leak either"
    );
}

#[test]
fn calculated_policies_are_checked_at_load_by_key() {
    let calculated =
        |body: &str| format!("[[policies.settings]]\nscope = \"workload-name:a*\"\n{body}\n");
    let s = load(
        Some(&calculated(
            "idempotent = { template_input = \"{ resource { data } }\", template = \"{{ $.resource.data.Environment }}\" }",
        )),
        &[],
    )
    .unwrap();
    let set = s.policies.to_policy_set().unwrap();
    assert_eq!(set.settings[1].calculated.len(), 1);
    // What the query reads of the owner's is found at load (issue 21, finding 3).
    let calculation = &set.settings[1].calculated[&crate::control::PolicyKey::Idempotent];
    assert_eq!(calculation.owner_data.as_deref(), Some("resource.data"));
    let long = format!("{{{{ '{}' }}}}", "x".repeat(5000));
    for (body, key, message) in [
        (
            format!(
                "identify = {{ template_input = \"{{ __typename }}\", template = \"{long}\" }}"
            )
            .as_str(),
            "policies.settings[0].identify.template",
            "at most 4 KiB",
        ),
        (
            "identify = { template_input = \"{ resource { data } }\", template = \"{% set x %}{% endset %}\" }",
            "policies.settings[0].identify.template",
            "not available in calculated policies",
        ),
        (
            "identify = { template_input = \"{ resource { data } }\", template = \"{{ 'x' * 100000000 }}\" }",
            "policies.settings[0].identify.template",
            "64 KiB",
        ),
        (
            "identify = { template_input = \"{ resource { data } }\", template = \"{% if $ %}\" }",
            "policies.settings[0].identify.template",
            "syntax error",
        ),
        (
            "identify = { template_input = \"{ resource \", template = \"True\" }",
            "policies.settings[0].identify.template_input",
            "not a GraphQL query",
        ),
        (
            "identify = { template_input = \"mutation { unmuteControl(input: { id: \\\"x\\\" }) { muted } }\", template = \"True\" }",
            "policies.settings[0].identify.template_input",
            "must be a query",
        ),
    ] {
        let body = body.to_owned();
        let body = body.as_str();
        let err = load(Some(&calculated(body)), &[])
            .and_then(|s| s.policies.to_policy_set().map(|_| s))
            .expect_err(body);
        assert_eq!(err.key, key, "{body}: {err}");
        assert!(err.message.contains(message), "{body}: {err}");
    }
    // A table that is not a calculation says what is missing.
    let err = error(Some(&calculated("identify = { template = \"True\" }")), &[]);
    assert!(err.message.contains("template_input"), "{err}");
}

#[test]
fn the_request_rate_is_auto_by_default_and_a_number_is_fixed() {
    use crate::config::RequestRate;
    let load = |vars: &[(&str, &str)]| {
        let env = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load_with(None, Some(env)).unwrap()
    };
    let defaults = load(&[]);
    assert_eq!(defaults.aws.max_requests_per_second, RequestRate::Auto);
    assert_eq!(defaults.aws.max_requests_per_second_ceiling, None);
    let fixed = load(&[
        ("REL04D__AWS__MAX_REQUESTS_PER_SECOND", "25"),
        ("REL04D__AWS__MAX_REQUESTS_PER_SECOND_CEILING", "40.5"),
    ]);
    assert_eq!(fixed.aws.max_requests_per_second, RequestRate::Fixed(25.0));
    assert_eq!(fixed.aws.max_requests_per_second_ceiling, Some(40.5));
}

#[test]
fn an_exception_without_a_reason_is_refused_only_when_reasons_are_required() {
    let block = |extra: &str| {
        format!(
            "[policies]\nrequire_exception_reason = {{}}\n[[policies.settings]]\nscope = \"account:123456789012\"\nidempotent = \"False\"\n{extra}"
        )
    };
    let check = |require: bool, extra: &str| {
        load(Some(&block(extra).replace("{}", &require.to_string())), &[])
            .and_then(|s| s.policies.to_policy_set().map(|_| s))
    };
    let err = check(true, "exception = true\n").unwrap_err();
    assert_eq!(err.key, "policies.settings[0].reason", "{err}");
    assert!(err.message.contains("require_exception_reason"), "{err}");
    check(false, "exception = true\n").unwrap();
    check(true, "exception = false\n").unwrap();
    let s = check(
        true,
        "exception = true\nreason = \"legacy batch job, replaced in Q3\"\nticket = \"CHG-1234\"\nowner = \"team-payments\"\n",
    )
    .unwrap();
    let shown = s.redacted();
    assert_eq!(shown["policies"]["settings"][0]["ticket"], "CHG-1234");
    assert_eq!(shown["policies"]["settings"][0]["owner"], "team-payments");
}

#[test]
fn reasons_tickets_and_owners_are_bounded_text() {
    for (extra, key, message) in [
        ("reason = \"  \"", "policies.settings[0].reason", "blank"),
        (
            "ticket = \"a\\nb\"",
            "policies.settings[0].ticket",
            "control characters",
        ),
        (
            &format!("owner = \"{}\"", "x".repeat(201)) as &str,
            "policies.settings[0].owner",
            "longer than 200",
        ),
        (
            &format!("reason = \"{}\"", "x".repeat(1001)) as &str,
            "policies.settings[0].reason",
            "longer than 1000",
        ),
    ] {
        let file = format!(
            "[[policies.settings]]\nscope = \"account:123456789012\"\nidempotent = \"False\"\n{extra}\n"
        );
        let err = load(Some(&file), &[])
            .and_then(|s| s.policies.to_policy_set().map(|_| s))
            .expect_err(extra);
        assert_eq!(err.key, key, "{extra}: {err}");
        assert!(err.message.contains(message), "{extra}: {err}");
    }
}

#[test]
fn the_organization_is_checked_key_by_key() {
    let org = |body: &str| format!("[aws.organization]\nrole_name = \"rel04d-member\"\n{body}");
    let s = load(
        Some(&org("include = [\"ou-ab12-abcdefgh\", \"123456789012\"]\n")),
        &[],
    )
    .unwrap();
    let organization = s.aws.organization.as_ref().unwrap();
    assert_eq!(organization.refresh_interval, Duration::from_secs(3600));
    assert_eq!(organization.max_accounts, 1_000);
    let s = load(Some(&org("external_id = \"the-secret-id\"\n")), &[]).unwrap();
    let shown = s.redacted().to_string();
    assert!(!shown.contains("the-secret-id"), "{shown}");
    assert!(shown.contains("rel04d-member"), "{shown}");
    // From the environment, lists are comma-separated.
    let s = load(
        Some(&org("")),
        &[("REL04D__AWS__ORGANIZATION__EXCLUDE", "r-ab12, 111122223333")],
    )
    .unwrap();
    assert_eq!(
        s.aws.organization.unwrap().exclude,
        ["r-ab12", "111122223333"]
    );
    for (body, key) in [
        ("include = [\"ou-x\"]\n", "aws.organization.include[0]"),
        ("exclude = [\"12\"]\n", "aws.organization.exclude[0]"),
        ("regions = [\"mars-1\"]\n", "aws.organization.regions[0]"),
        (
            "refresh_interval = \"0s\"\n",
            "aws.organization.refresh_interval",
        ),
        ("max_accounts = 0\n", "aws.organization.max_accounts"),
        ("max_accounts = 20001\n", "aws.organization.max_accounts"),
        (
            "max_requests_per_second = 100.0\n",
            "aws.organization.max_requests_per_second",
        ),
    ] {
        assert_eq!(error(Some(&org(body)), &[]).key, key, "{body}");
    }
    let err = error(
        Some("[aws.organization]\nrole_name = \"path/to/role\"\n"),
        &[],
    );
    assert_eq!(err.key, "aws.organization.role_name");
    let err = error(Some("[aws.organization]\nregions = []\n"), &[]);
    assert!(err.to_string().contains("role_name"), "{err}");
}

#[test]
fn the_exception_expiry_warning_is_a_duration_and_needs_a_bus() {
    let s = load(None, &[]).unwrap();
    assert_eq!(s.notify.exception_expiry_warning, None, "off by default");
    let s = load(
        Some("[notify]\nevent_bus = \"default\"\nexception_expiry_warning = \"30d\"\n"),
        &[],
    )
    .unwrap();
    assert_eq!(
        s.notify.exception_expiry_warning,
        Some(Duration::from_secs(30 * 86_400))
    );
    let err = error(Some("[notify]\nexception_expiry_warning = \"30d\"\n"), &[]);
    assert_eq!(err.key, "notify.exception_expiry_warning");
    assert!(err.message.contains("notify.event_bus"), "{err}");
    let err = error(
        Some("[notify]\nevent_bus = \"default\"\nexception_expiry_warning = \"0s\"\n"),
        &[],
    );
    assert_eq!(err.key, "notify.exception_expiry_warning");
}
