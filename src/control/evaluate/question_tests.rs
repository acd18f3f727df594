//! A custom lens with two questions: policy names, defaults, choices and "None of
//! these" from the Tool, Enforce, and the lens review's status.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::control::answer::ChoiceStatus;
use crate::control::enforce::plan_update;
use crate::control::hierarchy::{Calculated, Level, PolicySet, Scope, resolve_control};
use crate::control::lens_status::LensStatus;
use crate::control::question::ControlDef;
use crate::control::testing::{facts, setting};

const LENS_ARN: &str = "arn:aws:wellarchitected:us-east-1:111111111111:lens/6f0c1a";
const KEEP: &str = "retention_keep_backups";
const EXPIRE: &str = "retention_expire_data";
/// Not `_no`: "None of these" is found by its title.
const OPT_OUT: &str = "retention_opt_out";

fn retention() -> Arc<ControlDef> {
    ControlDef::new(LENS_ARN, "data-retention", Some("retention"))
}

fn deploy() -> Arc<ControlDef> {
    ControlDef::new(LENS_ARN, "deploy-safety", Some("deploy"))
}

/// Both questions' policies as global settings, and the workload's tags.
fn resolved(
    control: &Arc<ControlDef>,
    values: &[(&str, &str)],
    tags: &[(&str, &str)],
) -> ResolvedPolicies {
    let values: Vec<(PolicyKey, &str)> = values
        .iter()
        .map(|(k, v)| (PolicyKey::named(*k), *v))
        .collect();
    let set = PolicySet {
        settings: vec![setting("policies.global", Scope::Global, &values)],
        tag_prefix: Some("rel04d:".to_owned()),
        tags_may_enforce: false,
    };
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let facts = facts(&tags);
    resolve_control(control, &set, &facts, Utc::now(), &Calculated::default())
}

/// The retention question as the Tool returns it, `selected` selected.
fn answer(is_applicable: bool, selected: &[&str]) -> ObservedAnswer {
    let ids = [KEEP, EXPIRE, OPT_OUT];
    ObservedAnswer {
        is_applicable,
        risk: Some("HIGH".into()),
        lens_arn: Some(LENS_ARN.into()),
        choices: ObservedAnswer::from_parts(ids, selected.iter().copied(), []),
        titles: BTreeMap::from([
            (KEEP.to_owned(), "Keep backups".to_owned()),
            (
                EXPIRE.to_owned(),
                "Expire data you no longer need".to_owned(),
            ),
            (OPT_OUT.to_owned(), "None of these".to_owned()),
        ]),
        lens_status: None,
    }
}

fn expected(policies: ResolvedPolicies) -> Expected {
    match plan(policies) {
        Plan::Check(expected) => expected,
        Plan::Decided(outcome) => panic!("nothing to check: {outcome:?}"),
    }
}

const SUB: &str = "Check: Choices based on sub policies";
const NONE_OF_THESE: [(&str, &str); 1] = [("retention", "Check: None of these")];

#[test]
fn each_question_resolves_only_its_own_policies_by_name() {
    let values = [
        ("retention", SUB),
        ("retention/retention_keep_backups", "True"),
        ("deploy", "Check: None of these"),
        ("deploy/deploy_canary", "True"),
        ("rel04", "Enforce: None of these"),
    ];
    let keys =
        |p: &ResolvedPolicies| -> Vec<String> { p.iter().map(|(k, _)| k.to_string()).collect() };
    let mine = resolved(
        &retention(),
        &values,
        &[("rel04d:retention/retention_expire_data", "False")],
    );
    assert_eq!(
        keys(&mine),
        [
            "retention",
            "retention/retention_expire_data",
            "retention/retention_keep_backups"
        ]
    );
    assert_eq!(
        mine.get(&PolicyKey::named("retention/retention_expire_data"))
            .level,
        Level::Tag
    );
    let theirs = resolved(&deploy(), &values, &[]);
    assert_eq!(keys(&theirs), ["deploy", "deploy/deploy_canary"]);
    // A best practice nothing names is Skip by default.
    let unnamed = mine.get(&PolicyKey::named("retention/other"));
    assert_eq!(
        (unnamed.value.as_str(), unnamed.level),
        ("Skip", Level::Default)
    );
    // Skipped by default, with the question policy's own name in the reason.
    let outcome = match plan(resolved(&deploy(), &[], &[])) {
        Plan::Decided(outcome) => outcome,
        Plan::Check(_) => panic!("Skip decides"),
    };
    assert_eq!(outcome.state, ControlState::Skipped);
    assert_eq!(
        outcome.reason,
        "Policy deploy is Skip (from built-in default)"
    );
}

