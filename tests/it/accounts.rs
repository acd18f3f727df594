//! Many accounts and regions: each account-region is its own scope with its own
//! schedule, queue, workers and limits, so one that is denied, failing or hanging
//! errors or delays only its own controls.

use std::time::Duration;

use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d_simulator::{Faults, Simulator};

const POLICIES: &str = r#"[policies.global]
rel04 = "Check: Choices based on sub policies"
idempotent = "True"
"#;

fn sweeps(d: &RunningDaemon, scope: &str) -> f64 {
    d.daemon.metrics.counter(
        "rel04d_sweeps_total",
        &[("scope", scope), ("result", "complete")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_or_hanging_region_errors_only_its_own_controls_and_never_stalls_another() {
    let east = Simulator::new("us-east-1");
    let west = Simulator::new("eu-west-1");
    let east_ids: Vec<String> = (0..3)
        .map(|i| {
            east.add_workload(workload(&format!("east-{i}"), answer(&ALL_FOUR, &[], true)))
                .id
        })
        .collect();
    let west_ids: Vec<String> = (0..3)
        .map(|i| {
            west.add_workload(workload(&format!("west-{i}"), answer(&ALL_FOUR, &[], true)))
                .id
        })
        .collect();
    let server = Simulator::serve_regions(
        "127.0.0.1:0".parse().unwrap(),
        &[east.clone(), west.clone()],
    )
    .await
    .unwrap();
    let config = format!(
        "[aws]\nregions = [\"us-east-1\", \"eu-west-1\"]\n[schedule]\ninterval = \"500ms\"\njitter = \"0s\"\n{POLICIES}"
    );
    let d = RunningDaemon::start_on(east.clone(), server, &config, Endpoints::default()).await;
    d.wait_for("both regions swept", Duration::from_secs(20), || async {
        sweeps(&d, "ambient/us-east-1") >= 1.0 && sweeps(&d, "ambient/eu-west-1") >= 1.0
    })
    .await;
    for id in east_ids.iter().chain(&west_ids) {
        assert_eq!(d.state_of(id).await.as_deref(), Some("ok"), "{id}");
    }

    // eu-west-1 denies every call: its controls go to error, us-east-1's stay ok.
    west.set_faults(Faults {
        deny_operations: ["ListWorkloads", "GetWorkload", "GetAnswer"]
            .map(String::from)
            .into(),
        ..Faults::default()
    });
    d.wait_for(
        "eu-west-1's controls in error",
        Duration::from_secs(20),
        || async {
            let mut all = true;
            for id in &west_ids {
                all &= d.state_of(id).await.as_deref() == Some("error");
            }
            all
        },
    )
    .await;
    let control = d
        .daemon
        .store
        .control_by_workload_id(&west_ids[0])
        .await
        .unwrap()
        .unwrap();
    assert!(
        control.reason.contains("AccessDeniedException"),
        "{}",
        control.reason
    );
    for id in &east_ids {
        assert_eq!(d.state_of(id).await.as_deref(), Some("ok"), "{id}");
    }

    // eu-west-1 now hangs on every call: us-east-1 keeps its schedule regardless.
    west.set_faults(Faults {
        latency: Duration::from_secs(600),
        ..Faults::default()
    });
    let west_before = sweeps(&d, "ambient/eu-west-1")
        + d.daemon.metrics.counter(
            "rel04d_sweeps_total",
            &[("scope", "ambient/eu-west-1"), ("result", "incomplete")],
        );
    tokio::time::sleep(Duration::from_secs(1)).await; // let a hanging eu-west-1 sweep begin
    let east_before = sweeps(&d, "ambient/us-east-1");
    d.wait_for(
        "three more us-east-1 sweeps",
        Duration::from_secs(30),
        || async { sweeps(&d, "ambient/us-east-1") >= east_before + 3.0 },
    )
    .await;
    let west_after = sweeps(&d, "ambient/eu-west-1")
        + d.daemon.metrics.counter(
            "rel04d_sweeps_total",
            &[("scope", "ambient/eu-west-1"), ("result", "incomplete")],
        );
    assert!(
        west_after <= west_before + 1.0,
        "eu-west-1 was hanging, yet swept {} times",
        west_after - west_before
    );
    for id in &east_ids {
        assert_eq!(d.state_of(id).await.as_deref(), Some("ok"), "{id}");
    }
    // The hung calls end with the daemon (attempt timeouts bound them otherwise).
    west.set_faults(Faults::default());
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_reached_by_assume_role_each_in_its_own_scope() {
    let moto = crate::common::moto::Moto::connect().await;
    let sim = Simulator::new(REGION);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            sim.add_workload(workload(
                &format!("shared-{i}"),
                answer(&ALL_FOUR, &[], true),
            ))
            .id
        })
        .collect();
    let config = format!(
        "[[aws.accounts]]\nid = \"111122223333\"\nrole_arn = \"arn:aws:iam::111122223333:role/rel04d-read\"\nexternal_id = \"rel04d-test-external-id\"\nregions = [\"{REGION}\"]\n\
         [[aws.accounts]]\nid = \"444455556666\"\nrole_arn = \"arn:aws:iam::444455556666:role/rel04d-read\"\nregions = [\"{REGION}\"]\n\
         [schedule]\ninterval = \"1h\"\n{POLICIES}"
    );
    let endpoints = Endpoints {
        sts: Some(moto.url.clone()),
        ..Endpoints::default()
    };
    let d = RunningDaemon::start(sim, &config, endpoints).await;
    d.wait_for("both accounts swept", Duration::from_secs(20), || async {
        sweeps(&d, "111122223333/us-east-1") >= 1.0 && sweeps(&d, "444455556666/us-east-1") >= 1.0
    })
    .await;
    assert_eq!(d.daemon.scopes.len(), 2);
    for id in &ids {
        assert_eq!(d.state_of(id).await.as_deref(), Some("ok"), "{id}");
    }
    d.stop().await;
}

/// A region dropped from the configuration would leave its controls at their last
/// state forever; the daemon marks them removed when it starts without it.
#[tokio::test]
async fn controls_of_a_region_no_longer_configured_are_removed_at_start() {
    let east = Simulator::new("us-east-1");
    let id = east
        .add_workload(workload("east", answer(&ALL_FOUR, &[], true)))
        .id;
    let env = TestEnv::start(east, POLICIES).await;
    env.sweep().await;
    assert_eq!(env.state_of(&id).await, "ok");

    // The same database, now configured for eu-west-1 only.
    let west = Simulator::new("eu-west-1");
    let west_server = west.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = format!("[aws]\nregions = [\"eu-west-1\"]\n{POLICIES}");
    let settings = settings(&env.dir, &env.database_url, &config);
    let endpoints = Endpoints {
        wellarchitected: Some(west_server.url()),
        ..Endpoints::default()
    };
    let setup = rel04d::aws::AwsSetup::local(&settings.aws, "eu-west-1", endpoints).await;
    let daemon = rel04d::startup::Daemon::build(settings, Some(setup))
        .await
        .expect("daemon builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(daemon.clone().run_on(listener, async move {
        let _ = stopped.await;
    }));
    process::wait_until(
        "the east control is removed",
        Duration::from_secs(20),
        || async { env.state_of(&id).await == "removed" },
    )
    .await;
    let _ = stop.send(());
    task.await.unwrap().expect("daemon stops cleanly");
    west_server.shutdown().await;

    let last = env.transitions().await.into_iter().next().unwrap();
    assert_eq!(last.to_state, "removed");
    assert!(
        last.reason.contains("no longer configured"),
        "{}",
        last.reason
    );
    env.stop().await;
}
