//! The daemon against the simulator over HTTP, through the real SDK, into a real
//! database: sweeps land controls in the spec's states and write transitions only
//! for real changes.

use crate::common::*;
use rel04d::control::ControlState;
use rel04d_simulator::{Faults, Simulator};

struct Case {
    name: &'static str,
    policies: &'static str,
    answer: rel04d_simulator::AnswerSpec,
    expected: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "skip",
            policies: r#"rel04 = "Skip""#,
            answer: answer(&ALL_FOUR, &[], true),
            expected: "skipped",
        },
        Case {
            name: "all-sub-policies-skipped",
            policies: r#"rel04 = "Check: Choices based on sub policies""#,
            answer: answer(&ALL_FOUR, &[], true),
            expected: "invalid",
        },
        Case {
            name: "all-four-selected",
            policies: ALL_TRUE,
            answer: answer(&ALL_FOUR, &[], true),
            expected: "ok",
        },
        Case {
            name: "two-missing",
            policies: ALL_TRUE,
            answer: answer(&[IDENTIFY, LOOSELY], &[], true),
            expected: "alarm",
        },
        Case {
            name: "true-on-not-applicable-choice",
            policies: ALL_TRUE,
            answer: answer(&[LOOSELY, IDEMPOTENT, CONSTANT], &[IDENTIFY], true),
            expected: "alarm",
        },
        Case {
            name: "false-but-selected",
            policies: r#"rel04 = "Check: Choices based on sub policies"
identify = "True"
idempotent = "False""#,
            answer: answer(&[IDENTIFY, IDEMPOTENT], &[], true),
            expected: "alarm",
        },
        Case {
            name: "false-and-not-applicable",
            policies: r#"rel04 = "Check: Choices based on sub policies"
identify = "True"
idempotent = "False""#,
            answer: answer(&[IDENTIFY], &[IDEMPOTENT], true),
            expected: "ok",
        },
        Case {
            name: "true-but-question-not-applicable",
            policies: ALL_TRUE,
            answer: answer(&[], &[], false),
            expected: "alarm",
        },
        Case {
            name: "none-of-these-selected",
            policies: r#"rel04 = "Check: None of these""#,
            answer: answer(&[NONE], &[], true),
            expected: "ok",
        },
        Case {
            name: "none-of-these-but-idempotent",
            policies: r#"rel04 = "Check: None of these""#,
            answer: answer(&[NONE, IDEMPOTENT], &[], true),
            expected: "alarm",
        },
        Case {
            name: "does-not-apply",
            policies: r#"rel04 = "Check: Question does not apply to this workload""#,
            answer: answer(&[], &[], false),
            expected: "ok",
        },
        Case {
            name: "does-not-apply-but-answered",
            policies: r#"rel04 = "Check: Question does not apply to this workload""#,
            answer: answer(&[IDENTIFY], &[], true),
            expected: "alarm",
        },
        Case {
            name: "true-and-none-of-these",
            policies: ALL_TRUE,
            answer: answer(&[IDENTIFY, LOOSELY, IDEMPOTENT, CONSTANT, NONE], &[], true),
            expected: "alarm",
        },
    ]
}

#[tokio::test]
async fn a_matrix_of_answers_and_policies_lands_in_the_spec_states() {
    let sim = Simulator::new(REGION);
    let mut config = String::new();
    let mut expected = Vec::new();
    for case in cases() {
        let info = sim.add_workload(workload(case.name, case.answer));
        config.push_str(&format!(
            "[[policies.settings]]\nscope = \"workload-name:{}\"\n{}\n\n",
            case.name, case.policies
        ));
        expected.push((info.id, case.name, case.expected));
    }
    let env = TestEnv::start(sim, &config).await;
    let reports = env.sweep().await;
    assert_eq!(reports[0].listed, expected.len());
    assert_eq!(reports[0].failed, 0);
    for (id, name, state) in &expected {
        assert_eq!(env.state_of(id).await, *state, "case {name}");
    }
    // Every control went through tbd: two transitions each, the first from nothing.
    let transitions = env.transitions().await;
    assert_eq!(transitions.len(), expected.len() * 2);
    assert_eq!(
        transitions
            .iter()
            .filter(|t| t.from_state.is_none() && t.to_state == "tbd")
            .count(),
        expected.len()
    );
    assert!(transitions.iter().all(|t| t.trigger == "sweep"));
    env.stop().await;
}

