//! The whole Framework for the 57-question sweep: a `wellarchitected` lens for the
//! simulator (`--framework-file`) with every question `src/control/framework_names.json`
//! numbers, and the daemon's configuration governing all of them.
//!
//! The simulator's own excerpt carries three Reliability questions (REL 04 among
//! them) with the Tool's wording; they are kept as they are. Every other question
//! gets its Guardrails choice ids where the file has them (else four of its own)
//! and a "None of these": the question's shape is what a sweep pays for, not its
//! wording.

use serde_json::{Value, json};

const NAMES: &str = include_str!("../../src/control/framework_names.json");
const EXCERPT: &str = include_str!("../../crates/wa-simulator/src/data/wellarchitected.json");

/// The Framework's pillars: their number prefix, the Tool's id and name.
const PILLARS: [(&str, &str, &str); 6] = [
    ("ops", "operationalExcellence", "Operational Excellence"),
    ("sec", "security", "Security"),
    ("rel", "reliability", "Reliability"),
    ("perf", "performance", "Performance Efficiency"),
    ("cost", "costOptimization", "Cost Optimization"),
    ("sus", "sustainability", "Sustainability"),
];

/// One Framework question: its number (`rel05`), QuestionId and policy name
/// (Guardrails' where it has one, else the QuestionId; REL 04's is `rel04`).
pub struct Question {
    pub number: String,
    pub id: String,
    pub policy: String,
}

pub fn questions() -> Vec<Question> {
    let names: Value = serde_json::from_str(NAMES).unwrap();
    names["framework_questions"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(number, id)| {
            let id = id.as_str().unwrap().to_owned();
            let policy = names["guardrails"][&id]["name"]
                .as_str()
                .map_or_else(|| id.clone(), str::to_owned);
            Question {
                number: number.clone(),
                id,
                policy,
            }
        })
        .collect()
}

/// The `wellarchitected` lens with all 57 questions, as JSON for the simulator.
pub fn lens() -> Value {
    let names: Value = serde_json::from_str(NAMES).unwrap();
    let mut excerpt: Value = serde_json::from_str(EXCERPT).unwrap();
    let kept: Vec<Value> = excerpt["pillars"][0]["questions"]
        .as_array()
        .unwrap()
        .clone();
    let all = questions();
    let pillars: Vec<Value> = PILLARS
        .iter()
        .map(|(prefix, id, name)| {
            let questions: Vec<Value> = all
                .iter()
                .filter(|q| {
                    q.number.starts_with(prefix)
                        && q.number[prefix.len()..].bytes().all(|b| b.is_ascii_digit())
                })
                .map(|q| {
                    if let Some(kept) = kept.iter().find(|k| k["id"] == q.id.as_str()) {
                        return kept.clone();
                    }
                    let mut choices: Vec<Value> = match names["guardrails"][&q.id]["choices"]
                        .as_object()
                    {
                        Some(choices) => choices
                            .keys()
                            .map(|c| json!({"id": c, "title": format!("Practice {c}")}))
                            .collect(),
                        None => (1..=4)
                            .map(|n| {
                                json!({"id": format!("{}_bp{n}", q.number), "title": format!("Practice {n}")})
                            })
                            .collect(),
                    };
                    choices.push(json!({
                        "id": format!("{}_no", q.number),
                        "title": "None of these",
                        "none_of_these": true,
                    }));
                    json!({"id": q.id, "title": format!("Question {}", q.number), "choices": choices})
                })
                .collect();
            json!({"id": id, "name": name, "questions": questions})
        })
        .collect();
    excerpt["pillars"] = Value::Array(pillars);
    excerpt
}

/// The daemon's configuration: every question of the lens a control, each
/// checked by "None of these" (REL 04 keeps the benchmarks' sub-policies, set in
/// the environment by `run_once`).
pub fn config() -> String {
    let mut config = String::from(
        "[[controls]]\nlens = \"wellarchitected\"\nquestions = [\"*\"]\n\n[policies.global]\n",
    );
    for q in questions().iter().filter(|q| q.policy != "rel04") {
        config.push_str(&format!("\"{}\" = \"Check: None of these\"\n", q.policy));
    }
    config
}