#[test]
fn sub_policies_judge_the_tools_choices_with_its_titles() {
    let expected = expected(resolved(
        &retention(),
        &[
            ("retention", SUB),
            ("retention/retention_keep_backups", "True"),
            ("retention/retention_expire_data", "False"),
        ],
        &[],
    ));
    let ok = judge(&expected, &answer(true, &[KEEP]));
    assert_eq!(ok.state, ControlState::Ok, "{}", ok.reason);
    assert_eq!(
        ok.reason,
        "1 of 1 required best practice selected and 1 excluded one not selected"
    );
    let question = ok.details.question.as_ref().unwrap();
    assert_eq!(question.question_id, "data-retention");
    let listed: Vec<(&str, &str)> = ok
        .details
        .best_practices
        .iter()
        .map(|c| (c.choice_id.as_str(), c.policy.as_str()))
        .collect();
    assert_eq!(
        listed,
        [(EXPIRE, "False"), (KEEP, "True")],
        "None of these is apart"
    );
    assert_eq!(
        ok.details.none_of_these.as_ref().unwrap().choice_id,
        OPT_OUT
    );

    let alarm = judge(&expected, &answer(true, &[EXPIRE, OPT_OUT]));
    assert_eq!(alarm.state, ControlState::Alarm);
    assert_eq!(
        alarm.reason,
        "Not selected: Keep backups; Selected against policy: Expire data you no longer need; \"None of these\" is selected"
    );
}

#[test]
fn a_policy_naming_a_choice_the_question_lacks_is_invalid_naming_it() {
    let expected = expected(resolved(
        &retention(),
        &[
            ("retention", SUB),
            ("retention/retention_keep_backup", "True"),
        ],
        &[],
    ));
    let outcome = judge(&expected, &answer(true, &[KEEP]));
    assert_eq!(outcome.state, ControlState::Invalid);
    assert_eq!(
        outcome.reason,
        "Invalid policy: retention/retention_keep_backup names choice \"retention_keep_backup\", \
         which question data-retention does not have (its choices: retention_expire_data, \
         retention_keep_backups, retention_opt_out)"
    );
    assert!(outcome.details.question.is_some());
    // A Skip naming a missing choice changes nothing.
    let expected = self::expected(resolved(
        &retention(),
        &[
            ("retention", SUB),
            ("retention/gone", "Skip"),
            ("retention/retention_keep_backups", "True"),
        ],
        &[],
    ));
    assert_eq!(
        judge(&expected, &answer(true, &[KEEP])).state,
        ControlState::Ok
    );
}

#[test]
fn a_custom_question_with_every_best_practice_skipped_is_invalid() {
    let outcome = match plan(resolved(&retention(), &[("retention", SUB)], &[])) {
        Plan::Decided(outcome) => outcome,
        Plan::Check(_) => panic!("nothing to check"),
    };
    assert_eq!(outcome.state, ControlState::Invalid);
    assert_eq!(
        outcome.reason,
        "Policy retention is \"Check: Choices based on sub policies\" but all its best-practice policies are Skip"
    );
    let outcome = match plan(resolved(
        &retention(),
        &[
            ("retention", SUB),
            ("retention/retention_keep_backups", "yes"),
        ],
        &[],
    )) {
        Plan::Decided(outcome) => outcome,
        Plan::Check(_) => panic!("an invalid value decides"),
    };
    assert!(
        outcome.reason.starts_with(
            "Invalid policy: invalid value \"yes\" for policy retention/retention_keep_backups; allowed: Skip, True, False"
        ),
        "{}",
        outcome.reason
    );
}

#[test]
fn none_of_these_is_found_by_its_title() {
    let expected = expected(resolved(&retention(), &NONE_OF_THESE, &[]));
    let ok = judge(&expected, &answer(true, &[OPT_OUT]));
    assert_eq!(ok.state, ControlState::Ok, "{}", ok.reason);
    let alarm = judge(&expected, &answer(true, &[KEEP]));
    assert_eq!(
        alarm.reason,
        "Selected against policy: Keep backups; \"None of these\" is not selected"
    );
    // A question without a "None of these" choice cannot meet the policy.
    let mut no_opt_out = answer(true, &[]);
    no_opt_out
        .titles
        .insert(OPT_OUT.to_owned(), "Something else".to_owned());
    let error = judge(&expected, &no_opt_out);
    assert_eq!(error.state, ControlState::Error);
    assert_eq!(error.reason, "Choice missing from the lens: None of these");
}

