use super::*;
use crate::securityhub::finding::tests::control as row;

#[test]
fn every_state_is_a_compliance_finding_with_its_status() {
    let expected = [
        (ControlState::Ok, 1, 1, 1),
        (ControlState::Alarm, 3, 3, 1),
        (ControlState::Error, 2, 2, 1),
        (ControlState::Invalid, 0, 1, 1),
        (ControlState::Skipped, 0, 1, 1),
        (ControlState::Tbd, 0, 1, 1),
        (ControlState::Removed, 0, 1, 3),
    ];
    assert_eq!(expected.len(), ControlState::ALL.len());
    for (state, status, severity, activity) in expected {
        let event = control(&row(state), Severity::Medium, &PolicySet::default());
        assert_eq!(event["class_uid"], 2003, "{state}");
        assert_eq!(event["category_uid"], 2);
        assert_eq!(event["compliance"]["status_id"], status, "{state}");
        assert_eq!(event["severity_id"], severity, "{state}");
        assert_eq!(event["activity_id"], activity, "{state}");
        assert_eq!(event["type_uid"], 200300 + activity, "{state}");
        assert_eq!(event["unmapped"]["state"], state.as_str());
    }
}

#[test]
fn a_control_carries_the_workload_policies_reason_and_times() {
    let event = control(
        &row(ControlState::Alarm),
        Severity::High,
        &PolicySet::default(),
    );
    assert_eq!(event["severity"], "High");
    assert_eq!(
        event["resources"][0]["uid"],
        "arn:aws:wellarchitected:eu-west-1:111122223333:workload/0123abcd"
    );
    assert_eq!(event["resources"][0]["name"], "payments");
    assert_eq!(event["resources"][0]["region"], "eu-west-1");
    assert_eq!(
        event["compliance"]["requirements"],
        json!(["idempotent: True"])
    );
    assert_eq!(event["message"], "Idempotent is not selected");
    assert_eq!(event["time"], 1_767_312_000_500_i64);
    assert_eq!(event["finding_info"]["created_time"], 1_767_225_600_000_i64);
    assert_eq!(
        event["finding_info"]["last_seen_time"],
        1_767_398_400_000_i64
    );
    assert_eq!(
        event["finding_info"]["uid"],
        "arn:aws:wellarchitected:eu-west-1:111122223333:workload/0123abcd/rel04d/rel04"
    );
}

#[test]
fn transitions_create_update_and_close() {
    let mut t = TransitionRow {
        id: 7,
        workload_id: "w1".into(),
        workload_arn: "arn:aws:wellarchitected:us-east-1:111122223333:workload/w1".into(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        control_type: "rel04".into(),
        lens: "wellarchitected".into(),
        question_id: "prevent-interaction-failure".into(),
        from_state: None,
        to_state: "tbd".into(),
        reason: "found".into(),
        details: json!({}),
        trigger: "sweep".into(),
        event_id: None,
        action: None,
        changes: None,
        muted: false,
        occurred_at: "2026-01-01T00:00:00Z".into(),
    };
    assert_eq!(transition(&t, Severity::Medium)["activity_id"], 1);
    t.from_state = Some("tbd".into());
    t.to_state = "alarm".into();
    let update = transition(&t, Severity::Medium);
    assert_eq!(update["activity_id"], 2);
    assert_eq!(update["compliance"]["status_id"], 3);
    assert_eq!(update["unmapped"]["from_state"], "tbd");
    t.to_state = "removed".into();
    assert_eq!(transition(&t, Severity::Medium)["activity_id"], 3);
}

#[test]
fn lines_are_one_json_object_each() {
    let mut out = Vec::new();
    let events = [ControlState::Ok, ControlState::Alarm]
        .map(|s| control(&row(s), Severity::Medium, &PolicySet::default()));
    write_lines(&mut out, events.into_iter()).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert!(serde_json::from_str::<Value>(line).unwrap().is_object());
    }
}

#[test]
fn a_controls_settings_accountability_is_in_unmapped() {
    let policies = crate::securityhub::finding::tests::accountable_policies();
    let event = control(&row(ControlState::Alarm), Severity::Medium, &policies);
    assert_eq!(
        event["unmapped"]["accountability"]["idempotent"],
        json!({"reason": "approved for the migration", "ticket": "CHG-9"})
    );
    let plain = control(
        &row(ControlState::Alarm),
        Severity::Medium,
        &PolicySet::default(),
    );
    assert!(plain["unmapped"].get("accountability").is_none());
}
