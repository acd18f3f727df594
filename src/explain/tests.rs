//! Explain names the right source level for each case of the hierarchy.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::control::ControlState;
use crate::control::{PolicySetting, Scope};

const ACCOUNT: &str = "111122223333";
const ID: &str = "0123456789abcdef0123456789abcdef";

fn control(details: serde_json::Value) -> ControlRow {
    ControlRow {
        workload_id: ID.into(),
        workload_arn: format!("arn:aws:wellarchitected:us-east-1:{ACCOUNT}:workload/{ID}"),
        workload_name: "prod-payments".into(),
        account_id: ACCOUNT.into(),
        region: "us-east-1".into(),
        control_type: "rel04".into(),
        lens: "wellarchitected".into(),
        question_id: "prevent-interaction-failure".into(),
        lens_status: None,
        state: ControlState::Alarm,
        reason: "Not selected: Make mutating operations idempotent".into(),
        details: crate::store::JsonText::of(&details),
        created_at: "2026-01-01T00:00:00.000000Z".into(),
        updated_at: "2026-01-01T00:00:00.000000Z".into(),
        evaluated_at: Some("2026-01-01T00:00:00.000000Z".into()),
        removed_at: None,
        muted: false,
        mute: None,
        scanned_by: "ambient/us-east-1".into(),
        version: 3,
        claimed_by: None,
    }
}

fn setting(scope: &str, value: &str) -> PolicySetting {
    let scope = if scope == "global" {
        Scope::Global
    } else {
        Scope::parse(scope).unwrap()
    };
    PolicySetting {
        origin: format!("config {scope}"),
        scope,
        values: BTreeMap::from([(PolicyKey::Idempotent, value.to_owned())]),
        calculated: BTreeMap::new(),
        required: false,
        exception: false,
        expires: None,
        accountability: Default::default(),
    }
}

fn idempotent(
    settings: Vec<PolicySetting>,
    tags: bool,
    details: serde_json::Value,
) -> PolicyExplanation {
    let set = PolicySet {
        settings,
        tag_prefix: tags.then(|| "rel04d:".to_owned()),
        tags_may_enforce: false,
    };
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let explanation = explain(&ControlDef::rel04(), &control(details), &set, now);
    explanation
        .policies
        .into_iter()
        .find(|p| p.key == PolicyKey::Idempotent)
        .unwrap()
}

#[test]
fn each_level_is_named() {
    let tagged = json!({"policy_tags": {"rel04d:idempotent": "False"}});
    let cases = [
        (vec![], false, json!({}), Level::Default, "Skip"),
        (
            vec![setting("global", "True")],
            false,
            json!({}),
            Level::Global,
            "True",
        ),
        (
            vec![
                setting("global", "True"),
                setting(&format!("account:{ACCOUNT}"), "False"),
            ],
            false,
            json!({}),
            Level::Account,
            "False",
        ),
        (
            vec![
                setting("account:999999999999", "False"),
                setting("workload-name:prod-*", "Skip"),
            ],
            false,
            json!({}),
            Level::Workload,
            "Skip",
        ),
        (
            vec![setting(&format!("workload:{ID}"), "True")],
            false,
            json!({}),
            Level::Workload,
            "True",
        ),
        (
            vec![setting("global", "True")],
            true,
            tagged.clone(),
            Level::Tag,
            "False",
        ),
        (
            vec![setting("global", "True")],
            false,
            tagged,
            Level::Global,
            "True",
        ),
    ];
    for (settings, tags, details, level, value) in cases {
        let p = idempotent(settings, tags, details);
        assert_eq!((p.level, p.value.as_str()), (level, value), "{p:?}");
    }
}

#[test]
fn required_exception_and_expiry_are_explained() {
    let mut required = setting("global", "True");
    required.required = true;
    let p = idempotent(
        vec![
            required.clone(),
            setting(&format!("workload:{ID}"), "False"),
        ],
        false,
        json!({}),
    );
    assert_eq!(p.level, Level::Global);
    assert!(
        p.passed_over
            .iter()
            .any(|s| s.level == Level::Workload && s.why.contains("is required")),
        "{p:?}"
    );

    let mut exception = setting(&format!("account:{ACCOUNT}"), "False");
    exception.exception = true;
    exception.accountability.reason = Some("legacy batch job".into());
    exception.accountability.ticket = Some("CHG-1234".into());
    let p = idempotent(vec![required.clone(), exception.clone()], false, json!({}));
    assert_eq!((p.level, p.value.as_str()), (Level::Account, "False"));
    let shown = p
        .accountability
        .clone()
        .expect("the exception's accountability");
    assert_eq!(shown.reason.as_deref(), Some("legacy batch job"));
    assert_eq!(shown.ticket.as_deref(), Some("CHG-1234"));
    assert_eq!(shown.owner, None);
    let explanation = explain(
        &ControlDef::rel04(),
        &control(json!({})),
        &PolicySet {
            settings: vec![required, exception],
            tag_prefix: None,
            tags_may_enforce: false,
        },
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap(),
    );
    let text = render(&explanation);
    assert!(
        text.contains("reason: legacy batch job; ticket: CHG-1234"),
        "{text}"
    );

    let mut expired = setting(&format!("account:{ACCOUNT}"), "False");
    expired.expires = Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() - Duration::days(1));
    let p = idempotent(vec![setting("global", "True"), expired], false, json!({}));
    assert_eq!(p.level, Level::Global);
    assert!(
        p.passed_over
            .iter()
            .any(|s| s.why.starts_with("expired at")),
        "{p:?}"
    );
}

#[test]
fn a_value_changed_since_the_last_evaluation_is_flagged_and_rendered() {
    let details = json!({
        "policies": [{"key": "idempotent", "value": "Skip", "source": "default", "origin": "built-in default"}],
        "question": {"question_id": "prevent-interaction-failure", "is_applicable": true, "risk": "HIGH"},
        "best_practices": [{"choice_id": "rel_prevent_interaction_failure_idempotent", "title": "Make mutating operations idempotent", "policy": "True", "source": "global", "observed": "UNSELECTED", "result": "fail"}],
        "none_of_these": {"choice_id": "rel_prevent_interaction_failure_no", "title": "None of these", "policy": "must not be selected", "source": "global", "observed": "UNSELECTED", "result": "pass"}
    });
    let set = PolicySet {
        settings: vec![setting("global", "True")],
        tag_prefix: None,
        tags_may_enforce: false,
    };
    let e = explain(&ControlDef::rel04(), &control(details), &set, Utc::now());
    let p = e
        .policies
        .iter()
        .find(|p| p.key == PolicyKey::Idempotent)
        .unwrap();
    assert_eq!(p.last_evaluated_value.as_deref(), Some("Skip"));
    let text = render(&e);
    assert!(
        text.contains("State: alarm — Not selected: Make mutating operations idempotent"),
        "{text}"
    );
    assert!(
        text.contains("idempotent       True  ← global: config global"),
        "{text}"
    );
    assert!(
        text.contains("passed over Skip (default: built-in default) — overridden by config global"),
        "{text}"
    );
    assert!(text.contains("the last evaluation used Skip"), "{text}");
    assert!(
        text.contains("Answer as last read: question applicable, risk HIGH"),
        "{text}"
    );
    assert!(
        text.contains("Make mutating operations idempotent"),
        "{text}"
    );
}
