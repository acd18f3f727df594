use proptest::prelude::*;

use super::*;
use crate::control::testing::{answer, choice, policies};

const SUB: &str = "Check: Choices based on sub policies";
const NONE: &str = "Check: None of these";
const NOT_APPLICABLE: &str = "Check: Question does not apply to this workload";
const ALL_TRUE: [(&str, &str); 4] = [
    ("identify", "True"),
    ("loosely_coupled", "True"),
    ("idempotent", "True"),
    ("constant_work", "True"),
];

fn with_rel04(rel04: &str, subs: &[(&str, &str)]) -> ResolvedPolicies {
    let mut values = vec![("rel04", rel04)];
    values.extend_from_slice(subs);
    policies(&values)
}

fn run(policies: ResolvedPolicies, observed: &ObservedAnswer) -> Outcome {
    evaluate(policies, || Ok(observed.clone()))
}

fn never_read() -> Result<ObservedAnswer, String> {
    panic!("the answer must not be read when the policies decide")
}

#[test]
fn rel04_skip_is_skipped_without_reading_the_answer() {
    let outcome = evaluate(policies(&ALL_TRUE), never_read);
    assert_eq!(outcome.state, ControlState::Skipped);
    assert_eq!(
        outcome.reason,
        "Policy rel04 is Skip (from built-in default)"
    );
    let outcome = evaluate(
        with_rel04("Skip", &[("idempotent", "nonsense")]),
        never_read,
    );
    assert_eq!(
        outcome.state,
        ControlState::Skipped,
        "sub-policies do not matter when skipped"
    );
}

#[test]
fn an_invalid_rel04_value_is_invalid() {
    let outcome = evaluate(with_rel04("Check: Everything", &ALL_TRUE), never_read);
    assert_eq!(outcome.state, ControlState::Invalid);
    assert!(
        outcome
            .reason
            .starts_with("Invalid policy: invalid value \"Check: Everything\" for policy rel04"),
        "{}",
        outcome.reason
    );
    assert!(
        outcome.reason.ends_with("(from policies.global)"),
        "{}",
        outcome.reason
    );
}

#[test]
fn an_invalid_sub_policy_is_invalid_only_when_the_choices_depend_on_it() {
    let bad = [("identify", "True"), ("idempotent", "yes")];
    let outcome = evaluate(with_rel04(SUB, &bad), never_read);
    assert_eq!(outcome.state, ControlState::Invalid);
    assert!(
        outcome.reason.contains("\"yes\" for policy idempotent"),
        "{}",
        outcome.reason
    );

    for rel04 in [NONE, NOT_APPLICABLE] {
        let observed = answer(rel04 == NONE, &["no"], &[]);
        assert_eq!(
            run(with_rel04(rel04, &bad), &observed).state,
            ControlState::Ok,
            "{rel04}"
        );
    }
}

#[test]
fn choices_from_sub_policies_with_every_sub_policy_skipped_is_invalid() {
    for rel04 in [SUB, "Enforce: Choices based on sub policies"] {
        let outcome = evaluate(with_rel04(rel04, &[]), never_read);
        assert_eq!(outcome.state, ControlState::Invalid);
        assert!(
            outcome
                .reason
                .contains("all four best-practice policies are Skip")
        );
    }
}

#[test]
fn an_unreadable_answer_is_an_error() {
    let outcome = evaluate(with_rel04(SUB, &ALL_TRUE), || {
        Err("AccessDeniedException: nope".into())
    });
    assert_eq!(outcome.state, ControlState::Error);
    assert_eq!(
        outcome.reason,
        "Could not read the answer: AccessDeniedException: nope"
    );
    assert_eq!(
        outcome.details.error.as_deref(),
        Some("AccessDeniedException: nope")
    );
}

