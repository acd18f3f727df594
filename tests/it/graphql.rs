//! GraphQL and the CLI are two surfaces over one filter parser and query builder:
//! the same filter gives the same rows on both; errors point at the problem.

use std::process::Command;
use std::time::Duration;

use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d_simulator::Simulator;
use serde_json::{Value, json};

const TOKEN: &str = "graphql-token-0123456789";

/// A fleet in several states across two accounts, evaluated once.
async fn seeded(token: Option<&str>) -> (RunningDaemon, Vec<String>) {
    let sim = Simulator::new(REGION);
    let specs = [
        (
            "prod-payments",
            "111122223333",
            answer(&ALL_FOUR, &[], true),
        ),
        (
            "prod-orders",
            "111122223333",
            answer(&[IDENTIFY], &[], true),
        ),
        ("dev-search", "444455556666", answer(&ALL_FOUR, &[], true)),
        ("dev-reporting", "444455556666", answer(&[], &[], false)),
        ("prod-reporting", "444455556666", answer(&[NONE], &[], true)),
    ];
    let mut ids = Vec::new();
    for (name, owner, answer) in specs {
        let mut spec = workload(name, answer);
        spec.owner = owner.to_owned();
        ids.push(sim.add_workload(spec).id);
    }
    let token_line = token
        .map(|t| format!("[http]\ngraphql_token = \"{t}\"\n"))
        .unwrap_or_default();
    let config = format!(
        "{token_line}[schedule]\ninterval = \"1h\"\n[policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidentify = \"True\"\nidempotent = \"True\"\n\
         [[policies.settings]]\nscope = \"workload-name:*-reporting\"\nrel04 = \"Skip\"\n\
         reason = \"reports are batch jobs\"\nticket = \"CHG-7\"\nowner = \"team-reports\"\n"
    );
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    d.wait_for("the first sweep", Duration::from_secs(20), || async {
        d.daemon
            .store
            .list_controls(&rel04d::filter::Filter::parse("state:tbd").unwrap())
            .await
            .unwrap()
            .is_empty()
            && d.daemon
                .store
                .list_controls(&rel04d::filter::Filter::default())
                .await
                .unwrap()
                .len()
                == 5
    })
    .await;
    (d, ids)
}

