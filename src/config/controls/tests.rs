use super::*;

const LENS_ARN: &str = "arn:aws:wellarchitected:us-east-1:111111111111:lens/6f0c1a";

fn entry(lens: &str, questions: &[&str], names: &[(&str, &str)]) -> ControlEntry {
    ControlEntry {
        lens: lens.to_owned(),
        questions: questions.iter().map(|q| q.to_string()).collect(),
        names: names
            .iter()
            .map(|(q, n)| (q.to_string(), n.to_string()))
            .collect(),
    }
}

fn refused(entries: &[ControlEntry]) -> ConfigError {
    Controls::check(entries).expect_err("should be refused")
}

fn custom() -> Controls {
    Controls::check(&[
        entry("wellarchitected", &["prevent-interaction-failure"], &[]),
        entry(
            LENS_ARN,
            &["data-retention", "deploy-safety"],
            &[("data-retention", "retention"), ("deploy-safety", "deploy")],
        ),
    ])
    .unwrap()
}

#[test]
fn no_controls_means_rel04_alone() {
    let controls = Controls::check(&[]).unwrap();
    assert_eq!(controls, Controls::default());
    let listed = controls.listed();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].is_rel04());
    for key in [
        "rel04",
        "identify",
        "loosely_coupled",
        "idempotent",
        "constant_work",
    ] {
        assert!(controls.allows(key), "{key}");
    }
    for key in ["rel05", "retention", "rel04/identify", "idempotnet"] {
        assert!(!controls.allows(key), "{key}");
    }
}

#[test]
fn configured_questions_name_their_policies() {
    let controls = custom();
    let names: Vec<String> = controls
        .listed()
        .iter()
        .map(|d| d.name.to_string())
        .collect();
    assert_eq!(names, ["rel04", "retention", "deploy"]);
    for key in [
        "rel04",
        "identify",
        "retention",
        "retention/retention_keep_backups",
        "deploy/anything_the_tool_may_list",
    ] {
        assert!(controls.allows(key), "{key}");
    }
    for key in [
        "data-retention",
        "retention/",
        "retention/a/b",
        "rel04/identify",
        "identify/x",
        "other",
    ] {
        assert!(!controls.allows(key), "{key}");
    }
    let allowed = controls.allowed_names();
    assert!(
        allowed.contains("rel04, identify") && allowed.contains("retention/<choice id>"),
        "{allowed}"
    );
    // Without REL 04 configured, its names are not policies.
    let without = Controls::check(&[entry(LENS_ARN, &["data-retention"], &[])]).unwrap();
    assert!(!without.allows("rel04") && !without.allows("identify"));
    assert!(without.allows("data-retention/x"));
}

