//! `enforce.defer_after_human_change` and `rel04d enforce --plan`, against the
//! simulator's `UpdatedAt`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::startup::Daemon;
use rel04d_simulator::Simulator;
use tokio::task::JoinHandle;

use crate::common::process::{rel04d, stdout_of};
use crate::common::*;

const ENFORCE_IDENTIFY: &str =
    "[policies.global]\nrel04 = \"Enforce: Choices based on sub policies\"\nidentify = \"True\"\n";
const DEFER_1H: &str = "[enforce]\ndefer_after_human_change = \"1h\"\n";

/// A daemon on `database_url` with `config`, workers running (the test sweeps).
async fn build(
    dir: &tempfile::TempDir,
    database_url: &str,
    sim_url: &str,
    config: &str,
) -> (Arc<Daemon>, Vec<JoinHandle<()>>) {
    let settings = settings(dir, database_url, config);
    let endpoints = Endpoints {
        wellarchitected: Some(sim_url.to_owned()),
        ..Endpoints::default()
    };
    let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
    let daemon = Daemon::build(settings, Some(setup)).await.unwrap();
    let workers = daemon.start_workers();
    (daemon, workers)
}

fn hours_ago(hours: f64) -> f64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    now.as_secs_f64() - hours * 3600.0
}

/// `Control.enforcePlan` of `id`, through the GraphQL schema over the store.
async fn graphql_plan(daemon: &Daemon, id: &str) -> serde_json::Value {
    let schema = rel04d::graphql::schema(daemon.store.clone(), daemon.policies.clone());
    let query = format!(
        "{{ control(workloadId: \"{id}\") {{ enforcePlan {{ status select unselect deferredUntil answerReadAt }} }} }}"
    );
    let response = rel04d::graphql::execute(&schema, async_graphql::Request::new(query)).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    response.data.into_json().unwrap()["control"]["enforcePlan"].clone()
}

fn update_answer_calls(sim: &Simulator) -> u64 {
    sim.calls().operations["UpdateAnswer"].total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recent_change_by_someone_else_is_left_alone_until_the_window_ends() {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("defer-fresh", answer(&[], &[], true)))
        .id;
    let env = TestEnv::start(sim, &format!("{ENFORCE_IDENTIFY}{DEFER_1H}")).await;

    // Just created (answered) by someone: UpdatedAt is now.
    env.sweep().await;
    let control = &env.controls("").await[0];
    assert_eq!(control.state.as_str(), "alarm");
    assert!(
        control
            .reason
            .contains("Enforce deferred: the answer was changed by someone other than rel04d")
            && control.reason.contains("enforcement resumes at"),
        "{}",
        control.reason
    );
    assert_eq!(update_answer_calls(&env.sim), 0, "nothing was written");
    let plan = graphql_plan(&env.daemon, &id).await;
    assert_eq!(plan["status"], "deferred", "{plan}");
    assert_eq!(plan["select"], serde_json::json!([IDENTIFY]));
    assert!(plan["deferredUntil"].is_string() && plan["answerReadAt"].is_string());
    assert!(env.sim.workload(&id).unwrap().answer.selected.is_empty());
    // A second pass changes nothing either (no new transition, same reason).
    let before = env.transitions().await.len();
    env.sweep().await;
    assert_eq!(env.transitions().await.len(), before);
    assert_eq!(env.controls("").await[0].reason, control.reason);

    // The change is now older than the window: Enforce writes.
    env.sim.set_updated_at(&id, hours_ago(2.0)).unwrap();
    env.sweep().await;
    assert_eq!(env.state_of(&id).await, "ok");
    assert_eq!(update_answer_calls(&env.sim), 1);
    assert_eq!(env.sim.workload(&id).unwrap().answer.selected, [IDENTIFY]);
    assert_eq!(graphql_plan(&env.daemon, &id).await["status"], "matches");
    env.stop().await;
}

