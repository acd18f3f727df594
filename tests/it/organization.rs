//! `[aws.organization]` against moto's Organizations and STS with the real SDK:
//! the running daemon's scopes follow accounts joining and leaving the
//! organisation between refreshes, and a departed account's controls are
//! marked removed with their rows and transitions kept.

use std::time::Duration;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::error::ProvideErrorMetadata;

use crate::common::db::Db;
use crate::common::moto::unique;
use crate::common::process::{Proc, daemon, http_address, metrics, tail, wait_until};
use crate::common::*;
use rel04d_simulator::Simulator;

async fn organizations(url: &str) -> Client {
    Client::new(&crate::common::moto::sdk_config(url).await)
}

/// The organisation's root (creating the organisation in moto when there is
/// none yet: the shared moto keeps it between tests), and a fresh OU under it
/// that only this test's accounts join, so runs never see each other's accounts.
async fn fresh_unit(org: &Client) -> (String, String) {
    if let Err(error) = org.describe_organization().send().await {
        assert_eq!(
            error.code(),
            Some("AWSOrganizationsNotInUseException"),
            "{error:?}"
        );
        org.create_organization().send().await.unwrap();
    }
    let roots = org.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_owned();
    let unit = org
        .create_organizational_unit()
        .parent_id(&root)
        .name(unique("rel04d-test"))
        .send()
        .await
        .unwrap();
    (
        root,
        unit.organizational_unit().unwrap().id().unwrap().to_owned(),
    )
}

/// A new member account, moved into `unit`.
async fn join(org: &Client, root: &str, unit: &str) -> String {
    let id = create(org).await;
    org.move_account()
        .account_id(&id)
        .source_parent_id(root)
        .destination_parent_id(unit)
        .send()
        .await
        .unwrap();
    id
}