#[tokio::test]
async fn unchanged_sweeps_write_nothing_and_one_change_writes_one_transition() {
    let sim = Simulator::generated(REGION, 60, 11);
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let after_first = env.transitions().await.len();
    assert!(after_first > 0);

    env.sweep().await;
    assert_eq!(
        env.transitions().await.len(),
        after_first,
        "an unchanged second sweep writes no transition"
    );

    // Break one ok workload.
    let ok = env.controls("state:ok limit:1").await;
    let victim = &ok[0];
    env.sim
        .set_answer(&victim.workload_id, answer(&[IDENTIFY], &[], true))
        .unwrap();
    env.sweep().await;
    let transitions = env.transitions().await;
    assert_eq!(transitions.len(), after_first + 1);
    let newest = &transitions[0];
    assert_eq!(newest.workload_id, victim.workload_id);
    assert_eq!(
        (newest.from_state.as_deref(), newest.to_state.as_str()),
        (Some("ok"), "alarm")
    );
    assert_eq!(
        newest.reason,
        "Not selected: Implement loosely coupled dependencies, Make mutating operations idempotent, Do constant work"
    );
    env.stop().await;
}

#[tokio::test]
async fn deleted_workloads_and_removed_lenses_become_removed_and_a_returning_lens_restarts_at_tbd()
{
    let sim = Simulator::new(REGION);
    let [deleted, delensed, kept] = [
        sim.add_workload(workload("deleted", answer(&ALL_FOUR, &[], true))),
        sim.add_workload(workload("delensed", answer(&ALL_FOUR, &[], true))),
        sim.add_workload(workload("kept", answer(&ALL_FOUR, &[], true))),
    ];
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    assert_eq!(env.controls("").await.len(), 3);

    env.sim.delete_workload(&deleted.id).unwrap();
    env.sim
        .set_lenses(&delensed.id, vec!["serverless".into()])
        .unwrap();
    let reports = env.sweep().await;
    assert_eq!(reports[0].removed, 2);
    assert_eq!(env.state_of(&deleted.id).await, "removed");
    assert_eq!(env.state_of(&delensed.id).await, "removed");
    assert_eq!(env.state_of(&kept.id).await, "ok");
    let active: Vec<String> = env
        .controls("")
        .await
        .into_iter()
        .map(|c| c.workload_id)
        .collect();
    assert_eq!(
        active,
        vec![kept.id.clone()],
        "removed controls are hidden by default"
    );
    assert_eq!(env.controls("state:removed").await.len(), 2);

    let before = env.transitions().await.len();
    env.sweep().await;
    assert_eq!(
        env.transitions().await.len(),
        before,
        "removal is recorded once"
    );

    env.sim
        .set_lenses(&delensed.id, vec!["wellarchitected".into()])
        .unwrap();
    env.sweep().await;
    let states: Vec<(Option<String>, String)> = env
        .transitions()
        .await
        .into_iter()
        .filter(|t| t.workload_id == delensed.id)
        .map(|t| (t.from_state, t.to_state))
        .collect();
    assert_eq!(
        states,
        [
            (Some("tbd".into()), "ok".into()),
            (Some("removed".into()), "tbd".into()),
            (Some("ok".into()), "removed".into()),
            (Some("tbd".into()), "ok".into()),
            (None, "tbd".into()),
        ]
    );
    env.stop().await;
}

/// The listing said the lens was applied, but it was removed before GetAnswer ran:
/// the 404 is confirmed by describing the workload and the control is removed,
/// not errored. Every call is slowed by 1.5 s and the lens is removed as soon as
/// the listing has been answered, so GetAnswer always runs after the removal.
#[tokio::test]
async fn a_lens_removed_between_listing_and_get_answer_removes_the_control() {
    let sim = Simulator::new(REGION);
    let raced = sim.add_workload(workload("raced", answer(&ALL_FOUR, &[], true)));
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sim.set_faults(Faults {
        latency: std::time::Duration::from_millis(1500),
        ..Faults::default()
    });
    let remove_lens_after_listing = async {
        while env.sim.calls().operation("ListWorkloads").total == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        env.sim
            .set_lenses(&raced.id, vec!["serverless".into()])
            .unwrap();
    };
    let (reports, ()) = tokio::join!(env.sweep(), remove_lens_after_listing);

    assert_eq!(reports[0].removed, 1);
    assert_eq!(env.state_of(&raced.id).await, "removed");
    let calls = env.sim.calls();
    assert_eq!(calls.operation("GetAnswer").not_found, 1, "{calls:?}");
    assert_eq!(calls.operation("GetWorkload").ok, 1, "{calls:?}");
    let last = env.transitions().await.into_iter().next().unwrap();
    assert_eq!(
        (last.from_state.as_deref(), last.to_state.as_str()),
        (Some("tbd"), "removed")
    );
    env.stop().await;
}

