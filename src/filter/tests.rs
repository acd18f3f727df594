use proptest::prelude::*;

use super::*;

fn values(term: &Term) -> Vec<&str> {
    match &term.matcher {
        Matcher::AnyOf(values) => values.iter().map(String::as_str).collect(),
        other => panic!("not a value list: {other:?}"),
    }
}

#[test]
fn resource_terms_scope_down_the_hierarchy() {
    let f = Filter::parse(
        "resource:'111122223333' resourceId:arn:aws::eu-west-1:111122223333,tmod:@turbot/turbot#/",
    )
    .unwrap();
    assert_eq!(f.terms[0].key, Key::Scope);
    let Matcher::Scopes(scopes) = &f.terms[1].matcher else {
        panic!("{:?}", f.terms[1]);
    };
    assert_eq!(scopes[1], Scope::Everything);
    let error = Filter::parse("resource:'182532796222472'").unwrap_err();
    assert!(error.message.contains("\"182532796222472\""), "{error}");
    // A regex still tests the workload's ARN and id.
    assert_eq!(
        Filter::parse("resource:/prod/").unwrap().terms[0].key,
        Key::Resource
    );
}

#[test]
fn control_type_uris_name_each_questions_control_type() {
    let f = Filter::parse(
        "controlTypeId:tmod:@turbot/aws-wellarchitected-framework#/control/types/rel05,\
         tmod:@rel04d/custom-lens#/control/types/retention,tmod:@acme/other#/control/types/x",
    )
    .unwrap();
    assert_eq!(
        values(&f.terms[0]),
        ["rel05", "retention", "tmod:@acme/other#/control/types/x"]
    );
}

#[test]
fn resource_types_are_the_workload_its_ancestors_or_an_error() {
    let f = Filter::parse("resourceTypeId:tmod:@turbot/aws#/resource/types/aws").unwrap();
    assert_eq!(values(&f.terms[0]), [CONTROL_TYPE]);
    let f = Filter::parse("resourceTypeId:'tmod:@turbot/aws-s3#/resource/types/bucket'").unwrap();
    assert_eq!(
        values(&f.terms[0]),
        ["tmod:@turbot/aws-s3#/resource/types/bucket"]
    );
    let error = Filter::parse("resourceTypeId:bucket").unwrap_err();
    assert!(
        error.message.contains("\"bucket\" is not a resource type"),
        "{error}"
    );
}

#[test]
fn time_terms_and_public_sort_names() {
    let now = "2026-03-10T12:00:00Z".parse().unwrap();
    let f = Filter::parse_at(
        "timestamp:>T-1d stateChangeTimestamp:>=2026-03-01,<2026-03-05 sort:-timestamp",
        now,
    )
    .unwrap();
    assert_eq!(f.terms[0].key, Key::Time(TimeField::Timestamp));
    let Matcher::Times(bounds) = &f.terms[1].matcher else {
        panic!("{:?}", f.terms[1]);
    };
    assert_eq!(bounds.len(), 2);
    assert_eq!(f.sort.unwrap().field, "timestamp");
    for (text, named) in [
        ("timestamp:>T-1y", "\"T-1y\""),
        ("createTimestamp:2026-01-01", "\"2026-01-01\""),
        ("updateTimestamp:/2026/", "updateTimestamp takes no regex"),
    ] {
        let error = Filter::parse(text).unwrap_err();
        assert!(error.message.contains(named), "{text}: {error}");
    }
}

#[test]
fn notification_types_and_actors() {
    let f = Filter::parse("type:control_created,resource_updated,control actorIdentityId:-rel04d")
        .unwrap();
    assert_eq!(values(&f.terms[0]), ["control_created", "none", "control"]);
    assert_eq!(f.terms[1].key, Key::Actor);
    assert!(f.terms[1].negated);
    let error = Filter::parse("notificationType:actorIdentityId:123").unwrap_err();
    assert!(
        error
            .message
            .contains("unknown notification type \"actorIdentityId:123\""),
        "{error}"
    );
}

