use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};

use super::*;

const ACCOUNT: &str = "111122223333";
const WORKLOAD: &str = "0123456789abcdef0123456789abcdef";
const NAME: &str = "prod-payments";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn setting(scope: &str, key: PolicyKey, value: &str) -> PolicySetting {
    let scope = if scope == "global" {
        Scope::Global
    } else {
        Scope::parse(scope).unwrap()
    };
    PolicySetting {
        origin: scope.to_string(),
        scope,
        values: BTreeMap::from([(key, value.to_owned())]),
        calculated: BTreeMap::new(),
        required: false,
        exception: false,
        expires: None,
        accountability: Default::default(),
    }
}

fn required(mut s: PolicySetting) -> PolicySetting {
    s.required = true;
    s
}

fn exception(mut s: PolicySetting) -> PolicySetting {
    s.exception = true;
    s
}

fn expiring(mut s: PolicySetting, at: DateTime<Utc>) -> PolicySetting {
    s.expires = Some(at);
    s
}

fn resolve_with(
    settings: Vec<PolicySetting>,
    tags: &[(&str, &str)],
    tag_prefix: Option<&str>,
) -> ResolvedPolicies {
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let set = PolicySet {
        settings,
        tag_prefix: tag_prefix.map(str::to_owned),
        tags_may_enforce: false,
    };
    let facts = WorkloadFacts {
        account_id: ACCOUNT,
        workload_id: WORKLOAD,
        workload_name: NAME,
        tags: &tags,
    };
    resolve(&set, &facts, now())
}

fn idempotent(settings: Vec<PolicySetting>) -> ResolvedValue {
    resolve_with(settings, &[], None)
        .get(&PolicyKey::Idempotent)
        .clone()
}

const KEY: PolicyKey = PolicyKey::Idempotent;

#[test]
fn nothing_configured_means_the_builtin_default_skip() {
    let resolved = resolve_with(vec![], &[], None);
    for (key, value) in resolved.iter() {
        assert_eq!(value.value, "Skip", "{key}");
        assert_eq!(value.level, Level::Default);
        assert_eq!(value.origin, "built-in default");
        assert!(value.passed_over.is_empty());
    }
}

#[test]
fn each_level_overrides_the_less_specific_ones() {
    let global = setting("global", KEY, "True");
    let account = setting(&format!("account:{ACCOUNT}"), KEY, "False");
    let by_name = setting("workload-name:prod-*", KEY, "Skip");
    let by_id = setting(&format!("workload:{WORKLOAD}"), KEY, "True");

    let v = idempotent(vec![global.clone()]);
    assert_eq!((v.value.as_str(), v.level), ("True", Level::Global));

    let v = idempotent(vec![account.clone(), global.clone()]);
    assert_eq!((v.value.as_str(), v.level), ("False", Level::Account));

    let v = idempotent(vec![by_name.clone(), account.clone(), global.clone()]);
    assert_eq!((v.value.as_str(), v.level), ("Skip", Level::Workload));
    assert_eq!(v.origin, "workload-name:prod-*");

    // An exact workload id is more specific than a name glob, whatever the config order.
    let v = idempotent(vec![by_id.clone(), by_name.clone(), account, global]);
    assert_eq!((v.value.as_str(), v.level), ("True", Level::Workload));
    assert_eq!(v.origin, format!("workload:{WORKLOAD}"));
    let reasons: Vec<&str> = v.passed_over.iter().map(|p| p.origin.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "built-in default",
            "global",
            "account:111122223333",
            "workload-name:prod-*"
        ]
    );
}

#[test]
fn settings_for_other_workloads_and_accounts_do_not_apply() {
    let v = idempotent(vec![
        setting("global", KEY, "True"),
        setting("account:999999999999", KEY, "False"),
        setting("workload:ffffffffffffffffffffffffffffffff", KEY, "False"),
        setting("workload-name:dev-*", KEY, "False"),
    ]);
    assert_eq!((v.value.as_str(), v.level), ("True", Level::Global));
}

#[test]
fn later_settings_of_the_same_level_win() {
    let v = idempotent(vec![
        setting("workload-name:prod-*", KEY, "True"),
        setting("workload-name:*-payments", KEY, "False"),
    ]);
    assert_eq!(v.value, "False");
    assert_eq!(v.origin, "workload-name:*-payments");
}