#[test]
fn a_choice_missing_from_the_lens_is_an_error() {
    let mut observed = answer(true, &["identify"], &[]);
    observed.choices.remove(choice("idempotent"));
    let outcome = run(with_rel04(SUB, &ALL_TRUE), &observed);
    assert_eq!(outcome.state, ControlState::Error);
    assert_eq!(
        outcome.reason,
        "Choice missing from the lens: rel_prevent_interaction_failure_idempotent"
    );

    // A missing choice that no policy looks at does not matter.
    let outcome = run(with_rel04(SUB, &[("identify", "True")]), &observed);
    assert_eq!(outcome.state, ControlState::Ok);
}

#[test]
fn all_four_required_and_selected_is_ok() {
    let observed = answer(
        true,
        &["identify", "loosely_coupled", "idempotent", "constant_work"],
        &[],
    );
    let outcome = run(with_rel04(SUB, &ALL_TRUE), &observed);
    assert_eq!(outcome.state, ControlState::Ok);
    assert_eq!(outcome.reason, "4 of 4 required best practices selected");
}

#[test]
fn reasons_and_details_use_the_titles_the_tool_gave_or_else_the_choice_id() {
    let mut observed = answer(true, &["identify", "loosely_coupled"], &[]);
    observed.titles.insert(
        choice("idempotent").to_owned(),
        "Retitled by a lens update".to_owned(),
    );
    observed.titles.remove(choice("constant_work"));
    observed
        .titles
        .insert(choice("no").to_owned(), "None of the above".to_owned());
    let outcome = run(with_rel04(SUB, &ALL_TRUE), &observed);
    assert_eq!(
        outcome.reason,
        format!(
            "Not selected: Retitled by a lens update, {}",
            choice("constant_work")
        )
    );
    let none = outcome
        .details
        .none_of_these
        .expect("none of these is shown");
    assert_eq!(none.title, "None of the above");
}

#[test]
fn missing_required_practices_are_named_in_the_alarm() {
    let observed = answer(true, &["identify", "loosely_coupled"], &["constant_work"]);
    let outcome = run(with_rel04(SUB, &ALL_TRUE), &observed);
    assert_eq!(outcome.state, ControlState::Alarm);
    assert_eq!(
        outcome.reason,
        "Not selected: Make mutating operations idempotent, Do constant work"
    );
    let results: Vec<Check> = outcome
        .details
        .best_practices
        .iter()
        .map(|c| c.result)
        .collect();
    assert_eq!(
        results,
        [Check::Pass, Check::Pass, Check::Fail, Check::Fail]
    );
}

#[test]
fn false_means_not_selected_and_not_applicable_counts_as_not_selected() {
    let subs = [
        ("identify", "True"),
        ("idempotent", "False"),
        ("constant_work", "False"),
    ];
    let outcome = run(
        with_rel04(SUB, &subs),
        &answer(true, &["identify"], &["constant_work"]),
    );
    assert_eq!(outcome.state, ControlState::Ok);
    assert_eq!(
        outcome.reason,
        "1 of 1 required best practice selected and 2 excluded ones not selected"
    );

    let outcome = run(
        with_rel04(SUB, &subs),
        &answer(true, &["identify", "idempotent"], &[]),
    );
    assert_eq!(outcome.state, ControlState::Alarm);
    assert_eq!(
        outcome.reason,
        "Selected against policy: Make mutating operations idempotent"
    );

    let only_false = [("idempotent", "False")];
    let outcome = run(with_rel04(SUB, &only_false), &answer(true, &["no"], &[]));
    assert_eq!(
        outcome.state,
        ControlState::Ok,
        "with no True policy, None of these is allowed"
    );
    assert_eq!(outcome.reason, "1 excluded best practice not selected");
}

#[test]
fn skipped_practices_are_not_checked() {
    let subs = [("identify", "True")];
    let outcome = run(
        with_rel04(SUB, &subs),
        &answer(true, &["identify", "idempotent"], &[]),
    );
    assert_eq!(outcome.state, ControlState::Ok);
    assert_eq!(outcome.details.best_practices[2].result, Check::NotChecked);
}

