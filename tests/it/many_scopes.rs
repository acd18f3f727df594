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
