//! Several replicas on one database: while answers change under them and every
//! replica evaluates the same hot workloads at once, each state change is
//! recorded exactly once.
//!
//! Runs on whichever database the suite runs on: on Postgres the replicas claim
//! controls before evaluating; on SQLite the version check alone arbitrates.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::common::*;
use rel04d::aws::{AwsSetup, Endpoints};
use rel04d::filter::Filter;
use rel04d::startup::Daemon;
use rel04d_simulator::Simulator;

const WORKLOADS: usize = 2000;
const HOT: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_record_every_state_change_exactly_once() {
    let sim = Simulator::generated(REGION, WORKLOADS, 21);
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let config = r#"
[schedule]
interval = "2s"
jitter = "1s"
[policies.global]
rel04 = "Check: Choices based on sub policies"
identify = "True"
loosely_coupled = "True"
idempotent = "True"
constant_work = "True"
"#;
    let endpoints = Endpoints {
        wellarchitected: Some(server.url()),
        ..Endpoints::default()
    };
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let settings = settings(&dir, &database_url, config);
        let setup = AwsSetup::local(&settings.aws, REGION, endpoints.clone()).await;
        let daemon = Daemon::build(settings, Some(setup)).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(daemon.clone().run_on(listener, async move {
            let _ = stopped.await;
        }));
        replicas.push((daemon, stop, task));
    }

    let with_lens: Vec<String> = sim
        .workloads()
        .into_iter()
        .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"))
        .map(|w| w.id)
        .collect();
    let hot: Arc<Vec<String>> = Arc::new(with_lens[..HOT].to_vec());
    let running = Arc::new(AtomicBool::new(true));

    // Answers keep changing: the hot ones constantly, others now and then.
    let changer = {
        let (sim, hot, running, all) =
            (sim.clone(), hot.clone(), running.clone(), with_lens.clone());
        tokio::spawn(async move {
            let mut n = 0usize;
            while running.load(Ordering::Relaxed) {
                let id = if n.is_multiple_of(3) {
                    &all[(n * 7919) % all.len()]
                } else {
                    &hot[n % hot.len()]
                };
                let selected = if n.is_multiple_of(2) {
                    &ALL_FOUR[..]
                } else {
                    &ALL_FOUR[..2]
                };
                sim.set_answer(id, answer(selected, &[], true)).unwrap();
                n += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    // Every replica evaluates the hot workloads at the same time (as events would).
    let hammers: Vec<_> = replicas
        .iter()
        .map(|(daemon, _, _)| {
            let (daemon, hot, running) = (daemon.clone(), hot.clone(), running.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while running.load(Ordering::Relaxed) {
                    let _ = daemon.evaluate(&hot[n % hot.len()]).await;
                    n += 1;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(12)).await;
    running.store(false, Ordering::Relaxed);
    changer.await.unwrap();
    for hammer in hammers {
        hammer.await.unwrap();
    }
    let mut contention = 0.0;
    for (daemon, stop, task) in replicas {
        contention += daemon.metrics.counter("rel04d_write_conflicts_total", &[])
            + daemon.metrics.counter("rel04d_claims_busy_total", &[]);
        let _ = stop.send(());
        task.await.unwrap().unwrap();
    }
    assert!(
        contention > 0.0,
        "the replicas never competed for a control; the test proved nothing"
    );

    // A final sweep brings every control up to date with the final answers.
    let settings = settings(&dir, &database_url, config);
    let setup = AwsSetup::local(&settings.aws, REGION, endpoints).await;
    let last = Daemon::build(settings, Some(setup)).await.unwrap();
    last.run_once().await;

    let transitions = last
        .store
        .list_transitions(&Filter::parse("sort:id limit:100000").unwrap())
        .await
        .unwrap();
    // Every chain starts at tbd and records each change exactly once.
    let chains = crate::common::db::valid_chains(&transitions);
    assert_eq!(chains.len(), with_lens.len());
    let mut changes = 0;
    for (workload_id, chain) in &chains {
        changes += chain.len();
        let control = last
            .store
            .control_by_workload_id(workload_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Some(control.state.as_str()),
            chain.last().map(|(_, to)| to.as_str()),
            "{workload_id}"
        );
        let answer = sim.workload(workload_id).unwrap().answer;
        assert_eq!(
            control.state,
            expected_state(&answer),
            "{workload_id} ends in the state its answer implies"
        );
    }
    assert!(
        changes > with_lens.len() * 2,
        "answers changed during the run"
    );
    server.shutdown().await;
}
