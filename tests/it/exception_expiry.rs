//! After an exception expires, every surface agrees within one sweep: the
//! sweep's record, `explain`, GraphQL, the status page and the Security Hub
//! finding all compute "expired" with the one rule
//! (`rel04d::control::hierarchy::has_expired`). Before: all show the exception
//! in force (with its reason, ticket, owner and expiry); after one sweep past
//! the expiry: all show it expired.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use crate::common::*;
use crate::graphql::graphql;
use crate::status_page::get;
use rel04d::aws::Endpoints;
use rel04d::config::SecurityHubSettings;
use rel04d::control::{ControlState, Details, PolicyKey};
use rel04d::securityhub::finding::Finding;
use rel04d_simulator::Simulator;

/// What each surface says of the `idempotent` policy.
struct Surfaces {
    /// The sweep's record: (origin, value).
    recorded: (String, String),
    /// `explain`: (origin, value, whether a setting was passed over as expired).
    explained: (String, String, bool),
    graphql: Value,
    page: String,
    finding: Finding,
}

async fn surfaces(d: &RunningDaemon, id: &str) -> Surfaces {
    let control = d
        .daemon
        .store
        .control_by_workload_id(id)
        .await
        .unwrap()
        .unwrap();
    let details: Details = serde_json::from_str(control.details.as_str()).unwrap();
    let recorded = details
        .policies
        .iter()
        .find(|p| p.key == PolicyKey::Idempotent)
        .map(|p| (p.origin.clone(), p.value.clone()))
        .unwrap();
    let policies = d.daemon.policies.clone();
    let explanation = rel04d::explain::explain(
        &rel04d::control::ControlDef::rel04(),
        &control,
        &policies,
        Utc::now(),
    );
    let explained = explanation
        .policies
        .iter()
        .find(|p| p.key == PolicyKey::Idempotent)
        .map(|p| {
            (
                p.origin.clone(),
                p.value.clone(),
                p.passed_over
                    .iter()
                    .any(|s| s.why.starts_with("expired at")),
            )
        })
        .unwrap();
    let (status, body) = graphql(
        d,
        None,
        json!({"query": format!(
            "{{ policyValues(workloadId: \"{id}\") {{ key value origin reason ticket owner expires passedOver {{ why }} }} }}"
        )}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let graphql = body["data"]["policyValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "idempotent")
        .cloned()
        .unwrap();
    let (status, page) = get(d, &format!("/controls/{id}"), &[]).await;
    assert_eq!(status, 200);
    let finding = Finding::of(&control, &SecurityHubSettings::default(), "t")
        .with_accountability(&control, &policies);
    Surfaces {
        recorded,
        explained,
        graphql,
        page,
        finding,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_exception_expires_every_surface_agrees_within_one_sweep() {
    let sim = Simulator::new(REGION);
    // Not idempotent: alarm, unless the exception lets it skip idempotency.
    let id = sim
        .add_workload(workload(
            "excepted",
            answer(&[IDENTIFY, LOOSELY, CONSTANT], &[], true),
        ))
        .id;
    let expires = Utc::now() + chrono::Duration::seconds(3);
    let config = format!(
        "[schedule]\ninterval = \"1h\"\n[policies.global]\n{ALL_TRUE}\n\
         [[policies.settings]]\nscope = \"workload:{id}\"\nidempotent = \"Skip\"\n\
         exception = true\nexpires = \"{}\"\nreason = \"<b>moving</b> to SQS\"\n\
         ticket = \"CHG-42\"\nowner = \"team-shop\"\n",
        expires.to_rfc3339()
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    let exception = "policies.settings[0] (workload:";

    d.daemon.sweep_all().await;
    d.wait_for("the first verdict", Duration::from_secs(30), || async {
        d.state_of(&id).await.as_deref() == Some("ok")
    })
    .await;
    let before = surfaces(&d, &id).await;
    assert!(
        before.recorded.0.starts_with(exception),
        "{:?}",
        before.recorded
    );
    assert!(before.explained.0.starts_with(exception) && !before.explained.2);
    assert!(
        before.graphql["origin"]
            .as_str()
            .unwrap()
            .starts_with(exception)
    );
    assert_eq!(before.graphql["ticket"], "CHG-42");
    assert!(
        before.graphql["expires"]
            .as_str()
            .unwrap()
            .starts_with(&expires.to_rfc3339()[..19])
    );
    // Escaped like everything else on the page.
    assert!(
        before.page.contains("&lt;b&gt;moving&lt;/b&gt; to SQS"),
        "{}",
        before.page
    );
    assert!(before.page.contains("CHG-42") && before.page.contains("team-shop"));
    assert!(
        before
            .page
            .contains(&format!("datetime=\"{}", &expires.to_rfc3339()[..19]))
    );
    assert!(!before.page.contains("expired at"));
    assert_eq!(before.finding.status.as_str(), "PASSED");
    assert_eq!(
        before
            .finding
            .product_fields
            .get("rel04d/Policy/idempotent/Ticket")
            .map(String::as_str),
        Some("CHG-42")
    );

    let left = (expires - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(100)).await;
    d.daemon.sweep_all().await;
    d.wait_for(
        "the verdict past the expiry",
        Duration::from_secs(30),
        || async { d.state_of(&id).await.as_deref() == Some(ControlState::Alarm.as_str()) },
    )
    .await;
    let after = surfaces(&d, &id).await;
    assert!(!after.recorded.0.starts_with(exception) && after.recorded.1 == "True");
    assert!(!after.explained.0.starts_with(exception) && after.explained.2);
    assert!(
        !after.graphql["origin"]
            .as_str()
            .unwrap()
            .starts_with(exception)
    );
    assert_eq!(after.graphql["ticket"], Value::Null);
    assert!(
        after.graphql["passedOver"]
            .to_string()
            .contains("expired at")
    );
    assert!(after.page.contains("expired at"));
    assert!(!after.page.contains("team-shop"));
    assert_eq!(after.finding.status.as_str(), "FAILED");
    assert!(
        !after
            .finding
            .product_fields
            .contains_key("rel04d/Policy/idempotent/Ticket")
    );
    d.stop().await;
}