#[test]
fn each_error_names_its_field() {
    let cases: Vec<(Vec<ControlEntry>, &str, &str)> = vec![
        (
            vec![entry("Well Architected", &["q"], &[])],
            "controls[0].lens",
            "neither a lens alias",
        ),
        (
            vec![entry(
                "arn:aws:wellarchitected:us-east-1:1111:lens/x",
                &["q"],
                &[],
            )],
            "controls[0].lens",
            "not a lens ARN",
        ),
        (
            vec![entry(
                "arn:aws:s3:us-east-1:111111111111:lens/x",
                &["q"],
                &[],
            )],
            "controls[0].lens",
            "not a lens ARN",
        ),
        (
            vec![entry(LENS_ARN, &[], &[])],
            "controls[0].questions",
            "list question ids",
        ),
        (
            vec![entry(LENS_ARN, &["*", "q"], &[])],
            "controls[0].questions",
            "alone",
        ),
        (
            vec![entry(LENS_ARN, &["a", "b/c"], &[])],
            "controls[0].questions[1]",
            "no '/'",
        ),
        (
            vec![entry(LENS_ARN, &["a", "a"], &[])],
            "controls[0].questions[1]",
            "listed twice",
        ),
        (
            vec![entry(LENS_ARN, &["a"], &[("b", "x")])],
            "controls[0].names.b",
            "does not list",
        ),
        (
            vec![entry(LENS_ARN, &["a"], &[("a", "re/tention")])],
            "controls[0].names.a",
            "no '/'",
        ),
        (
            vec![entry(
                "wellarchitected",
                &["prevent-interaction-failure"],
                &[("prevent-interaction-failure", "reliability4")],
            )],
            "controls[0].names.prevent-interaction-failure",
            "Guardrails names",
        ),
        (
            vec![entry(LENS_ARN, &["identify"], &[])],
            "controls[0].questions[0]",
            "one of REL 04's",
        ),
        (
            vec![
                entry(LENS_ARN, &["a"], &[("a", "same")]),
                entry("wellarchitected", &["b"], &[("b", "same")]),
            ],
            "controls[1].questions[0]",
            "also controls[0].questions[0]'s",
        ),
    ];
    for (entries, key, message) in cases {
        let err = refused(&entries);
        assert_eq!(err.key, key, "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

#[test]
fn entries_and_questions_are_bounded() {
    let many: Vec<ControlEntry> = (0..=MAX_CONTROL_ENTRIES)
        .map(|i| entry(LENS_ARN, &[&format!("q{i}")], &[]))
        .collect();
    assert_eq!(refused(&many).key, "controls");
    assert!(Controls::check(&many[..MAX_CONTROL_ENTRIES]).is_ok());
    let ids: Vec<String> = (0..=MAX_QUESTIONS).map(|i| format!("q{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let err = refused(&[entry(LENS_ARN, &ids, &[])]);
    assert_eq!(err.key, "controls");
    assert!(err.message.contains("at most 1000"), "{err}");
}

#[test]
fn star_expands_to_what_the_tool_lists_without_duplicates() {
    let controls = Controls::check(&[
        entry(
            "wellarchitected",
            &["*"],
            &[("fault-isolation", "isolation")],
        ),
        entry(
            LENS_ARN,
            &["data-retention"],
            &[("data-retention", "retention")],
        ),
    ])
    .unwrap();
    assert!(controls.expands("wellarchitected") && !controls.expands(LENS_ARN));
    assert!(
        controls.listed().iter().all(|d| !d.is_rel04()),
        "REL 04 comes from *"
    );
    assert!(controls.allows("rel04") && controls.allows("mitigate-interaction-failure/x"));
    assert!(!controls.allows("identify/x"));
    let listed = BTreeMap::from([
        (
            "wellarchitected".to_owned(),
            vec![
                "prevent-interaction-failure".to_owned(),
                "mitigate-interaction-failure".to_owned(),
                "fault-isolation".to_owned(),
                "mitigate-interaction-failure".to_owned(),
                "retention".to_owned(),
                "bad/id".to_owned(),
            ],
        ),
        (LENS_ARN.to_owned(), vec!["ignored-no-star".to_owned()]),
    ]);
    let (definitions, problems) = controls.expand(&listed);
    let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["retention", "rel04", "rel05", "isolation"]);
    assert!(definitions[1].is_rel04());
    assert_eq!(definitions[3].control_type, "rel10");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("\"retention\" is taken"),
        "{problems:?}"
    );
    assert!(problems[1].contains("\"bad/id\" left out"), "{problems:?}");
    // Nothing listed for the lens: nothing expanded.
    let (only_listed, problems) = controls.expand(&BTreeMap::new());
    assert_eq!(only_listed.len(), 1);
    assert!(problems.is_empty());
}

#[test]
fn expansion_stops_at_the_bound() {
    let controls = Controls::check(&[entry(LENS_ARN, &["*"], &[])]).unwrap();
    let ids: Vec<String> = (0..MAX_QUESTIONS + 5).map(|i| format!("q{i}")).collect();
    let (definitions, problems) = controls.expand(&BTreeMap::from([(LENS_ARN.to_owned(), ids)]));
    assert_eq!(definitions.len(), MAX_QUESTIONS);
    assert_eq!(problems.len(), 5);
}

/// Loads the shipped defaults plus `text` as a configuration file.
fn load(text: &str) -> Result<crate::config::Settings, ConfigError> {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    crate::config::Settings::load_with(Some(file.path()), Some(Default::default()))
}

/// The error checking the policies of `text` against its controls gives.
fn policy_error(text: &str) -> ConfigError {
    load(text)
        .and_then(|s| s.policy_set())
        .expect_err("the policies should be refused")
}

const CUSTOM: &str = r#"
[[controls]]
lens = "wellarchitected"
questions = ["prevent-interaction-failure"]

[[controls]]
lens = "arn:aws:wellarchitected:us-east-1:111111111111:lens/6f0c1a"
questions = ["data-retention", "deploy-safety"]
names = { "data-retention" = "retention", "deploy-safety" = "deploy" }
"#;

#[test]
fn the_issues_example_loads_and_sets_per_question_policies() {
    let text = format!(
        "{CUSTOM}\n[policies.global]\nrel04 = \"Check: None of these\"\nretention = \"Check: Choices based on sub policies\"\n\"retention/retention_keep_backups\" = \"True\"\n\n[[policies.settings]]\nscope = \"account:123456789012\"\n\"deploy/deploy_canary\" = \"False\"\nrequired = true\n"
    );
    let settings = load(&text).unwrap();
    assert_eq!(settings.controls().unwrap().listed().len(), 3);
    let set = settings.policy_set().unwrap();
    let global = &set.settings[0].values;
    assert_eq!(
        global[&PolicyKey::named("retention")],
        "Check: Choices based on sub policies"
    );
    assert_eq!(
        global[&PolicyKey::named("retention/retention_keep_backups")],
        "True"
    );
    assert_eq!(global[&PolicyKey::Rel04], "Check: None of these");
    assert!(set.settings[1].required);
    assert_eq!(
        set.settings[1].values[&PolicyKey::named("deploy/deploy_canary")],
        "False"
    );
}

#[test]
fn policy_keys_and_values_are_checked_against_the_controls() {
    let err = policy_error(&format!(
        "{CUSTOM}\n[policies.global]\nretension = \"Skip\"\n"
    ));
    assert_eq!(err.key, "policies.global.retension");
    assert!(err.message.contains("unknown field `retension`"), "{err}");
    assert!(err.message.contains("allowed: rel04, identify"), "{err}");
    assert!(
        err.message
            .contains("retention, retention/<choice id>, deploy"),
        "{err}"
    );

    let err = policy_error(&format!(
        "{CUSTOM}\n[policies.global]\n\"retention/a\" = \"Check: None of these\"\n"
    ));
    assert_eq!(err.key, "policies.global.retention/a");
    assert!(err.message.contains("allowed: Skip, True, False"), "{err}");

    let err = policy_error(&format!("{CUSTOM}\n[policies.global]\ndeploy = \"True\"\n"));
    assert!(
        err.message
            .contains("for policy deploy; allowed: Skip, Check:"),
        "{err}"
    );

    // Without [[controls]], only REL 04's names are policies.
    let err = policy_error("[policies.global]\nretention = \"Skip\"\n");
    assert!(
        err.message
            .contains("allowed: rel04, identify, loosely_coupled, idempotent, constant_work"),
        "{err}"
    );

    // A bad [[controls]] entry is refused when the configuration is checked.
    let err = load("[[controls]]\nlens = \"wellarchitected\"\nquestions = []\n").unwrap_err();
    assert_eq!(err.key, "controls[0].questions");
    let err = load("[[controls]]\nlens = \"wellarchitected\"\nquestion = [\"x\"]\n").unwrap_err();
    assert!(err.message.contains("unknown field `question`"), "{err}");
}

#[test]
fn a_policy_value_of_the_wrong_type_is_refused_naming_its_key() {
    for value in ["true", "1", "1.5", "[\"True\"]"] {
        let err = load(&format!("[policies.global]\nidempotent = {value}\n")).unwrap_err();
        assert_eq!(err.key, "policies.global.idempotent", "{value}: {err}");
        assert!(err.message.starts_with("invalid type: "), "{err}");
    }
}