/// GetAnswer's 404 while the workload still has the lens (described to confirm)
/// means the lens lacks the question: an error on that control, not a removal.
#[tokio::test]
async fn a_lens_without_the_question_errors_the_control_instead_of_removing_it() {
    let sim = Simulator::new(REGION);
    let missing = sim.add_workload(workload("missing", answer(&ALL_FOUR, &[], true)));
    let fine = sim.add_workload(workload("fine", answer(&ALL_FOUR, &[], true)));
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sim.set_faults(Faults {
        missing_question_workloads: [missing.id.clone()].into(),
        ..Faults::default()
    });
    let reports = env.sweep().await;

    assert_eq!(reports[0].removed, 0);
    assert_eq!(env.state_of(&fine.id).await, "ok");
    let control = env
        .daemon
        .store
        .control_by_workload_id(&missing.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(control.state, "error");
    assert!(
        control.reason.contains("the question is not in the lens"),
        "{}",
        control.reason
    );
    assert_eq!(env.sim.calls().operation("GetWorkload").ok, 1);
    env.stop().await;
}

#[tokio::test]
async fn a_throttling_storm_ends_with_no_error_and_no_spurious_transition() {
    let sim = Simulator::generated(REGION, 300, 5);
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let calm: Vec<(String, ControlState)> = env
        .controls("")
        .await
        .into_iter()
        .map(|c| (c.workload_id, c.state))
        .collect();
    let before = env.transitions().await.len();

    env.sim.set_faults(Faults {
        throttle_probability: 0.3,
        seed: 99,
        ..Faults::default()
    });
    env.sim.reset_calls();
    let reports = env.sweep().await;
    assert_eq!(reports[0].failed, 0);
    assert!(
        env.sim.calls().outcomes.throttled > 50,
        "the storm really happened: {:?}",
        env.sim.calls().outcomes
    );
    assert_eq!(
        env.transitions().await.len(),
        before,
        "no spurious transition"
    );
    assert!(
        env.controls("state:error").await.is_empty(),
        "no control in error"
    );
    let stormy: Vec<(String, ControlState)> = env
        .controls("")
        .await
        .into_iter()
        .map(|c| (c.workload_id, c.state))
        .collect();
    assert_eq!(stormy, calm);
    let retries = env.daemon.metrics.render();
    assert!(
        retries.contains("rel04d_aws_retries_total{operation=\"GetAnswer\",kind=\"throttled\"}"),
        "{retries}"
    );
    env.stop().await;
}

#[tokio::test]
async fn access_denied_on_one_workload_errors_only_that_control() {
    let sim = Simulator::new(REGION);
    let infos = add_all(
        &sim,
        (0..5)
            .map(|i| workload(&format!("workload-{i}"), answer(&ALL_FOUR, &[], true)))
            .collect(),
    );
    sim.set_faults(Faults {
        deny_workloads: [infos[2].id.clone()].into(),
        ..Faults::default()
    });
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    for (i, info) in infos.iter().enumerate() {
        let control = env
            .daemon
            .store
            .control_by_workload_id(&info.id)
            .await
            .unwrap()
            .unwrap();
        if i == 2 {
            assert_eq!(control.state, "error");
            assert!(
                control.reason.contains("AccessDeniedException"),
                "{}",
                control.reason
            );
            assert_eq!(
                control.details.value()["error"]
                    .as_str()
                    .map(|e| e.contains("GetAnswer")),
                Some(true)
            );
        } else {
            assert_eq!(control.state, "ok", "{}", info.name);
        }
    }
    env.stop().await;
}

#[tokio::test]
async fn tag_policies_are_read_only_when_enabled_and_bad_tag_values_are_invalid() {
    let sim = Simulator::new(REGION);
    let mut tagged = workload("tagged", answer(&[IDENTIFY, LOOSELY, CONSTANT], &[], true));
    tagged
        .tags
        .insert("rel04d:idempotent".into(), "False".into());
    let mut bad = workload("bad", answer(&ALL_FOUR, &[], true));
    bad.tags
        .insert("rel04d:constant_work".into(), "maybe".into());
    let [tagged, bad] = [sim.add_workload(tagged), sim.add_workload(bad)];

    let env = TestEnv::start(sim.clone(), &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    assert_eq!(
        env.state_of(&tagged.id).await,
        "alarm",
        "tags ignored when disabled"
    );
    assert_eq!(env.state_of(&bad.id).await, "ok");
    assert_eq!(
        env.sim.calls().operation("GetWorkload").total,
        0,
        "no GetWorkload without tag policies"
    );
    env.stop().await;

    let env = TestEnv::start(
        sim,
        &format!(
            "[policies.global]\n{ALL_TRUE}\n[policies.tags]\nenabled = true\nprefix = \"rel04d:\"\n"
        ),
    )
    .await;
    env.sweep().await;
    assert_eq!(env.state_of(&tagged.id).await, "ok");
    let control = env
        .daemon
        .store
        .control_by_workload_id(&bad.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(control.state, "invalid");
    assert!(
        control
            .reason
            .contains("\"maybe\" for policy constant_work"),
        "{}",
        control.reason
    );
    assert!(
        control.reason.contains("tag rel04d:constant_work"),
        "{}",
        control.reason
    );
    env.stop().await;
}

#[tokio::test]
async fn a_sweep_costs_one_call_per_workload_plus_paging() {
    let sim = Simulator::generated(REGION, 230, 3);
    let with_lens = sim
        .workloads()
        .iter()
        .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"))
        .count();
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let calls = env.sim.calls();
    assert_eq!(
        calls.operation("ListWorkloads").total,
        5,
        "230 workloads in pages of 50"
    );
    assert_eq!(calls.operation("GetAnswer").total as usize, with_lens);
    assert_eq!(calls.total as usize, with_lens + 5);
    env.stop().await;
}

#[tokio::test]
async fn enforce_turns_an_alarm_into_ok_and_a_second_pass_writes_nothing() {
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload(
        "enforced",
        answer(&[IDENTIFY, NONE], &[LOOSELY], true),
    ));
    let config = r#"[policies.global]
rel04 = "Enforce: Choices based on sub policies"
identify = "True"
loosely_coupled = "True"
idempotent = "False"
"#;
    let env = TestEnv::start(sim, config).await;
    env.sweep().await;
    assert_eq!(env.state_of(&w.id).await, "ok");
    assert_eq!(env.sim.calls().operation("UpdateAnswer").total, 1);
    let after = env.sim.workload(&w.id).unwrap().answer;
    let mut selected = after.selected.clone();
    selected.sort();
    assert_eq!(
        selected,
        [IDENTIFY, LOOSELY],
        "only the decided choices changed"
    );
    assert!(after.not_applicable.is_empty());

    let transitions = env.transitions().await;
    let enforced = &transitions[0];
    assert_eq!(
        (enforced.from_state.as_deref(), enforced.to_state.as_str()),
        (Some("alarm"), "ok")
    );
    assert_eq!(enforced.action.as_deref(), Some("enforced"));
    let changes: Vec<String> = serde_json::from_value(enforced.changes.clone().unwrap()).unwrap();
    assert_eq!(
        changes,
        [
            "rel_prevent_interaction_failure_loosely_coupled_system: NOT_APPLICABLE -> SELECTED",
            "rel_prevent_interaction_failure_no: SELECTED -> UNSELECTED",
        ]
    );
    assert_eq!(
        transitions[1].to_state, "alarm",
        "the mismatch itself is recorded first"
    );

    env.sweep().await;
    assert_eq!(
        env.sim.calls().operation("UpdateAnswer").total,
        1,
        "a matching answer is never written"
    );
    assert_eq!(env.transitions().await.len(), transitions.len());
    env.stop().await;
}

#[tokio::test]
async fn an_enforce_that_keeps_failing_settles_in_error_without_new_transitions() {
    let sim = Simulator::new(REGION);
    let w = sim.add_workload(workload("locked-down", answer(&[IDENTIFY], &[], true)));
    sim.set_faults(Faults {
        deny_operations: ["UpdateAnswer".to_owned()].into(),
        ..Faults::default()
    });
    let config = "[policies.global]\nrel04 = \"Enforce: Choices based on sub policies\"\nidempotent = \"True\"\n";
    let env = TestEnv::start(sim, config).await;
    env.sweep().await;
    let control = env
        .daemon
        .store
        .control_by_workload_id(&w.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(control.state, "error");
    assert!(
        control
            .reason
            .contains("enforce failed: UpdateAnswer failed: AccessDeniedException"),
        "{}",
        control.reason
    );
    let first = env.transitions().await;
    let states: Vec<&str> = first.iter().rev().map(|t| t.to_state.as_str()).collect();
    assert_eq!(states, ["tbd", "alarm", "error"]);
    assert!(
        first.iter().all(|t| t.action.is_none()),
        "a refused write is not recorded as enforced"
    );

    for _ in 0..2 {
        env.sweep().await;
    }
    assert_eq!(
        env.transitions().await.len(),
        first.len(),
        "a persistent failure records nothing new"
    );
    env.stop().await;
}