#[test]
fn a_setting_only_supplies_the_keys_it_names() {
    let resolved = resolve_with(vec![setting("global", KEY, "True")], &[], None);
    assert_eq!(resolved.get(&PolicyKey::Idempotent).value, "True");
    assert_eq!(resolved.get(&PolicyKey::ConstantWork).level, Level::Default);
}

#[test]
fn tags_are_most_specific_but_only_when_enabled() {
    let settings = vec![setting(&format!("workload:{WORKLOAD}"), KEY, "True")];
    let tags = [("rel04d:idempotent", "False"), ("rel04d:rel04", "Skip")];

    let off = resolve_with(settings.clone(), &tags, None);
    assert_eq!(off.get(&KEY).value, "True");
    assert_eq!(off.get(&PolicyKey::Rel04).level, Level::Default);

    let on = resolve_with(settings.clone(), &tags, Some("rel04d:"));
    assert_eq!(
        (on.get(&KEY).value.as_str(), on.get(&KEY).level),
        ("False", Level::Tag)
    );
    assert_eq!(on.get(&KEY).origin, "tag rel04d:idempotent");
    assert_eq!(on.get(&PolicyKey::Rel04).level, Level::Tag);

    let other_prefix = resolve_with(settings, &tags, Some("compliance/"));
    assert_eq!(other_prefix.get(&KEY).value, "True");
}

#[test]
fn tag_values_are_passed_through_raw_for_the_evaluator_to_reject() {
    let on = resolve_with(vec![], &[("rel04d:idempotent", "maybe")], Some("rel04d:"));
    assert_eq!(on.get(&KEY).value, "maybe");
}

#[test]
fn required_holds_against_more_specific_levels() {
    let v = idempotent(vec![
        required(setting("global", KEY, "True")),
        setting(&format!("account:{ACCOUNT}"), KEY, "False"),
        setting(&format!("workload:{WORKLOAD}"), KEY, "Skip"),
    ]);
    assert_eq!((v.value.as_str(), v.level), ("True", Level::Global));
    let held: Vec<&str> = v
        .passed_over
        .iter()
        .filter(|p| p.why.contains("is required"))
        .map(|p| p.origin.as_str())
        .collect();
    assert_eq!(
        held,
        [
            "account:111122223333",
            "workload:0123456789abcdef0123456789abcdef"
        ]
    );
}

#[test]
fn required_holds_against_tags_which_can_never_be_exceptions() {
    let resolved = resolve_with(
        vec![required(setting(
            &format!("account:{ACCOUNT}"),
            KEY,
            "True",
        ))],
        &[("rel04d:idempotent", "False")],
        Some("rel04d:"),
    );
    let v = resolved.get(&KEY);
    assert_eq!((v.value.as_str(), v.level), ("True", Level::Account));
    assert!(
        v.passed_over
            .iter()
            .any(|p| p.level == Level::Tag && p.why.contains("required"))
    );
}

#[test]
fn an_exception_overrides_a_required_setting_but_the_requirement_still_holds_below() {
    let v = idempotent(vec![
        required(setting("global", KEY, "True")),
        exception(setting(&format!("account:{ACCOUNT}"), KEY, "False")),
        setting(&format!("workload:{WORKLOAD}"), KEY, "Skip"),
    ]);
    assert_eq!((v.value.as_str(), v.level), ("False", Level::Account));

    let v = idempotent(vec![
        required(setting("global", KEY, "True")),
        exception(setting(&format!("account:{ACCOUNT}"), KEY, "False")),
        exception(setting(&format!("workload:{WORKLOAD}"), KEY, "Skip")),
    ]);
    assert_eq!((v.value.as_str(), v.level), ("Skip", Level::Workload));
}

#[test]
fn exception_without_a_requirement_is_an_ordinary_override() {
    let v = idempotent(vec![
        setting("global", KEY, "True"),
        exception(setting(&format!("account:{ACCOUNT}"), KEY, "False")),
    ]);
    assert_eq!(v.value, "False");
}

