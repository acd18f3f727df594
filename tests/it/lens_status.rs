//! The lens review's status (`LensStatus`) through the daemon: read with
//! `ListLensReviews`, shown in the control's reason and details, filterable.

use crate::common::*;
use rel04d_simulator::Simulator;

#[tokio::test]
async fn a_not_current_lens_review_is_read_on_request_and_shown_in_reason_details_and_filter() {
    let sim = Simulator::generated(REGION, 6, 5);
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let controls = env.controls("").await;
    let target = controls
        .iter()
        .find(|c| !c.is_removed())
        .expect("a control")
        .workload_id
        .clone();
    env.sim
        .set_lens_status(&target, "wellarchitected", "NOT_CURRENT")
        .unwrap();

    // A fleet's sweeps put the first read of lens reviews off (spread over
    // hours), so a sweep right away neither reads nor shows it ...
    env.sweep().await;
    assert_eq!(env.sim.calls().operation("ListLensReviews").total, 0);
    assert!(env.controls("lensStatus:NOT_CURRENT").await.is_empty());

    // ... and a person's request reads it at once.
    env.daemon.evaluate(&target).await.unwrap();
    assert_eq!(env.sim.calls().operation("ListLensReviews").total, 1);
    let flagged = env.controls("lensStatus:NOT_CURRENT").await;
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    let control = &flagged[0];
    assert_eq!(control.workload_id, target);
    assert!(
        control.reason.ends_with("; lens review is NOT_CURRENT"),
        "{}",
        control.reason
    );
    assert_eq!(control.details.value()["lens_status"], "NOT_CURRENT");
    assert_eq!(control.lens_status.as_deref(), Some("NOT_CURRENT"));

    // The next sweep keeps it (remembered, no new read).
    env.sweep().await;
    assert_eq!(env.sim.calls().operation("ListLensReviews").total, 1);
    let kept = env.controls("lensStatus:NOT_CURRENT").await;
    assert!(kept[0].reason.ends_with("; lens review is NOT_CURRENT"));
    env.stop().await;
}
