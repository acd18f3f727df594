//! Guardrails users at home: the operations of Guardrails' public samples and
//! docs, in their shapes with rel04d's values (`tests/corpus/guardrails-samples/`),
//! posted as Guardrails' scripts post them (`/api/latest/graphql`, Basic auth)
//! to a daemon with controls. At least 85% run without errors, and the ones
//! that do not are exactly those the README's "Coming from Guardrails" lists.
//! Then the filters, checked against the seeded data: scopes down the
//! hierarchy, times, public sort names, and errors naming what is unknown.

use std::collections::BTreeSet;
use std::path::Path;

use crate::graphql::database_url;
use crate::guardrails::{TOKEN, cli, cli_count, corpus, seeded};
use serde_json::{Value, json};

/// `POST /api/latest/graphql` with `Authorization: Basic base64(key:secret)`,
/// the secret being rel04d's token.
async fn post_basic(http: &std::net::SocketAddr, secret: &str, query: &str) -> (u16, Value) {
    let basic = data_encoding::BASE64.encode(format!("AKIA-guardrails-key:{secret}").as_bytes());
    let response = reqwest::Client::new()
        .post(format!("http://{http}/api/latest/graphql"))
        .header("Authorization", format!("Basic {basic}"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The corpus files the README lists as not running, from its marked list.
fn readme_failures() -> BTreeSet<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let (_, rest) = readme
        .split_once("<!-- guardrails-sample-failures -->")
        .expect("the README marks the list of samples that do not run");
    let (list, _) = rest
        .split_once("<!-- /guardrails-sample-failures -->")
        .unwrap();
    list.lines()
        .filter_map(|l| {
            l.strip_prefix("- `")?
                .split_once('`')
                .map(|(f, _)| f.to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_samples_run_unchanged_but_the_listed_few() {
    let (d, ids) = seeded(Some(TOKEN)).await;
    let files = corpus("guardrails-samples");
    let mut failures = BTreeSet::new();
    let mut answers = std::collections::BTreeMap::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let query = std::fs::read_to_string(file)
            .unwrap()
            .replace("$WORKLOAD_ID", &ids[0]);
        let (status, body) = post_basic(&d.http, TOKEN, &query).await;
        if status != 200 || !body["errors"].is_null() {
            eprintln!("{name}: {status} {}", body["errors"]);
            failures.insert(name.clone());
        }
        answers.insert(name, body);
    }
    let ran = files.len() - failures.len();
    assert!(files.len() >= 40, "{} operations", files.len());
    assert!(
        ran * 100 >= files.len() * 85,
        "{ran} of {} ran; failing: {failures:?}",
        files.len()
    );
    assert_eq!(
        failures,
        readme_failures(),
        "the README's list is the truth"
    );

    // What they return is what Guardrails would for this data.
    let data = |name: &str| answers[name]["data"].clone();
    let account = data("alarms_in_one_account.graphql");
    assert_eq!(
        account["controls"]["metadata"]["stats"]["total"], 1,
        "{account}"
    );
    let per_account = data("control_counts_per_account.graphql")["resources"].clone();
    assert_eq!(
        per_account["accounts"]["stats"]["total"], 2,
        "{per_account}"
    );
    let totals: Vec<_> = per_account["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["akas"][0].clone(),
                a["allControls"]["metadata"]["stats"]["total"].clone(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            (json!("arn:aws:::111122223333"), json!(2)),
            (json!("arn:aws:::444455556666"), json!(3))
        ]
    );
    let pages = data("two_pages_of_resources.graphql");
    assert_eq!(pages["firstPage"]["items"].as_array().unwrap().len(), 3);
    assert_eq!(pages["firstPage"]["paging"]["next"], "3");
    assert_eq!(pages["secondPage"]["paging"]["prev"], "0");
    let actor = data("automation_actor_id.graphql");
    assert_eq!(
        actor["resources"]["items"][0]["turbot"]["actorIdentityId"],
        "rel04d"
    );
    let tagged = data("recent_alarms_by_tag.graphql");
    assert_eq!(tagged["controls"]["items"].as_array().unwrap().len(), 1);
    let types = data("controls_in_category.graphql");
    assert_eq!(
        types["controls"]["items"][0]["type"]["targets"],
        json!(["tmod:@turbot/aws-wellarchitected#/resource/types/workload"])
    );
    assert_eq!(types["controls"]["metadata"]["stats"]["total"], 5);

    // Real values where rel04d has them (the Tool's UpdatedAt), null where not.
    let times = "{ resources(filter: \"resourceType:workload limit:1\") { items { turbot { createTimestamp updateTimestamp actorIdentityId } } } }";
    let (_, body) = post_basic(&d.http, TOKEN, times).await;
    let turbot = &body["data"]["resources"]["items"][0]["turbot"];
    assert!(turbot["createTimestamp"].is_null(), "{body}");
    assert!(turbot["actorIdentityId"].is_null(), "{body}");
    let updated = turbot["updateTimestamp"].as_str().unwrap_or_default();
    assert!(updated.starts_with("20"), "{body}");

    // `paging: ""` is Guardrails' first page; a bad cursor is named by its argument.
    let first = "{ controls(paging: \"\") { items { state } } notifications(paging: \"\") { items { notificationType } } }";
    let (_, body) = post_basic(&d.http, TOKEN, first).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["controls"]["items"].as_array().unwrap().len(),
        5
    );
    let (_, body) = post_basic(
        &d.http,
        TOKEN,
        "{ controls(paging: \"zz\") { items { state } } }",
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("paging: \"zz\" is not a cursor"),
        "{message}"
    );

    // A page without `limit:` is as large as the budget allows, with the rest
    // behind `paging.next`; an explicit `limit:` beyond it is refused, naming
    // the limit, the cost and the page that fits.
    let heavy = "{ controls(filter: \"limit:1000\") { items { details resource { data } } } }";
    let (_, body) = post_basic(&d.http, TOKEN, heavy).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("limit:1000")
            && message.contains("cost 21000")
            && message.contains("enough for limit:952"),
        "{message}"
    );
    let unlimited = heavy.replace("filter: \"limit:1000\"", "filter: \"\"");
    let (_, body) = post_basic(&d.http, TOKEN, &unlimited).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["controls"]["items"].as_array().unwrap().len(),
        5
    );

    // The bearer token works on Guardrails' path too; a wrong secret does not.
    let (status, _) =
        post_basic(&d.http, "not-the-token", "{ controls { items { state } } }").await;
    assert_eq!(status, 401);
    d.stop().await;
}

/// Every filter the samples use, checked against the seeded data through the
/// CLI (the same parser and SQL as GraphQL): two accounts, prod-orders and
/// dev-search in alarm, five controls evaluated just now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guardrails_filters_scope_time_and_sort_as_guardrails_does() {
    let (d, ids) = seeded(None).await;
    let url = database_url(&d);
    let arn = d.sim.workload(&ids[1]).unwrap().arn;
    let count = |filter: &str| cli_count(&url, "controls", filter);
    for (filter, expected) in [
        ("resource:'111122223333'", 2),
        ("resourceId:111122223333", 2),
        ("resourceId:'arn:aws:::444455556666'", 3),
        ("resourceId:arn:aws::us-east-1:444455556666 state:alarm", 1),
        ("resourceId:arn:aws::eu-west-1:444455556666", 0),
        (&format!("resource:{arn}"), 1),
        (&format!("resource:{}", ids[1]), 1),
        ("resource:111122223333,444455556666", 5),
        ("!resource:111122223333", 3),
        ("resourceId:'tmod:@turbot/turbot#/'", 5),
        ("resourceTypeId:tmod:@turbot/aws#/resource/types/aws", 5),
        (
            "resourceTypeId:tmod:@turbot/aws-s3#/resource/types/bucket",
            0,
        ),
        ("stateChangeTimestamp:>T-15m", 5),
        ("stateChangeTimestamp:<T-15m", 0),
        ("createTimestamp:>=2020-01-01,<T+1h", 5),
        ("updateTimestamp:<=2020-01-01", 0),
        ("timestamp:>T-1d state:alarm sort:-timestamp", 2),
        ("sort:stateChangeTimestamp limit:1", 1),
        ("sort:-createTimestamp", 5),
    ] {
        assert_eq!(count(filter), expected, "{filter}");
    }
    let transitions = cli_count(&url, "history", "");
    assert!(transitions >= 5);
    for (filter, expected) in [
        ("timestamp:>T-1d sort:-timestamp", transitions),
        ("timestamp:<T-1d", 0),
        ("notificationType:control_created", 5),
        ("notificationType:control_updated", transitions - 5),
        ("type:resource_created,policy_setting_updated", 0),
        ("actorIdentityId:rel04d", transitions),
        ("actorIdentityId:-rel04d", 0),
        ("actorIdentityId:someone-else", 0),
        (
            "resource:'444455556666' timestamp:>T-1h",
            cli_count(&url, "history", "account:444455556666"),
        ),
    ] {
        assert_eq!(
            cli_count(&url, "history", filter),
            expected,
            "history {filter}"
        );
    }
    // Unknown keys, forms and values are errors naming them, never empty answers.
    for (filter, named) in [
        ("resource:'182532796222472'", "\"182532796222472\""),
        ("resourceId:someone@example.com", "\"someone@example.com\""),
        ("resourceTypeId:bucket", "\"bucket\""),
        ("timestamp:>T-3q", "\"T-3q\""),
        ("stateChangeTimestamp:2026-01-01", "\"2026-01-01\""),
        ("notificationType:alert_created", "\"alert_created\""),
        (
            "policyTypeId:tmod:@turbot/turbot#/resource/categories/turbot",
            "is not a policyTypeId",
        ),
        ("sort:-occurredAt", "`occurredAt`"),
        ("deleteTimestamp:>T-1d", "unknown key `deleteTimestamp`"),
        ("controlTypeId:rel04", "\"rel04\" is not a control type URI"),
    ] {
        let (_, stderr, ok) = cli(&url, &["controls", "--filter", filter]);
        assert!(!ok && stderr.contains(named), "{filter}: {stderr}");
    }
    d.stop().await;
}