/// A new member account, at the root.
async fn create(org: &Client) -> String {
    let name = unique("member");
    let created = org
        .create_account()
        .account_name(&name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .unwrap();
    created
        .create_account_status()
        .unwrap()
        .account_id()
        .expect("moto creates accounts at once")
        .to_owned()
}

/// Two workloads whose answer is ok, named `<prefix>-0` and `<prefix>-1`.
fn two_workloads(sim: &Simulator, prefix: &str) -> Vec<String> {
    let spec = |i| workload(&format!("{prefix}-{i}"), answer(&ALL_FOUR, &[], true));
    (0..2).map(|i| sim.add_workload(spec(i)).id).collect()
}

/// Whether every one of `ids` has a control in `state`.
async fn all_in(db: &Db, ids: &[String], state: &str) -> bool {
    let sql = format!(
        "SELECT COUNT(*) FROM controls WHERE state = '{state}' AND workload_id IN ('{}')",
        ids.join("', '")
    );
    db.count(&sql).await == Some(ids.len() as i64)
}

fn scopes_in(metrics: &str) -> std::collections::BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| l.starts_with("rel04d_sweeps_total{"))
        .filter_map(|l| l.split("scope=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_follow_accounts_joining_and_leaving_the_organization() {
    let moto_url = std::env::var("REL04D_TEST_MOTO_URL").expect("REL04D_TEST_MOTO_URL");
    let org = organizations(&moto_url).await;
    let (root, unit) = fresh_unit(&org).await;
    let first = join(&org, &root, &unit).await;

    // The simulator cannot tell accounts apart (every scope lists every
    // workload), so each stage's workloads exist only while their account is
    // in the organisation.
    let sim = Simulator::new(REGION);
    let first_ids = two_workloads(&sim, "first");
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");
    let mut command = daemon(&server.url(), &database_url, 1000);
    command
        .arg("run")
        .env("AWS_ENDPOINT_URL_ORGANIZATIONS", &moto_url)
        .env("AWS_ENDPOINT_URL_STS", &moto_url)
        .env("REL04D__SCHEDULE__INTERVAL", "500ms")
        .env("REL04D__SCHEDULE__JITTER", "0s")
        .env("REL04D__AWS__ORGANIZATION__ROLE_NAME", "rel04d-member")
        .env("REL04D__AWS__ORGANIZATION__INCLUDE", &unit)
        .env("REL04D__AWS__ORGANIZATION__REFRESH_INTERVAL", "1s");
    let mut proc = Proc::spawn(command, &log);
    let http = http_address(&log, Duration::from_secs(30)).await;
    let db = Db::connect(&database_url).await;
    let first_scope = format!("{first}/{REGION}");
    wait_until(
        "the first account's controls",
        Duration::from_secs(30),
        || all_in(&db, &first_ids, "ok"),
    )
    .await;
    assert_eq!(
        db.strings(&format!(
            "SELECT DISTINCT scanned_by FROM controls WHERE workload_id IN ('{}', '{}')",
            first_ids[0], first_ids[1]
        ))
        .await,
        std::slice::from_ref(&first_scope)
    );
    let history = |ids: &[String]| {
        let sql = format!(
            "SELECT COUNT(*) FROM transitions WHERE workload_id IN ('{}')",
            ids.join("', '")
        );
        let db = &db;
        async move { db.count(&sql).await.unwrap() }
    };
    let first_history = history(&first_ids).await;
    assert!(first_history >= 2, "at least tbd → ok, each");

    // The first account closes: its scope is retired at the next refresh. Its
    // controls are removed, not deleted: their rows and their history stay,
    // with one transition more each saying why.
    org.close_account().account_id(&first).send().await.unwrap();
    wait_until(
        "the first account's controls removed",
        Duration::from_secs(30),
        || all_in(&db, &first_ids, "removed"),
    )
    .await;
    assert!(scopes_in(&metrics(&http).await).is_empty());
    assert_eq!(history(&first_ids).await, first_history + 2);
    let last_reason = |id: &str| {
        let sql =
            format!("SELECT reason FROM transitions WHERE workload_id = '{id}' ORDER BY id DESC");
        let db = &db;
        async move { db.strings(&sql).await.remove(0) }
    };
    let reason = last_reason(&first_ids[0]).await;
    assert!(
        reason.contains(&format!(
            "({first_scope}) is no longer configured nor selected in the organization"
        )),
        "{reason}"
    );

    // A second account joins (the first one's workloads gone with it).
    for id in &first_ids {
        sim.delete_workload(id).unwrap();
    }
    let second_ids = two_workloads(&sim, "second");
    let second = join(&org, &root, &unit).await;
    let second_scope = format!("{second}/{REGION}");
    wait_until("the second account swept", Duration::from_secs(30), || {
        all_in(&db, &second_ids, "ok")
    })
    .await;
    assert_eq!(
        scopes_in(&metrics(&http).await),
        [second_scope.clone()].into()
    );

    // The second account is removed from the organisation: its scope goes too.
    org.remove_account_from_organization()
        .account_id(&second)
        .send()
        .await
        .unwrap();
    wait_until(
        "the second account's controls removed",
        Duration::from_secs(30),
        || all_in(&db, &second_ids, "removed"),
    )
    .await;
    assert!(scopes_in(&metrics(&http).await).is_empty());
    assert!(last_reason(&second_ids[0]).await.contains(&second_scope));
    assert_eq!(history(&first_ids).await, first_history + 2, "kept");
    assert!(
        history(&second_ids).await >= 4,
        "at least tbd → ok → removed, each"
    );
    assert!(
        proc.exited().is_none(),
        "the daemon keeps running: {}",
        tail(&log)
    );
    proc.terminate(Duration::from_secs(30)).await;
    db.close().await;
    server.shutdown().await;
}

/// More selected accounts than `max_accounts` stops the start with an error
/// naming both numbers, before anything is scanned. What counts: the OU's
/// active accounts and an included account elsewhere, not an excluded one nor
/// a closed one.
#[tokio::test]
async fn more_accounts_than_the_cap_fail_the_start_naming_it() {
    let moto_url = std::env::var("REL04D_TEST_MOTO_URL").expect("REL04D_TEST_MOTO_URL");
    let org = organizations(&moto_url).await;
    let (root, unit) = fresh_unit(&org).await;
    let excluded = join(&org, &root, &unit).await;
    join(&org, &root, &unit).await;
    let closed = join(&org, &root, &unit).await;
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .unwrap();
    let elsewhere = create(&org).await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let output = daemon("http://127.0.0.1:9", &database_url, 10)
        .args(["run", "--once"])
        .env("AWS_ENDPOINT_URL_ORGANIZATIONS", &moto_url)
        .env("REL04D__AWS__ORGANIZATION__ROLE_NAME", "rel04d-member")
        .env(
            "REL04D__AWS__ORGANIZATION__INCLUDE",
            format!("{unit},{elsewhere}"),
        )
        .env("REL04D__AWS__ORGANIZATION__EXCLUDE", &excluded)
        .env("REL04D__AWS__ORGANIZATION__MAX_ACCOUNTS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "the organization selects 2 accounts, more than aws.organization.max_accounts (1)"
        ),
        "{stderr}"
    );
}