/// rel04d's own write moves UpdatedAt too; it must not defer rel04d's next
/// enforcement (here: the policies change right after it wrote).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rel04ds_own_write_does_not_count_as_someone_elses_change() {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("defer-own", answer(&[], &[], true)))
        .id;
    sim.set_updated_at(&id, hours_ago(2.0)).unwrap();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;

    let (first, workers) = build(
        &dir,
        &database_url,
        &server.url(),
        &format!("{ENFORCE_IDENTIFY}{DEFER_1H}"),
    )
    .await;
    first.sweep_all().await;
    assert_eq!(sim.workload(&id).unwrap().answer.selected, [IDENTIFY]);
    first.stop_workers(workers).await;

    let unselect = ENFORCE_IDENTIFY.replace("\"True\"", "\"False\"");
    let (second, workers) = build(
        &dir,
        &database_url,
        &server.url(),
        &format!("{unselect}{DEFER_1H}"),
    )
    .await;
    second.sweep_all().await;
    let control = second
        .store
        .control_by_workload_id(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(control.state.as_str(), "ok", "{}", control.reason);
    assert!(sim.workload(&id).unwrap().answer.selected.is_empty());
    assert_eq!(update_answer_calls(&sim), 2);
    second.stop_workers(workers).await;
    server.shutdown().await;
}

/// `enforce --plan` lists, per workload, the choices Enforce would select and
/// unselect now (and which wait for a recent change), and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_plan_lists_the_changes_and_writes_nothing() {
    let sim = Simulator::new(REGION);
    let stale = sim
        .add_workload(workload("plan-stale", answer(&[LOOSELY, NONE], &[], true)))
        .id;
    let fresh = sim
        .add_workload(workload("plan-fresh", answer(&[], &[], true)))
        .id;
    let fine = sim
        .add_workload(workload("plan-fine", answer(&[IDENTIFY], &[], true)))
        .id;
    sim.set_updated_at(&stale, hours_ago(2.0)).unwrap();
    sim.set_updated_at(&fine, hours_ago(2.0)).unwrap();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    // The controls exist (a Check-mode daemon found them); nothing was written.
    let check = ENFORCE_IDENTIFY.replace("Enforce:", "Check:");
    let (daemon, workers) = build(&dir, &database_url, &server.url(), &check).await;
    daemon.sweep_all().await;
    daemon.stop_workers(workers).await;
    let answers_before: Vec<_> = [&stale, &fresh, &fine]
        .map(|id| sim.workload(id).unwrap().answer)
        .into();

    let plan = |output: &str| {
        stdout_of(
            rel04d()
                .args(["enforce", "--plan", "--output", output])
                .env("AWS_ENDPOINT_URL_WELLARCHITECTED", server.url())
                .env("REL04D__DATABASE__URL", &database_url)
                .env("REL04D__AWS__REGIONS", REGION)
                .env(
                    "REL04D__POLICIES__GLOBAL__REL04",
                    "Enforce: Choices based on sub policies",
                )
                .env("REL04D__POLICIES__GLOBAL__IDENTIFY", "True")
                .env("REL04D__POLICIES__GLOBAL__LOOSELY_COUPLED", "False")
                .env("REL04D__ENFORCE__DEFER_AFTER_HUMAN_CHANGE", "1h"),
        )
    };
    let json: Vec<serde_json::Value> = serde_json::from_str(&plan("json")).unwrap();
    let of = |id: &str| {
        json.iter()
            .find(|p| p["workload_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(json.len(), 3);
    assert_eq!(of(&stale)["status"], "would_write");
    assert_eq!(of(&stale)["select"], serde_json::json!([IDENTIFY]));
    assert_eq!(of(&stale)["unselect"], serde_json::json!([LOOSELY, NONE]));
    assert_eq!(of(&fresh)["status"], "deferred");
    assert_eq!(of(&fresh)["select"], serde_json::json!([IDENTIFY]));
    assert!(of(&fresh)["deferred_until"].is_string());
    assert_eq!(of(&fine)["status"], "matches");
    assert_eq!(of(&fine)["select"], serde_json::json!([]));

    let table = plan("table");
    assert!(table.starts_with("WORKLOAD ID"), "{table}");
    let stale_line = table
        .lines()
        .find(|l| l.starts_with(stale.as_str()))
        .unwrap();
    assert!(
        stale_line.contains("would_write") && stale_line.contains(IDENTIFY),
        "{stale_line}"
    );

    assert_eq!(
        update_answer_calls(&sim),
        0,
        "the plan wrote nothing to the Tool"
    );
    let answers_after: Vec<_> = [&stale, &fresh, &fine]
        .map(|id| sim.workload(id).unwrap().answer)
        .into();
    assert_eq!(answers_after, answers_before);
    server.shutdown().await;
}

#[test]
fn enforce_without_plan_is_refused_with_a_clear_message() {
    let out = rel04d().args(["enforce"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--plan"), "{stderr}");
}
