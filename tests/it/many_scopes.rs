//! Many scopes sweeping at once: what bounds a replica's sweeps is the workloads
//! they hold, not a count of sweeps, so scopes whose calls are slow or hang do
//! not keep the others from sweeping.

use std::time::Duration;

use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d_simulator::{Faults, Simulator};

/// More than the 16 sweeps a replica once ran at a time.
const HANGING: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_whose_calls_hang_do_not_keep_the_others_from_sweeping() {
    let regions: Vec<String> = (0..=HANGING).map(|n| format!("test-r-{n:02}")).collect();
    let sims: Vec<Simulator> = regions.iter().map(|r| Simulator::new(r)).collect();
    let ids: Vec<String> = sims
        .iter()
        .map(|sim| {
            sim.add_workload(workload("fleet", answer(&ALL_FOUR, &[], true)))
                .id
        })
        .collect();
    // Every region but the last hangs on every call, for longer than the test.
    for sim in &sims[..HANGING] {
        sim.set_faults(Faults {
            latency: Duration::from_secs(600),
            ..Faults::default()
        });
    }
    let server = Simulator::serve_regions("127.0.0.1:0".parse().unwrap(), &sims)
        .await
        .unwrap();
    let quoted: Vec<String> = regions.iter().map(|r| format!("{r:?}")).collect();
    let config = format!(
        "[aws]\nregions = [{}]\ncall_timeout = \"300s\"\n\
         [schedule]\ninterval = \"1h\"\njitter = \"0s\"\n\
         [policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n",
        quoted.join(", ")
    );
    let d =
        RunningDaemon::start_on(sims[HANGING].clone(), server, &config, Endpoints::default()).await;
    // A sweep takes its scope's lease as it starts: every scope's sweep runs,
    // the hanging ones included (16 at a time, the 17th never began).
    d.wait_for("every scope sweeping", Duration::from_secs(60), || async {
        let mut started = 0;
        for region in &regions {
            let lease = format!("sweep:ambient/{region}");
            started += usize::from(d.daemon.store.lease_expiry(&lease).await.unwrap().is_some());
        }
        started == regions.len()
    })
    .await;
    let last = ids.last().unwrap();
    d.wait_for(
        "the region that answers swept",
        Duration::from_secs(60),
        || async { d.state_of(last).await.as_deref() == Some("ok") },
    )
    .await;
    for sim in &sims[..HANGING] {
        sim.set_faults(Faults::default());
    }
    d.stop().await;
}

/// A sweep whose scope holds more of the budget than there is: its listing
/// waits for units that only its own finished evaluations can give back. They
/// used to be given back only when the sweep looked at them, which it did only
/// while it had more than a page outstanding, not while it waited for the next
/// page: each side waited for the other, and a fleet of a thousand slow scopes
/// (20 units each, 4,096 in all) stopped sweeping with every call idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_holding_the_whole_budget_gives_back_what_its_evaluations_finished() {
    const WORKLOADS: usize = 30;
    // 10 calls/s: pages of 5 (`sweep::budget::page_size`). Two pages fill the
    // budget, and the listing holds them before it asks for a third.
    let env = one_scope_of(WORKLOADS, "max_requests_per_second = 10").await;
    let budget = rel04d::sweep::SweepBudget::new(2 * rel04d::sweep::budget::MIN_PAGE);
    let scope = &env.daemon.scopes[0];
    // Not a measure of speed: ~3.5 s of calls at 10/s, and only a sweep that
    // waits on itself takes a minute.
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        rel04d::sweep::sweep(scope, &env.daemon.store, &budget),
    )
    .await
    .expect("the sweep finished (it waited on its own finished evaluations)");
    assert_eq!(
        (report.listed, report.evaluated, report.failed),
        (WORKLOADS, WORKLOADS, 0)
    );
    assert_eq!(
        budget.available(),
        2 * rel04d::sweep::budget::MIN_PAGE,
        "every unit given back"
    );
    env.stop().await;
}

/// An idle scope keeps one task, not `aws.max_concurrency` workers (32,000
/// idle tasks at a thousand scopes of 32). Workers
/// start with work (as many as it needs, up to the limit) and stop without
/// (not counted here: the HTTP connections they opened keep tasks of their own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_scopes_keep_no_workers_and_busy_ones_start_them() {
    let env = one_scope_of(40, "max_concurrency = 32").await;
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let before = tasks();
    let more = env.daemon.start_workers();
    assert_eq!(more.len(), 1, "one task for the scope");
    assert!(
        tasks() <= before + 1,
        "an idle scope started {} tasks",
        tasks() - before
    );
    // Workers start for work (`TestEnv`'s and these serve the same queue).
    let reports = env.sweep().await;
    assert_eq!(reports[0].evaluated, 40);
    env.daemon.stop_workers(more).await;
    env.stop().await;
}

/// One scope of `workloads` workloads, all answered, with `aws` (one line of
/// `[aws]` settings).
async fn one_scope_of(workloads: usize, aws: &str) -> TestEnv {
    let sim = Simulator::new(REGION);
    for n in 0..workloads {
        sim.add_workload(workload(
            &format!("workload-{n}"),
            answer(&ALL_FOUR, &[], true),
        ));
    }
    let config = format!(
        "[aws]\n{aws}\n[policies.global]\nrel04 = \"Check: Choices based on sub policies\"\nidempotent = \"True\"\n"
    );
    TestEnv::start(sim, &config).await
}