#[test]
fn required_does_not_stop_a_later_setting_of_the_same_level() {
    let v = idempotent(vec![
        required(setting("workload-name:prod-*", KEY, "True")),
        setting("workload-name:*-payments", KEY, "False"),
    ]);
    assert_eq!(v.value, "False");
}

#[test]
fn expired_settings_are_ignored_even_when_required() {
    let past = now() - chrono::Duration::seconds(1);
    let future = now() + chrono::Duration::days(1);

    let v = idempotent(vec![
        setting("global", KEY, "True"),
        expiring(setting(&format!("account:{ACCOUNT}"), KEY, "False"), past),
    ]);
    assert_eq!((v.value.as_str(), v.level), ("True", Level::Global));
    assert!(
        v.passed_over
            .iter()
            .any(|p| p.why.starts_with("expired at"))
    );

    let v = idempotent(vec![
        setting("global", KEY, "True"),
        expiring(setting(&format!("account:{ACCOUNT}"), KEY, "False"), future),
    ]);
    assert_eq!(v.value, "False");

    let v = idempotent(vec![
        expiring(required(setting("global", KEY, "True")), past),
        setting(&format!("workload:{WORKLOAD}"), KEY, "False"),
    ]);
    assert_eq!(v.value, "False");

    // Expiring exactly now counts as expired.
    let v = idempotent(vec![expiring(setting("global", KEY, "True"), now())]);
    assert_eq!(v.level, Level::Default);
}

#[test]
fn scopes_parse_strictly() {
    assert_eq!(
        Scope::parse("account:123456789012").unwrap(),
        Scope::Account("123456789012".into())
    );
    assert_eq!(
        Scope::parse(&format!("workload:{WORKLOAD}")).unwrap(),
        Scope::Workload(WORKLOAD.into())
    );
    assert_eq!(
        Scope::parse("workload-name:prod-*").unwrap(),
        Scope::WorkloadName("prod-*".into())
    );
    for bad in [
        "account:12345",
        "account:12345678901a",
        "workload:",
        "workload:abc",
        "workload:../../etc",
        "workload:0123456789ABCDEF0123456789ABCDEF",
        "region:us-east-1",
        "global",
        "prod-*",
    ] {
        assert!(Scope::parse(bad).is_err(), "{bad}");
    }
    for text in [
        "account:123456789012".to_owned(),
        format!("workload:{WORKLOAD}"),
        "workload-name:prod-*".to_owned(),
    ] {
        assert_eq!(Scope::parse(&text).unwrap().to_string(), text);
    }
}

/// Resolves `rel04` with a tag, with or without the operator's allowance.
fn rel04_with_tag(configured: &str, tag: &str, tags_may_enforce: bool) -> ResolvedValue {
    let tags = BTreeMap::from([("rel04d:rel04".to_owned(), tag.to_owned())]);
    let set = PolicySet {
        settings: vec![setting("global", PolicyKey::Rel04, configured)],
        tag_prefix: Some("rel04d:".to_owned()),
        tags_may_enforce,
    };
    let facts = WorkloadFacts {
        account_id: ACCOUNT,
        workload_id: WORKLOAD,
        workload_name: NAME,
        tags: &tags,
    };
    resolve(&set, &facts, now()).get(&PolicyKey::Rel04).clone()
}

#[test]
fn a_tag_cannot_raise_rel04_to_enforce_unless_the_operator_allows_it() {
    for configured in ["Skip", "Check: Choices based on sub policies"] {
        for tag in [
            "Enforce: None of these",
            "Enforce: Choices based on sub policies",
        ] {
            let refused = rel04_with_tag(configured, tag, false);
            assert_eq!(refused.value, configured, "{configured} + tag {tag}");
            assert_eq!(refused.level, Level::Global);
            let why = &refused.passed_over.last().unwrap();
            assert_eq!((why.level, why.value.as_str()), (Level::Tag, tag));
            assert!(why.why.contains("policies.tags.allow_enforce"), "{why:?}");

            let allowed = rel04_with_tag(configured, tag, true);
            assert_eq!((allowed.value.as_str(), allowed.level), (tag, Level::Tag));
        }
    }
}

