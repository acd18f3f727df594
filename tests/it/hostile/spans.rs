//! Log lines name what they are about: a retry warning logged while one workload
//! is evaluated carries the `reconcile` span, with that workload's id, in its JSON.

use std::time::Duration;

use rel04d_simulator::{Faults, Simulator};

use crate::common::process::{Proc, rel04d, tail, wait_until};
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_warning_names_the_workload_being_evaluated() {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("throttled", answer(&ALL_FOUR, &[], true)))
        .id;
    // Half the calls throttled, from a fixed seed: some GetAnswer attempts are
    // retried, and ten attempts are plenty for each call to get through.
    sim.set_faults(Faults {
        throttle_probability: 0.5,
        seed: 7,
        ..Faults::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let log = dir.path().join("rel04d.log");

    // Several sweeps' worth of evaluations, one process each, until a GetAnswer
    // was throttled (the seed makes the first one enough; the loop only guards
    // against a change in how the simulator draws its faults).
    let mut retries = Vec::new();
    for _ in 0..5 {
        let mut command = rel04d();
        command
            .args(["run", "--once"])
            .env("AWS_ENDPOINT_URL_WELLARCHITECTED", server.url())
            .env("REL04D__DATABASE__URL", &database_url)
            .env("REL04D__AWS__REGIONS", REGION)
            .env("REL04D__AWS__MAX_ATTEMPTS", "10")
            .env("REL04D__LOG__FORMAT", "json")
            .env("REL04D__LOG__LEVEL", "info")
            .env(
                "REL04D__POLICIES__GLOBAL__REL04",
                "Check: Choices based on sub policies",
            )
            .env("REL04D__POLICIES__GLOBAL__IDEMPOTENT", "True");
        let mut run = Proc::spawn(command, &log);
        wait_until("run --once to finish", Duration::from_secs(120), || {
            let finished = run.exited().is_some();
            async move { finished }
        })
        .await;
        let logged = std::fs::read_to_string(&log).unwrap();
        retries = logged
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|line| line["level"] == "WARN" && line["operation"] == "GetAnswer")
            .collect();
        if !retries.is_empty() {
            break;
        }
    }

    assert!(
        !retries.is_empty(),
        "no throttled GetAnswer was logged as a warning:\n{}",
        tail(&log)
    );
    for line in &retries {
        let span = &line["span"];
        assert_eq!(span["name"], "reconcile", "{line}");
        assert_eq!(span["workload_id"], id.as_str(), "{line}");
        assert_eq!(span["scope"], format!("ambient/{REGION}"), "{line}");
        assert_eq!(span["trigger"], "sweep", "{line}");
        assert_eq!(line["kind"], "throttled", "{line}");
    }
}
