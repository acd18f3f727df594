use super::*;

const LENS_ARN: &str = "arn:aws:wellarchitected:us-east-1:111111111111:lens/6f0c1a";

#[test]
fn rel04_keeps_its_guardrails_names_and_control_type() {
    let rel04 = ControlDef::rel04();
    assert!(rel04.is_rel04());
    assert_eq!(rel04.lens, "wellarchitected");
    assert_eq!(rel04.question_id, "prevent-interaction-failure");
    assert_eq!(rel04.name, PolicyKey::Rel04);
    assert_eq!(rel04.control_type, "rel04");
    assert_eq!(
        rel04.control_type_uri,
        "tmod:@turbot/aws-wellarchitected-framework#/control/types/rel04"
    );
    let subs: Vec<(&str, &str)> = rel04
        .fixed_practices()
        .map(|(k, c)| (k.as_str(), c))
        .collect();
    assert_eq!(
        subs,
        [
            ("identify", "rel_prevent_interaction_failure_identify"),
            (
                "loosely_coupled",
                "rel_prevent_interaction_failure_loosely_coupled_system"
            ),
            ("idempotent", "rel_prevent_interaction_failure_idempotent"),
            (
                "constant_work",
                "rel_prevent_interaction_failure_constant_work"
            ),
        ]
    );
    assert_eq!(
        rel04.sub_policy("rel_prevent_interaction_failure_idempotent"),
        PolicyKey::Idempotent
    );
    assert_eq!(
        rel04.choice_of(&PolicyKey::ConstantWork),
        Some("rel_prevent_interaction_failure_constant_work")
    );
    assert_eq!(rel04.choice_of(&PolicyKey::Rel04), None);
    assert!(rel04.owns(&PolicyKey::Rel04) && rel04.owns(&PolicyKey::Identify));
    assert!(!rel04.owns(&PolicyKey::named(
        "rel04/rel_prevent_interaction_failure_identify"
    )));
    assert_eq!(
        rel04.none_of_these_fallback(),
        Some("rel_prevent_interaction_failure_no")
    );
    // Configuring REL 04 by id gives the same definition, names ignored.
    assert_eq!(
        ControlDef::new("wellarchitected", "prevent-interaction-failure", Some("x")),
        rel04
    );
}

#[test]
fn framework_questions_take_guardrails_short_names_for_their_control_type() {
    let rel05 = ControlDef::new("wellarchitected", "mitigate-interaction-failure", None);
    assert!(!rel05.is_rel04());
    // Guardrails' name is the default policy name too; `names` overrides it.
    assert_eq!(rel05.name.as_str(), "rel05");
    assert_eq!(rel05.control_type, "rel05");
    let renamed = ControlDef::new("wellarchitected", "mitigate-interaction-failure", Some("m"));
    assert_eq!(renamed.name.as_str(), "m");
    assert_eq!(renamed.control_type, "rel05");
    assert_eq!(
        rel05.control_type_uri,
        "tmod:@turbot/aws-wellarchitected-framework#/control/types/rel05"
    );
    // Unknown to the table: the policy name is the short type.
    let other = ControlDef::new("wellarchitected", "workload-architecture", Some("rel03"));
    assert_eq!(other.control_type, "rel03");
    assert_eq!(other.name.as_str(), "rel03");
    assert!(other.control_type_uri.ends_with("/control/types/rel03"));
    assert!(other.none_of_these_fallback().is_none());
}

#[test]
fn custom_lens_questions_are_named_by_config_or_their_id() {
    let retention = ControlDef::new(LENS_ARN, "data-retention", Some("retention"));
    assert_eq!(retention.lens, LENS_ARN);
    assert_eq!(retention.name.as_str(), "retention");
    assert_eq!(retention.control_type, "retention");
    assert_eq!(
        retention.control_type_uri,
        "tmod:@rel04d/custom-lens#/control/types/retention"
    );
    let deploy = ControlDef::new(LENS_ARN, "deploy-safety", None);
    assert_eq!(deploy.name.as_str(), "deploy-safety");
    // The Framework's table applies to the Framework only.
    let lookalike = ControlDef::new(LENS_ARN, "mitigate-interaction-failure", None);
    assert_eq!(lookalike.control_type, "mitigate-interaction-failure");
    assert!(
        lookalike
            .control_type_uri
            .starts_with(CUSTOM_LENS_TYPE_PREFIX)
    );

    let keep = PolicyKey::named("retention/retention_keep_backups");
    assert!(keep.is_practice());
    assert_eq!(retention.sub_policy("retention_keep_backups"), keep);
    assert_eq!(retention.choice_of(&keep), Some("retention_keep_backups"));
    assert!(retention.owns(&keep) && retention.owns(&PolicyKey::named("retention")));
    for foreign in [
        "deploy-safety/retention_keep_backups",
        "retention/",
        "retentionx/a",
        "identify",
        "rel04",
    ] {
        assert!(!retention.owns(&PolicyKey::named(foreign)), "{foreign}");
    }
}
