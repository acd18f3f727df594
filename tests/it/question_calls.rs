//! What a sweep costs per workload as the questions governed grow (issue 23
//! item 2): 1 question of a lens, 13 (one pillar) and 57 (the whole lens), on a
//! custom lens the Framework's size (six pillars, 57 questions), counted by the
//! simulator. One GetAnswer for one question; one ListAnswers page for a pillar
//! once its pillar is known; two pages (50 a page) for the whole lens.

use crate::common::*;
use rel04d_simulator::{LensDef, Simulator};

const LENS: &str = "arn:aws:wellarchitected:us-east-1:111122223333:lens/big";
const PILLARS: [usize; 6] = [13, 9, 9, 9, 9, 8];
const WORKLOADS: usize = 20;

fn question_id(pillar: usize, n: usize) -> String {
    format!("p{pillar}-q{n:02}")
}

/// 57 questions in six pillars, the first of 13; each question two practices
/// and "None of these".
fn big_lens() -> LensDef {
    let pillars: Vec<serde_json::Value> = PILLARS
        .iter()
        .enumerate()
        .map(|(p, count)| {
            let questions: Vec<serde_json::Value> = (0..*count)
                .map(|n| {
                    let id = question_id(p, n);
                    serde_json::json!({"id": id, "title": format!("Question {id}"), "choices": [
                        {"id": format!("{id}_a"), "title": "Practice A"},
                        {"id": format!("{id}_b"), "title": "Practice B"},
                        {"id": format!("{id}_no"), "title": "None of these", "none_of_these": true},
                    ]})
                })
                .collect();
            serde_json::json!({"id": format!("pillar{p}"), "name": format!("Pillar {p}"), "questions": questions})
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "alias": LENS, "name": "Big", "version": "1", "pillars": pillars,
    }))
    .expect("a valid lens")
}

/// Calls per workload in the first and in a steady (third) sweep with
/// `questions` of the lens governed, each checked ("Check: None of these").
async fn calls_per_workload(questions: &[String]) -> (f64, f64) {
    let sim = Simulator::new(REGION);
    sim.add_lens(big_lens()).unwrap();
    for n in 0..WORKLOADS {
        let mut spec = workload(&format!("workload-{n}"), answer(&ALL_FOUR, &[], true));
        spec.lenses.push(LENS.to_owned());
        sim.add_workload(spec);
    }
    let listed: Vec<String> = questions.iter().map(|q| format!("\"{q}\"")).collect();
    let mut config = format!(
        "[[controls]]\nlens = \"{LENS}\"\nquestions = [{}]\n\n[policies.global]\n",
        listed.join(", ")
    );
    let names: Vec<String> = if questions == ["*"] {
        PILLARS
            .iter()
            .enumerate()
            .flat_map(|(p, count)| (0..*count).map(move |n| question_id(p, n)))
            .collect()
    } else {
        questions.to_vec()
    };
    for name in &names {
        config.push_str(&format!("\"{name}\" = \"Check: None of these\"\n"));
    }
    let env = TestEnv::start(sim, &config).await;
    let per_workload = |sim: &Simulator| sim.calls().total as f64 / WORKLOADS as f64;
    env.sweep().await;
    let first = per_workload(&env.sim);
    assert_eq!(
        env.controls(&format!("lens:{LENS}")).await.len(),
        WORKLOADS * names.len(),
        "one control per workload and question"
    );
    env.sweep().await;
    env.sim.reset_calls();
    env.sweep().await;
    let steady = per_workload(&env.sim);
    env.stop().await;
    (first, steady)
}

#[tokio::test]
async fn calls_per_workload_per_sweep_at_1_13_and_57_questions() {
    let one = vec![question_id(0, 0)];
    let pillar: Vec<String> = (0..PILLARS[0]).map(|n| question_id(0, n)).collect();
    let every = vec!["*".to_owned()];
    let mut measured = Vec::new();
    for questions in [&one, &pillar, &every] {
        measured.push(calls_per_workload(questions).await);
    }
    println!(
        "calls per workload per sweep (first, steady): 1 question {:?}, 13 {:?}, 57 {:?}",
        measured[0], measured[1], measured[2]
    );
    // ListWorkloads adds 1 page for the 20 workloads: 0.05 per workload.
    let listing = 1.0 / WORKLOADS as f64;
    assert_eq!(measured[0], (1.0 + listing, 1.0 + listing), "one GetAnswer");
    assert_eq!(
        measured[1],
        (2.0 + listing, 1.0 + listing),
        "the whole lens once (two pages), then its pillar alone (one page)"
    );
    assert_eq!(
        measured[2],
        (2.0 + listing, 2.0 + listing),
        "two pages of 50"
    );
}