#[test]
fn the_spec_example_parses() {
    let f =
        Filter::parse("state:alarm,error account:123456789012 sort:-updated_at limit:50").unwrap();
    assert_eq!(f.terms.len(), 2);
    assert_eq!(f.terms[0].key, Key::State);
    assert_eq!(values(&f.terms[0]), ["alarm", "error"]);
    assert_eq!(f.terms[1].key, Key::Account);
    assert_eq!(
        f.sort,
        Some(Sort {
            field: "updated_at".into(),
            descending: true
        })
    );
    assert_eq!(f.limit, Some(50));
}

#[test]
fn empty_filters_match_everything() {
    for text in ["", "   ", "\t\n"] {
        let f = Filter::parse(text).unwrap();
        assert!(f.terms.is_empty() && f.sort.is_none() && f.limit.is_none());
    }
}

#[test]
fn active_expands_to_the_four_active_states() {
    let f = Filter::parse("state:active").unwrap();
    assert_eq!(values(&f.terms[0]), ["ok", "alarm", "invalid", "error"]);
}

#[test]
fn negation_and_regex() {
    let f = Filter::parse("!state:ok workload:/^prod-.*$/").unwrap();
    assert!(f.terms[0].negated);
    assert!(!f.terms[0].matches(["ok"]));
    assert!(f.terms[0].matches(["alarm"]));
    assert!(f.terms[1].matches(["0123", "prod-payments"]));
    assert!(!f.terms[1].matches(["dev-payments"]));
}