pub(crate) async fn graphql(d: &RunningDaemon, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/graphql", d.http))
        .json(&body);
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `rel04d <args> --database-url URL`, returning stdout, stderr and success.
fn cli(database_url: &str, args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_rel04d"))
        .args(args)
        .args(["--database-url", database_url])
        .env_remove("REL04D_CONFIG")
        .env(
            "REL04D__POLICIES__GLOBAL__REL04",
            "Check: Choices based on sub policies",
        )
        .env("REL04D__POLICIES__GLOBAL__IDENTIFY", "True")
        .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

pub(crate) fn database_url(d: &RunningDaemon) -> String {
    d.daemon.settings.database_url().to_owned()
}

const CONTROL_FILTERS: &[&str] = &[
    "",
    "state:alarm",
    "state:active",
    "state:ok,skipped",
    "!state:ok",
    "account:444455556666",
    "account:444455556666 state:skipped",
    "workload:prod-payments",
    "workload:/^prod-/",
    "!workload:/reporting$/",
    "region:us-east-1 sort:-workload_name",
    "sort:workload_name limit:2",
    "controlTypeId:tmod:@turbot/aws-wellarchitected-framework#/control/types/rel04",
    "controlType:rel04 state:active sort:state",
    "resource:/workload/",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_and_the_cli_return_the_same_controls_and_transitions_for_each_filter() {
    let (d, ids) = seeded(None).await;
    let url = database_url(&d);
    let arn = d.sim.workload(&ids[0]).unwrap().arn;
    let mut filters: Vec<String> = CONTROL_FILTERS.iter().map(|f| f.to_string()).collect();
    filters.push(format!("resourceId:{arn}"));
    for filter in &filters {
        let (stdout, stderr, ok) = cli(&url, &["controls", "--output", "json", "--filter", filter]);
        assert!(ok, "{filter}: {stderr}");
        let from_cli: Vec<(String, String)> = serde_json::from_str::<Vec<Value>>(&stdout)
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["workload_id"].as_str().unwrap().to_owned(),
                    c["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let (status, body) = graphql(
            &d,
            None,
            json!({"query": "query($f: String) { controls(filter: $f) { items { workloadId state workload { account region } } } }", "variables": {"f": filter}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let from_graphql: Vec<(String, String)> = body["data"]["controls"]["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{filter}: {body}"))
            .iter()
            .map(|c| {
                (
                    c["workloadId"].as_str().unwrap().to_owned(),
                    c["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(from_graphql, from_cli, "filter {filter:?}");
        assert!(
            !from_cli.is_empty() || filter.contains("!state:ok"),
            "filter {filter:?} matched nothing; the case proves little"
        );
    }

    for filter in [
        "",
        "state:tbd",
        "state:alarm account:111122223333",
        "sort:id limit:3",
        "workload:prod-orders",
    ] {
        let (stdout, stderr, ok) = cli(&url, &["history", "--output", "json", "--filter", filter]);
        assert!(ok, "{filter}: {stderr}");
        let from_cli: Vec<i64> = serde_json::from_str::<Vec<Value>>(&stdout)
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        let (_, body) = graphql(&d, None, json!({"query": format!("{{ transitions(filter: {filter:?}) {{ items {{ id toState trigger }} }} }}")})).await;
        let from_graphql: Vec<i64> = body["data"]["transitions"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect();
        assert_eq!(from_graphql, from_cli, "history filter {filter:?}");
        assert!(!from_cli.is_empty(), "{filter}");
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_walks_every_control_once() {
    let (d, _) = seeded(None).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (_, body) = graphql(
            &d,
            None,
            json!({"query": "query($a: String) { controls(filter: \"sort:workload_name limit:2\", after: $a) { items { workloadName } paging { next limit } } }", "variables": {"a": after}}),
        )
        .await;
        let page = &body["data"]["controls"];
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["workloadName"].as_str().unwrap().to_owned()),
        );
        match page["paging"]["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "dev-reporting",
            "dev-search",
            "prod-orders",
            "prod-payments",
            "prod-reporting"
        ]
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_filters_and_queries_get_errors_that_point_at_the_problem() {
    let (d, _) = seeded(None).await;
    let (status, body) = graphql(
        &d,
        None,
        json!({"query": "{ controls(filter: \"state:alarm colour:red\") { items { state } } }"}),
    )
    .await;
    assert_eq!(status, 200);
    let error = &body["errors"][0];
    assert_eq!(
        error["message"],
        "bad filter term 2 `colour:red`: unknown key `colour`; keys are state, workload, account, region, resource, controlType, sort, limit, $.path, timestamp, stateChangeTimestamp, createTimestamp, updateTimestamp (and Guardrails' controlTypeId, resourceId, resourceTypeId, resourceType, controlCategoryId, policyTypeId, resourceCategoryId, controlCategory, policyType, resourceCategory, notificationType, type, actorIdentityId, and the *Level keys)"
    );
    assert_eq!(error["extensions"]["position"], 2);
    assert_eq!(error["extensions"]["term"], "colour:red");
    let (_, stderr, ok) = cli(
        &database_url(&d),
        &["controls", "--filter", "state:alarm colour:red"],
    );
    assert!(!ok);
    assert_eq!(
        stderr.trim(),
        format!("error: {}", error["message"].as_str().unwrap()),
        "one message on both surfaces"
    );

    let (_, body) = graphql(
        &d,
        None,
        json!({"query": "{ controls(filter: \"sort:password\") { items { state } } }"}),
    )
    .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot sort controls by `password`"),
        "{body}"
    );

    let (_, body) = graphql(
        &d,
        None,
        json!({"query": "{ controls(filter: \"\") { items { stat } } }"}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Unknown field \"stat\""), "{body}");
    assert_eq!(body["errors"][0]["locations"][0]["column"], 34, "{body}");

    let (_, body) = graphql(
        &d,
        None,
        json!({"query": "{ controls(filter: \"\") { items { state } "}),
    )
    .await;
    assert!(
        body["errors"][0]["locations"].is_array(),
        "syntax errors carry a location: {body}"
    );

    let response = reqwest::Client::new()
        .post(format!("http://{}/graphql", d.http))
        .header("Content-Type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the body is not a GraphQL request"),
        "{body}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_when_set_and_introspection_works() {
    let (d, _) = seeded(Some(TOKEN)).await;
    let query = json!({"query": "{ __schema { queryType { name } types { name } } }"});
    let (status, body) = graphql(&d, None, query.clone()).await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str()),
        (401, Some("missing or wrong bearer token"))
    );
    let (status, _) = graphql(&d, Some("graphql-token-012345678X"), query.clone()).await;
    assert_eq!(status, 401);
    let (status, body) = graphql(&d, Some(TOKEN), query).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let types: Vec<&str> = body["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for expected in [
        "Control",
        "ControlPage",
        "Transition",
        "PolicyValue",
        "Explanation",
        "Paging",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_and_policy_values_name_their_sources_on_both_surfaces() {
    let (d, ids) = seeded(None).await;
    let (_, body) = graphql(
        &d,
        None,
        json!({"query": "query($w: String!) { explain(workloadId: $w) { state reason policies { key value level origin passedOver { value level why } } bestPractices } policyValues(workloadId: $w) { key level reason ticket owner } }", "variables": {"w": ids[3]}}),
    )
    .await;
    let explain = &body["data"]["explain"];
    assert_eq!(explain["state"], "skipped", "{body}");
    let rel04 = explain["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "rel04")
        .unwrap();
    assert_eq!(
        (rel04["value"].as_str(), rel04["level"].as_str()),
        (Some("Skip"), Some("workload"))
    );
    assert_eq!(
        rel04["origin"],
        "policies.settings[0] (workload-name:*-reporting)"
    );
    assert_eq!(
        rel04["passedOver"][1]["value"],
        "Check: Choices based on sub policies"
    );
    assert_eq!(rel04["passedOver"][1]["level"], "global");
    let levels: Vec<&str> = body["data"]["policyValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        levels,
        ["workload", "global", "default", "global", "default"]
    );
    // The setting that supplied rel04 says why, under which ticket, and whose it is.
    let rel04_value = &body["data"]["policyValues"][0];
    assert_eq!(
        (
            &rel04_value["reason"],
            &rel04_value["ticket"],
            &rel04_value["owner"]
        ),
        (
            &json!("reports are batch jobs"),
            &json!("CHG-7"),
            &json!("team-reports")
        ),
        "{body}"
    );
    assert_eq!(body["data"]["policyValues"][1]["reason"], Value::Null);

    let (stdout, stderr, ok) = cli(&database_url(&d), &["explain", "--workload", &ids[1]]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("State: alarm — Not selected: Make mutating operations idempotent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("identify         True  ← global: policies.global"),
        "{stdout}"
    );
    assert!(
        stdout.contains("constant_work    Skip  ← default: built-in default"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Answer as last read: question applicable"),
        "{stdout}"
    );

    let (stdout, _, ok) = cli(
        &database_url(&d),
        &[
            "graphql",
            "{ control(workloadId: \"nope\") { state } controls(filter: \"state:ok\") { items { workloadName } } }",
            "--format",
            "json",
        ],
    );
    assert!(ok);
    let printed: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["control"], Value::Null);
    assert_eq!(printed["controls"]["items"].as_array().unwrap().len(), 2);
    let (_, _, ok) = cli(&database_url(&d), &["graphql", "{ nope }"]);
    assert!(!ok, "a query with errors exits non-zero");
    d.stop().await;
}
