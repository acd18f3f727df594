//! Builds events in the shape AWS delivers them, for tests, benchmarks and the demo.

use serde_json::{Value, json};

/// An EventBridge `AWS API Call via CloudTrail` event from the Well-Architected Tool.
pub fn cloudtrail_event(
    event_id: &str,
    account: &str,
    region: &str,
    event_name: &str,
    request_parameters: Value,
) -> Value {
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.wellarchitected",
        "account": account,
        "time": "2026-11-26T12:00:00Z",
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "AssumedRole", "accountId": account},
            "eventTime": "2026-11-26T12:00:00Z",
            "eventSource": "wellarchitected.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "sourceIPAddress": "203.0.113.10",
            "userAgent": "aws-cli/2.15",
            "requestParameters": request_parameters,
            "responseElements": null,
            "requestID": "8c1a6b0e-0000-4000-8000-000000000000",
            "eventID": "f0d1a2b3-0000-4000-8000-000000000000",
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": account,
            "eventCategory": "Management"
        }
    })
}

/// An `UpdateAnswer` of REL 04 on `workload_id`, with the lens alias URL-encoded as
/// CloudTrail records path parameters.
pub fn update_answer_event(
    event_id: &str,
    account: &str,
    region: &str,
    workload_id: &str,
) -> Value {
    cloudtrail_event(
        event_id,
        account,
        region,
        "UpdateAnswer",
        json!({
            "WorkloadId": workload_id,
            "LensAlias": "wellarchitected",
            "QuestionId": "prevent-interaction-failure",
            "SelectedChoices": ["rel_prevent_interaction_failure_identify"]
        }),
    )
}

/// An `UpdateAnswer` as intake parses it, for workload `w-{n}` (tests).
#[cfg(test)]
pub(crate) fn parsed_update_answer(n: usize) -> super::parse::WorkloadEvent {
    super::parse::WorkloadEvent {
        event_id: format!("e-{n}"),
        account: Some("111122223333".into()),
        region: "us-east-1".into(),
        event_name: "UpdateAnswer".into(),
        workload_id: format!("w-{n}"),
        time: None,
        question: None,
    }
}