#[test]
fn a_tag_may_always_lower_enforce_to_check_or_skip() {
    for tag in ["Skip", "Check: None of these"] {
        let lowered = rel04_with_tag("Enforce: Choices based on sub policies", tag, false);
        assert_eq!((lowered.value.as_str(), lowered.level), (tag, Level::Tag));
    }
}

/// `rel04` calculated at the workload level (over a global `Check:`) to
/// `output`, from a query that reads `owner_data`.
fn calculated_rel04(
    output: &str,
    owner_data: Option<&str>,
    tags_may_enforce: bool,
) -> ResolvedValue {
    let calculation = Calculation {
        template_input: "{ resource { turbot { tags } } }".to_owned(),
        template: "{{ $.resource.turbot.tags.mode }}".to_owned(),
        owner_data: owner_data.map(str::to_owned),
    };
    let mut workload = setting(&format!("workload:{WORKLOAD}"), PolicyKey::Rel04, "Skip");
    workload.values.clear();
    workload.calculated.insert(PolicyKey::Rel04, calculation);
    let set = PolicySet {
        settings: vec![
            setting(
                "global",
                PolicyKey::Rel04,
                "Check: Choices based on sub policies",
            ),
            workload.clone(),
        ],
        tag_prefix: None,
        tags_may_enforce,
    };
    let tags = BTreeMap::new();
    let facts = WorkloadFacts {
        account_id: ACCOUNT,
        workload_id: WORKLOAD,
        workload_name: NAME,
        tags: &tags,
    };
    let trace = CalculationTrace::new(
        &workload.calculated[&PolicyKey::Rel04].template,
        None,
        Ok(output.to_owned()),
    );
    let calculated = Calculated(BTreeMap::from([(
        (workload.origin.clone(), PolicyKey::Rel04),
        trace,
    )]));
    resolve_calculated(&set, &facts, now(), &calculated)
        .get(&PolicyKey::Rel04)
        .clone()
}

/// Issue 21, finding 3: a value calculated from owner data is tainted like a tag.
#[test]
fn a_value_calculated_from_owner_data_cannot_select_enforce_unless_allowed() {
    let enforce = "Enforce: Choices based on sub policies";
    let refused = calculated_rel04(enforce, Some("resource.turbot.tags"), false);
    assert_eq!(refused.value, "Check: Choices based on sub policies");
    assert_eq!(refused.level, Level::Global);
    let why = refused.passed_over.last().unwrap();
    assert_eq!((why.level, why.value.as_str()), (Level::Workload, enforce));
    assert!(why.why.contains("resource.turbot.tags"), "{why:?}");
    assert!(why.why.contains("policies.tags.allow_enforce"), "{why:?}");

    let allowed = calculated_rel04(enforce, Some("resource.turbot.tags"), true);
    assert_eq!(
        (allowed.value.as_str(), allowed.level),
        (enforce, Level::Workload)
    );
    assert!(allowed.calculation.is_some());
    // A query that reads nothing the owner controls may enforce.
    let clean = calculated_rel04(enforce, None, false);
    assert_eq!(clean.value, enforce);
    // Check and Skip are never refused.
    let check = calculated_rel04("Check: None of these", Some("resource.data"), false);
    assert_eq!(check.value, "Check: None of these");
}

#[test]
fn check_config_warns_of_calculated_enforce_that_would_be_passed_over() {
    let calculation = |owner_data: Option<&str>| Calculation {
        template_input: String::new(),
        template: String::new(),
        owner_data: owner_data.map(str::to_owned),
    };
    let mut tainted = setting("global", PolicyKey::Rel04, "Skip");
    tainted.values.clear();
    tainted
        .calculated
        .insert(PolicyKey::Rel04, calculation(Some("resource.turbot.tags")));
    let mut clean = setting("account:111122223333", PolicyKey::Rel04, "Skip");
    clean.values.clear();
    clean.calculated.insert(PolicyKey::Rel04, calculation(None));
    let mut set = PolicySet {
        settings: vec![tainted, clean],
        tag_prefix: None,
        tags_may_enforce: false,
    };
    let warnings = set.enforce_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("global: rel04's template_input reads"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("resource.turbot.tags"), "{warnings:?}");
    set.tags_may_enforce = true;
    assert!(set.enforce_warnings().is_empty());
}