#[test]
fn none_of_these_must_not_be_selected_when_a_practice_is_required() {
    let observed = answer(
        true,
        &[
            "identify",
            "loosely_coupled",
            "idempotent",
            "constant_work",
            "no",
        ],
        &[],
    );
    let outcome = run(with_rel04(SUB, &ALL_TRUE), &observed);
    assert_eq!(outcome.state, ControlState::Alarm);
    assert_eq!(outcome.reason, "\"None of these\" is selected");
}

#[test]
fn a_not_applicable_question_fails_choices_from_sub_policies() {
    let observed = answer(false, &["identify"], &[]);
    let outcome = run(with_rel04(SUB, &[("identify", "True")]), &observed);
    assert_eq!(outcome.state, ControlState::Alarm);
    assert_eq!(
        outcome.reason,
        "Question is marked as not applicable to this workload"
    );
}

#[test]
fn none_of_these_expectation() {
    let policies = || with_rel04(NONE, &ALL_TRUE);
    let ok = run(policies(), &answer(true, &["no"], &[]));
    assert_eq!(ok.state, ControlState::Ok);
    assert_eq!(
        ok.reason,
        "\"None of these\" is selected and no best practice is, as required"
    );
    assert!(
        ok.details
            .best_practices
            .iter()
            .all(|c| c.policy == "ignored")
    );

    let alarm = run(policies(), &answer(true, &["no", "idempotent"], &[]));
    assert_eq!(alarm.state, ControlState::Alarm);
    assert_eq!(
        alarm.reason,
        "Selected against policy: Make mutating operations idempotent"
    );

    let alarm = run(policies(), &answer(true, &[], &[]));
    assert_eq!(alarm.reason, "\"None of these\" is not selected");

    let alarm = run(policies(), &answer(false, &["no"], &[]));
    assert_eq!(
        alarm.reason,
        "Question is marked as not applicable to this workload"
    );
}

#[test]
fn question_does_not_apply_expectation() {
    let ok = run(with_rel04(NOT_APPLICABLE, &[]), &answer(false, &[], &[]));
    assert_eq!(ok.state, ControlState::Ok);
    assert_eq!(
        ok.reason,
        "Question does not apply to this workload, as required"
    );
    let alarm = run(
        with_rel04(NOT_APPLICABLE, &[]),
        &answer(true, &["identify"], &[]),
    );
    assert_eq!(alarm.state, ControlState::Alarm);
    assert!(alarm.reason.starts_with("Question is marked as applicable"));
}

#[test]
fn enforce_values_judge_exactly_like_check_values() {
    for (check, enforce) in [
        (SUB, "Enforce: Choices based on sub policies"),
        (NONE, "Enforce: None of these"),
        (
            NOT_APPLICABLE,
            "Enforce: Question does not apply to this workload",
        ),
    ] {
        for observed in [
            answer(true, &["identify"], &[]),
            answer(false, &[], &[]),
            answer(true, &["no"], &[]),
        ] {
            let a = run(with_rel04(check, &ALL_TRUE), &observed);
            let b = run(with_rel04(enforce, &ALL_TRUE), &observed);
            assert_eq!((a.state, &a.reason), (b.state, &b.reason));
        }
    }
}

#[test]
fn details_record_each_policy_value_source_and_observed_status() {
    let observed = answer(true, &["identify"], &["idempotent"]);
    let outcome = run(with_rel04(SUB, &ALL_TRUE), &observed);
    let json = serde_json::to_value(&outcome.details).unwrap();
    assert_eq!(json["policies"][0]["key"], "rel04");
    assert_eq!(json["policies"][0]["source"], "global");
    assert_eq!(json["policies"][3]["value"], "True");
    assert_eq!(json["question"]["is_applicable"], true);
    assert_eq!(json["question"]["risk"], "HIGH");
    assert_eq!(
        json["best_practices"][2]["choice_id"],
        "rel_prevent_interaction_failure_idempotent"
    );
    assert_eq!(json["best_practices"][2]["observed"], "NOT_APPLICABLE");
    assert_eq!(json["best_practices"][2]["result"], "fail");
    assert_eq!(json["best_practices"][0]["result"], "pass");
    assert_eq!(json["none_of_these"]["result"], "pass");
}

