use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::events::sample::{cloudtrail_event, update_answer_event};

const ACCOUNT: &str = "111122223333";
const WORKLOAD: &str = "0123456789abcdef0123456789abcdef";

fn relevant(body: &serde_json::Value) -> WorkloadEvent {
    match parse(&body.to_string(), true).unwrap() {
        Parsed::Relevant(event) => event,
        other => panic!("expected relevant, got {other:?}"),
    }
}

fn irrelevant_why(body: &serde_json::Value, tags: bool) -> String {
    match parse(&body.to_string(), tags).unwrap() {
        Parsed::Irrelevant { why, .. } => why,
        other => panic!("expected irrelevant, got {other:?}"),
    }
}

#[test]
fn an_update_answer_of_rel04_names_its_workload() {
    let event = relevant(&update_answer_event("e-1", ACCOUNT, "eu-west-1", WORKLOAD));
    assert_eq!(
        event,
        WorkloadEvent {
            event_id: "e-1".into(),
            account: Some(ACCOUNT.into()),
            region: "eu-west-1".into(),
            event_name: "UpdateAnswer".into(),
            workload_id: WORKLOAD.into(),
            time: Some("2026-11-26T12:00:00Z".parse().unwrap()),
            question: Some((
                "wellarchitected".into(),
                "prevent-interaction-failure".into()
            )),
        }
    );
}

#[test]
fn url_encoded_lens_aliases_and_arns_are_recognised() {
    for alias in [
        "wellarchitected",
        "arn%3Aaws%3Awellarchitected%3A%3Aaws%3Alens%2Fwellarchitected",
        "arn:aws:wellarchitected::aws:lens/wellarchitected",
    ] {
        let body = cloudtrail_event(
            "e",
            ACCOUNT,
            "us-east-1",
            "UpdateAnswer",
            json!({"WorkloadId": WORKLOAD, "LensAlias": alias, "QuestionId": "prevent-interaction-failure"}),
        );
        assert_eq!(relevant(&body).workload_id, WORKLOAD, "{alias}");
    }
    let other_lens = cloudtrail_event(
        "e",
        ACCOUNT,
        "us-east-1",
        "UpdateAnswer",
        json!({"WorkloadId": WORKLOAD, "LensAlias": "serverless", "QuestionId": "prevent-interaction-failure"}),
    );
    assert_eq!(
        irrelevant_why(&other_lens, true),
        "UpdateAnswer of another lens or question"
    );
    let other_question = cloudtrail_event(
        "e",
        ACCOUNT,
        "us-east-1",
        "UpdateAnswer",
        json!({"WorkloadId": WORKLOAD, "LensAlias": "wellarchitected", "QuestionId": "monitor-workload-resources"}),
    );
    assert_eq!(
        irrelevant_why(&other_question, true),
        "UpdateAnswer of another lens or question"
    );
}

#[test]
fn workload_lifecycle_and_lens_events_are_relevant() {
    let cases = [
        (
            "UpdateWorkload",
            json!({"WorkloadId": WORKLOAD, "WorkloadName": "x"}),
        ),
        ("DeleteWorkload", json!({"WorkloadId": WORKLOAD})),
        (
            "AssociateLenses",
            json!({"WorkloadId": WORKLOAD, "LensAliases": ["wellarchitected"]}),
        ),
        (
            "DisassociateLenses",
            json!({"WorkloadId": WORKLOAD, "LensAliases": ["serverless", "wellarchitected"]}),
        ),
        (
            "UpgradeLensReview",
            json!({"WorkloadId": WORKLOAD, "LensAlias": "wellarchitected", "MilestoneName": "m"}),
        ),
        (
            "TagResource",
            json!({"WorkloadArn": format!("arn:aws:wellarchitected:us-east-1:{ACCOUNT}:workload/{WORKLOAD}"), "Tags": {"rel04d:idempotent": "False"}}),
        ),
        (
            "UntagResource",
            json!({"WorkloadArn": format!("arn%3Aaws%3Awellarchitected%3Aus-east-1%3A{ACCOUNT}%3Aworkload%2F{WORKLOAD}")}),
        ),
    ];
    for (name, params) in cases {
        let body = cloudtrail_event("e", ACCOUNT, "us-east-1", name, params);
        assert_eq!(relevant(&body).workload_id, WORKLOAD, "{name}");
    }
    let mut created = cloudtrail_event(
        "e",
        ACCOUNT,
        "us-east-1",
        "CreateWorkload",
        json!({"WorkloadName": "new"}),
    );
    created["detail"]["responseElements"] = json!({"WorkloadId": WORKLOAD, "WorkloadArn": "arn"});
    assert_eq!(relevant(&created).event_name, "CreateWorkload");
}