#[test]
fn enforce_plans_the_custom_questions_choices_and_converges() {
    let apply = |observed: &ObservedAnswer, update: &crate::control::AnswerUpdate| {
        let mut next = observed.clone();
        if let Some(to) = update.is_applicable {
            next.is_applicable = to;
        }
        for (id, status) in next.choices.iter_mut() {
            *status = if update.selected_choices.contains(id) {
                ChoiceStatus::Selected
            } else {
                ChoiceStatus::Unselected
            };
        }
        next
    };
    let sub = [
        ("retention", "Enforce: Choices based on sub policies"),
        ("retention/retention_keep_backups", "True"),
        ("retention/retention_expire_data", "False"),
    ];
    let none = [("retention", "Enforce: None of these")];
    for values in [&sub[..], &none[..]] {
        let expected = expected(resolved(&retention(), values, &[]));
        for observed in [
            answer(true, &[EXPIRE, OPT_OUT]),
            answer(false, &[KEEP, EXPIRE]),
            answer(true, &[]),
        ] {
            let update = plan_update(&expected, &observed).expect("a mismatch needs an update");
            let fixed = apply(&observed, &update);
            assert_eq!(
                judge(&expected, &fixed).state,
                ControlState::Ok,
                "{values:?} {observed:?}"
            );
            assert_eq!(plan_update(&expected, &fixed), None);
        }
    }
    let expected = expected(resolved(&retention(), &none, &[]));
    let update = plan_update(&expected, &answer(true, &[KEEP])).unwrap();
    assert_eq!(update.selected_choices, [OPT_OUT]);
    assert_eq!(
        update.changes,
        [
            "retention_keep_backups: SELECTED -> UNSELECTED",
            "retention_opt_out: UNSELECTED -> SELECTED"
        ]
    );
}

#[test]
fn a_tag_may_not_enforce_a_custom_question() {
    let policies = resolved(
        &retention(),
        &[("retention", SUB)],
        &[("rel04d:retention", "Enforce: None of these")],
    );
    let question = policies.get(&PolicyKey::named("retention"));
    assert_eq!(question.value, SUB);
    let tag = question.passed_over.last().unwrap();
    assert_eq!(tag.origin, "tag rel04d:retention");
    assert!(
        tag.why.contains("a tag may not make rel04d write answers"),
        "{}",
        tag.why
    );
}

#[test]
fn the_lens_status_is_in_details_and_in_the_reason_unless_current() {
    let expected = expected(resolved(&retention(), &NONE_OF_THESE, &[]));
    let mut observed = answer(true, &[OPT_OUT]);
    observed.lens_status = Some(LensStatus::NotCurrent);
    let outcome = judge(&expected, &observed);
    assert_eq!(outcome.state, ControlState::Ok);
    assert_eq!(
        outcome.reason,
        "\"None of these\" is selected and no best practice is, as required; lens review is NOT_CURRENT"
    );
    assert_eq!(outcome.details.lens_status, Some(LensStatus::NotCurrent));
    let json = serde_json::to_value(&outcome.details).unwrap();
    assert_eq!(json["lens_status"], "NOT_CURRENT");

    observed.lens_status = Some(LensStatus::Current);
    let current = judge(&expected, &observed);
    assert!(
        !current.reason.contains("lens review"),
        "{}",
        current.reason
    );
    assert_eq!(
        serde_json::to_value(&current.details).unwrap()["lens_status"],
        "CURRENT"
    );

    observed.lens_status = None;
    let unknown = serde_json::to_value(judge(&expected, &observed).details).unwrap();
    assert!(
        unknown.get("lens_status").is_none(),
        "no key when not read: {unknown}"
    );
}

#[test]
fn a_control_runs_only_its_own_calculations() {
    use crate::control::calculated::Calculation;
    use crate::control::hierarchy::{calculations, calculations_of};
    let calculation = Calculation {
        template_input: "{ resource { name } }".to_owned(),
        template: "Skip".to_owned(),
        owner_data: None,
    };
    let mut global = setting("policies.global", Scope::Global, &[]);
    for key in ["retention", "deploy/deploy_canary", "idempotent"] {
        global
            .calculated
            .insert(PolicyKey::named(key), calculation.clone());
    }
    let set = PolicySet {
        settings: vec![global],
        tag_prefix: None,
        tags_may_enforce: false,
    };
    let tags = BTreeMap::new();
    let facts = facts(&tags);
    let keys = |found: Vec<(&str, PolicyKey, &Calculation)>| -> Vec<String> {
        found.into_iter().map(|(_, k, _)| k.to_string()).collect()
    };
    assert_eq!(keys(calculations(&set, &facts, Utc::now())).len(), 3);
    assert_eq!(
        keys(calculations_of(&retention(), &set, &facts, Utc::now())),
        ["retention"]
    );
    assert_eq!(
        keys(calculations_of(&deploy(), &set, &facts, Utc::now())),
        ["deploy/deploy_canary"]
    );
    assert_eq!(
        keys(calculations_of(
            &ControlDef::rel04(),
            &set,
            &facts,
            Utc::now()
        )),
        ["idempotent"]
    );
}