fn practice_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["Skip", "True", "False"]).prop_map(str::to_owned),
        1 => "[a-zA-Z ]{0,6}",
    ]
}

fn rel04_value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(crate::control::policy::QuestionPolicy::VALUES.to_vec()).prop_map(str::to_owned),
        1 => "[a-zA-Z: ]{0,12}",
    ]
}

fn status() -> impl Strategy<Value = Option<ChoiceStatus>> {
    prop_oneof![
        4 => Just(Some(ChoiceStatus::Selected)),
        4 => Just(Some(ChoiceStatus::Unselected)),
        2 => Just(Some(ChoiceStatus::NotApplicable)),
        1 => Just(None),
    ]
}

fn observed() -> impl Strategy<Value = ObservedAnswer> {
    (any::<bool>(), prop::collection::vec(status(), 5)).prop_map(|(is_applicable, statuses)| {
        let ids = [
            "identify",
            "loosely_coupled",
            "idempotent",
            "constant_work",
            "no",
        ]
        .map(choice);
        ObservedAnswer {
            is_applicable,
            risk: None,
            lens_arn: None,
            titles: Default::default(),
            lens_status: None,
            choices: ids
                .into_iter()
                .zip(statuses)
                .filter_map(|(id, status)| status.map(|s| (id.to_owned(), s)))
                .collect(),
        }
    })
}

proptest! {
    #[test]
    fn evaluation_is_deterministic(
        rel04 in rel04_value(),
        subs in prop::collection::vec(practice_value(), 4),
        observed in observed(),
    ) {
        let keys = ["identify", "loosely_coupled", "idempotent", "constant_work"];
        let mut values = vec![("rel04", rel04.as_str())];
        values.extend(keys.iter().copied().zip(subs.iter().map(String::as_str)));
        let first = run(policies(&values), &observed);
        let second = run(policies(&values), &observed);
        prop_assert_eq!(&first, &second);
        prop_assert!(!matches!(first.state, ControlState::Tbd | ControlState::Removed));
        prop_assert!(!first.reason.is_empty());
    }

    #[test]
    fn a_true_policy_never_passes_on_an_unselected_or_not_applicable_choice(
        mode in prop::sample::select(vec!["Check", "Enforce"]),
        subs in prop::collection::vec(prop::sample::select(vec!["Skip", "True", "False"]), 4),
        observed in observed(),
    ) {
        let rel04 = format!("{mode}: Choices based on sub policies");
        let keys = ["identify", "loosely_coupled", "idempotent", "constant_work"];
        let mut values = vec![("rel04", rel04.as_str())];
        values.extend(keys.iter().copied().zip(subs.iter().copied()));
        let outcome = run(policies(&values), &observed);
        for (detail, sub) in outcome.details.best_practices.iter().zip(&subs) {
            if *sub == "True" && detail.observed != Some(ChoiceStatus::Selected) {
                prop_assert_ne!(outcome.state, ControlState::Ok);
                prop_assert!(matches!(detail.result, Check::Fail | Check::Missing));
            }
        }
        if outcome.state == ControlState::Ok {
            for (key, sub) in keys.iter().zip(&subs) {
                if *sub == "True" {
                    prop_assert!(observed.is_selected(choice(key)));
                }
            }
        }
    }
}

#[test]
fn details_round_trip_through_their_stored_json() {
    let observed = answer(true, &["identify", "idempotent"], &["constant_work"]);
    let mut details = run(with_rel04(SUB, &ALL_TRUE), &observed).details;
    details
        .policy_tags
        .insert("rel04d:idempotent".into(), "True".into());
    let stored = serde_json::to_value(&details).unwrap();
    let read: Details = serde_json::from_value(stored).unwrap();
    assert_eq!(read, details);
    // A control not evaluated yet stores `{}`.
    let empty: Details = serde_json::from_value(serde_json::json!({})).unwrap();
    assert_eq!(empty, Details::default());
}