#[test]
fn other_events_are_irrelevant_with_a_reason() {
    let tag = cloudtrail_event(
        "e",
        ACCOUNT,
        "us-east-1",
        "TagResource",
        json!({"WorkloadArn": format!("arn:aws:wellarchitected:us-east-1:{ACCOUNT}:workload/{WORKLOAD}")}),
    );
    assert_eq!(
        irrelevant_why(&tag, false),
        "TagResource while tag policies are off"
    );
    let other_lenses = cloudtrail_event(
        "e",
        ACCOUNT,
        "us-east-1",
        "AssociateLenses",
        json!({"WorkloadId": WORKLOAD, "LensAliases": ["serverless"]}),
    );
    assert_eq!(
        irrelevant_why(&other_lenses, true),
        "AssociateLenses of other lenses"
    );
    let milestone = cloudtrail_event(
        "e",
        ACCOUNT,
        "us-east-1",
        "CreateMilestone",
        json!({"WorkloadId": WORKLOAD}),
    );
    assert_eq!(
        irrelevant_why(&milestone, true),
        "CreateMilestone cannot change the control"
    );
    let mut failed = update_answer_event("e", ACCOUNT, "us-east-1", WORKLOAD);
    failed["detail"]["errorCode"] = json!("AccessDenied");
    assert_eq!(
        parse(&failed.to_string(), true).unwrap(),
        Parsed::FailedCall {
            event_id: "e".into(),
            event_name: "UpdateAnswer".into(),
            code: "AccessDenied".into()
        }
    );
    let mut ec2 = update_answer_event("e", ACCOUNT, "us-east-1", WORKLOAD);
    ec2["source"] = json!("aws.ec2");
    assert!(irrelevant_why(&ec2, true).contains("is not a Well-Architected API call"));
}

#[test]
fn malformed_events_say_what_is_wrong() {
    let base = update_answer_event("e", ACCOUNT, "us-east-1", WORKLOAD);
    let mut cases: Vec<(String, &str)> = vec![
        ("{not json".into(), "not JSON"),
        ("[1,2]".into(), "not a JSON object"),
        ("{}".into(), "missing id"),
    ];
    let mut no_detail = base.clone();
    no_detail["detail"] = json!("text");
    cases.push((no_detail.to_string(), "detail is not an object"));
    let mut no_workload = base.clone();
    no_workload["detail"]["requestParameters"] = json!({"LensAlias": "wellarchitected"});
    cases.push((
        no_workload.to_string(),
        "UpdateAnswer event names no workload",
    ));
    let mut bad_id = base.clone();
    bad_id["detail"]["requestParameters"]["WorkloadId"] = json!("../../etc");
    cases.push((bad_id.to_string(), "invalid workload id"));
    let mut no_account = base.clone();
    no_account.as_object_mut().unwrap().remove("account");
    assert_eq!(relevant(&no_account).account, None);
    let mut no_region = base.clone();
    no_region.as_object_mut().unwrap().remove("region");
    cases.push((no_region.to_string(), "missing region"));
    let mut empty_name = base;
    empty_name["detail"]["eventName"] = json!("");
    cases.push((empty_name.to_string(), "detail.eventName is empty"));
    for (body, expected) in cases {
        let err = parse(&body, true).unwrap_err();
        assert!(err.to_string().contains(expected), "{body}: {err}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(body in "\\PC{0,200}") {
        let _ = parse(&body, true);
    }

    #[test]
    fn arbitrary_field_values_never_panic(
        name in "[A-Za-z]{0,20}",
        id in "\\PC{0,40}",
        alias in "\\PC{0,40}",
        drop_key in prop::sample::select(vec!["", "id", "source", "detail-type", "account", "region", "detail"]),
    ) {
        let mut body = cloudtrail_event("e", ACCOUNT, "us-east-1", &name, json!({"WorkloadId": id, "LensAlias": alias}));
        if !drop_key.is_empty() {
            body.as_object_mut().unwrap().remove(drop_key);
        }
        if let Ok(Parsed::Relevant(event)) = parse(&body.to_string(), true) {
            prop_assert!(event.workload_id.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
}