#[test]
fn quoted_values_and_regexes_may_hold_spaces() {
    let f = Filter::parse(r#"workload:"my workload" region:/us (east|west)-1/"#).unwrap();
    assert_eq!(values(&f.terms[0]), ["my workload"]);
    assert!(f.terms[1].matches(["us east-1"]));
}

#[test]
fn guardrails_spellings_are_accepted() {
    let f = Filter::parse(&format!(
        "controlTypeId:{GUARDRAILS_CONTROL_TYPE} resourceId:arn:aws:wellarchitected:us-east-1:123456789012:workload/abc"
    ))
    .unwrap();
    assert_eq!(f.terms[0].key, Key::ControlType);
    assert_eq!(values(&f.terms[0]), ["rel04"]);
    assert_eq!(f.terms[1].key, Key::Scope);
    assert!(matches!(
        &f.terms[1].matcher,
        Matcher::Scopes(s) if s == &[Scope::Workload("arn:aws:wellarchitected:us-east-1:123456789012:workload/abc".into())]
    ));
}

#[test]
fn errors_point_at_the_bad_term() {
    let cases = [
        (
            "state:ok colour:red",
            2,
            "colour:red",
            "unknown key `colour`",
        ),
        ("state:okay", 1, "state:okay", "unknown state \"okay\""),
        (
            "state:ok,,alarm",
            1,
            "state:ok,,alarm",
            "empty value in list",
        ),
        ("account:", 1, "account:", "account has no value"),
        ("justaword", 1, "justaword", "expected key:value"),
        ("limit:0", 1, "limit:0", "limit must be"),
        ("limit:ten", 1, "limit:ten", "limit must be"),
        ("!limit:5", 1, "!limit:5", "cannot be negated"),
        ("sort:-", 1, "sort:-", "is not a field name"),
        ("sort:name;drop", 1, "sort:name;drop", "is not a field name"),
        ("region:/(/", 1, "region:/(/", "bad regex"),
        (
            "workload:\"a b",
            1,
            "workload:a b",
            "unterminated quote or regex",
        ),
        (
            "state:ok region:/us",
            2,
            "region:/us",
            "unterminated quote or regex",
        ),
        (
            "sort:state sort:-state",
            2,
            "sort:-state",
            "sort is given twice",
        ),
        ("limit:5 limit:6", 2, "limit:6", "limit is given twice"),
    ];
    for (text, position, term, message) in cases {
        let err = Filter::parse(text).unwrap_err();
        assert_eq!(err.position, position, "{text}");
        assert_eq!(err.term, term, "{text}");
        assert!(err.message.contains(message), "{text}: {}", err.message);
        assert!(
            err.to_string()
                .starts_with(&format!("bad filter term {position} `{term}`"))
        );
    }
}

#[test]
fn filters_are_bounded_in_terms() {
    let many = vec!["state:ok"; 65].join(" ");
    let err = Filter::parse(&many).unwrap_err();
    assert_eq!(
        (err.position, err.message.as_str()),
        (65, "a filter has at most 64 terms")
    );
    assert!(Filter::parse(&vec!["state:ok"; 64].join(" ")).is_ok());
}

#[test]
fn values_are_bounded_across_terms() {
    let values = |n: usize| {
        (0..n)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let at_most = format!("workload:{}", values(MAX_VALUES));
    assert!(Filter::parse(&at_most).is_ok());
    let err = Filter::parse(&format!("workload:{} account:1", values(MAX_VALUES))).unwrap_err();
    assert_eq!(err.position, 2);
    assert!(err.message.contains("at most 1000 values"), "{err}");
    let err = Filter::parse(&format!("state:ok workload:{}", values(20_000))).unwrap_err();
    assert_eq!(err.position, 2, "{err}");
}

#[test]
fn regexes_are_bounded_in_number_size_and_compiled_size() {
    let eight = ["region:/us/"; MAX_REGEXES].join(" ");
    assert!(Filter::parse(&eight).is_ok());
    let err = Filter::parse(&format!("{eight} account:/1/")).unwrap_err();
    assert_eq!(
        (err.position, err.message.as_str()),
        (9, "a filter has at most 8 regex terms")
    );
    let long = format!("workload:/{}/", "a".repeat(MAX_PATTERN_BYTES + 1));
    assert!(
        Filter::parse(&long)
            .unwrap_err()
            .message
            .contains("at most 256"),
    );
    let err = Filter::parse(r"workload:/\w{200}/").unwrap_err();
    assert!(err.message.contains("too complex"), "{err}");
    assert!(Filter::parse(r"workload:/^prod-[a-z0-9-]{1,64}$/").is_ok());
}

#[test]
fn regexes_and_limits_are_read_without_parsing() {
    let text = r#"workload:/a b/ region:/x/ state:ok limit:7 account:"a b""#;
    assert_eq!(Filter::count_regexes(text), 2);
    assert_eq!(Filter::requested_limit(text), Some(7));
    assert_eq!(Filter::requested_limit("state:ok"), None);
}

proptest! {
    #[test]
    fn parsing_never_panics(text in "\\PC{0,60}") {
        let _ = Filter::parse(&text);
    }

    #[test]
    fn parsing_arbitrary_terms_never_panics(
        terms in prop::collection::vec("!?(state|workload|account|region|sort|limit|x)?:?[a-z0-9,/\"*.^$()-]{0,10}", 0..6)
    ) {
        let _ = Filter::parse(&terms.join(" "));
    }
}

#[test]
fn guardrails_spellings_parse_as_written() {
    let f = Filter::parse(
        "controlTypeId:tmod:@turbot/aws-wellarchitected-framework#/control/types/rel04 \
         controlTypeLevel:self resourceTypeId:tmod:@turbot/aws-wellarchitected#/resource/types/workload \
         $.turbot.tags.were:'wolf pack' sort:stateChangeTimestamp",
    )
    .unwrap();
    assert_eq!(f.terms.len(), 3, "controlTypeLevel:self changes nothing");
    assert_eq!(values(&f.terms[0]), ["rel04"]);
    assert_eq!(
        values(&f.terms[1]),
        ["rel04"],
        "the workload type is every control"
    );
    assert_eq!(f.terms[2].key, Key::Data);
    assert_eq!(f.terms[2].path, ["turbot", "tags", "were"]);
    assert_eq!(
        values(&f.terms[2]),
        ["wolf pack"],
        "single quotes like double"
    );
    assert_eq!(f.sort.unwrap().field, "stateChangeTimestamp");

    let other = Filter::parse("resourceTypeId:tmod:@turbot/aws-s3#/resource/types/bucket").unwrap();
    assert_eq!(
        values(&other.terms[0]),
        ["tmod:@turbot/aws-s3#/resource/types/bucket"]
    );
    let root = Filter::parse("resourceId:'tmod:@turbot/turbot#/'").unwrap();
    assert!(
        matches!(&root.terms[0].matcher, Matcher::Scopes(s) if s == &[Scope::Everything]),
        "the root holds every workload"
    );
    let notes = Filter::parse("notificationType:control_updated sort:-timestamp").unwrap();
    assert_eq!(values(&notes.terms[0]), ["control_updated"]);
    assert_eq!(notes.sort.unwrap().field, "timestamp");
    let err = Filter::parse("$.turbot..tags:x").unwrap_err();
    assert!(err.message.contains("not a path"), "{err}");
}

#[test]
fn path_terms_look_into_the_resource_and_its_turbot_block() {
    let details = serde_json::json!({
        "resource": { "Environment": "PRODUCTION", "Tags": { "tier": "critical" }, "AwsRegions": ["eu-west-1", "us-east-1"] }
    });
    let resource = resource_value("id1", "orders", "arn:w", &details);
    let at = |path: &str| {
        let path: Vec<String> = path.split('.').map(str::to_owned).collect();
        strings_at(&resource, &path)
    };
    assert_eq!(at("Environment"), ["PRODUCTION"]);
    assert_eq!(at("turbot.tags.tier"), ["critical"]);
    assert_eq!(at("turbot.akas"), ["arn:w"]);
    assert_eq!(at("AwsRegions"), ["eu-west-1", "us-east-1"]);
    assert!(at("turbot.tags.missing").is_empty());
    let untagged = resource_value(
        "id1",
        "orders",
        "arn:w",
        &serde_json::json!({ "policy_tags": { "rel04d:rel04": "Skip" } }),
    );
    let path = [
        "turbot".to_owned(),
        "tags".to_owned(),
        "rel04d:rel04".to_owned(),
    ];
    assert_eq!(
        strings_at(&untagged, &path),
        ["Skip"],
        "policy tags when no description"
    );
}

/// `lens:` takes an alias or a lens ARN (colons and all), `question:` ids;
/// `lensStatus:` only the Tool's five statuses, and no regex.
#[test]
fn lens_question_and_lens_status_terms() {
    let f = Filter::parse(
        "lens:arn:aws:wellarchitected:us-east-1:1:lens/abc question:a,b !lensStatus:CURRENT",
    )
    .unwrap();
    assert_eq!(f.terms[0].key, Key::Lens);
    assert_eq!(
        values(&f.terms[0]),
        ["arn:aws:wellarchitected:us-east-1:1:lens/abc"]
    );
    assert_eq!(f.terms[1].key, Key::Question);
    assert_eq!(values(&f.terms[1]), ["a", "b"]);
    assert_eq!(f.terms[2].key, Key::LensStatus);
    assert!(f.terms[2].negated);
    for status in LENS_STATUSES {
        Filter::parse(&format!("lensStatus:{status}")).unwrap();
    }
    let error = Filter::parse("lensStatus:current").unwrap_err();
    assert!(
        error.message.contains("unknown lens status \"current\""),
        "{error}"
    );
    let error = Filter::parse("lensStatus:/CUR.*/").unwrap_err();
    assert_eq!(error.message, "lensStatus takes no regex");
    assert!(matches!(
        Filter::parse("question:/^rel/").unwrap().terms[0].matcher,
        Matcher::Regex(_)
    ));
}
