//! The demo's questions besides REL 04: REL 05 of the Framework and a small custom
//! lens of two questions, seeded into the simulator and answered differently per
//! workload, so the demo shows one control per (workload, lens, question).

use rel04d_simulator::{AnswerSpec, ChoiceDef, LensDef, PillarDef, QuestionDef, Simulator};

/// The demo's custom lens (a custom lens is named by its ARN).
pub const DATA_LENS: &str = "arn:aws:wellarchitected:us-east-1:111122223333:lens/demo-data";
const REL05: &str = "mitigate-interaction-failure";
const REL05_TIMEOUTS: &str = "rel_mitigate_interaction_failure_client_timeouts";
const REL05_RETRIES: &str = "rel_mitigate_interaction_failure_limit_retries";
const RETENTION: &str = "data-retention";
const KEEP_BACKUPS: &str = "retention_keep_backups";
const TEST_RESTORES: &str = "retention_test_restores";
const DEPLOY: &str = "deploy-safety";
const CANARY: &str = "deploy_canary";
const ROLLBACK: &str = "deploy_rollback";

/// Keys of `[policies.global]` for REL 05 and the custom lens's questions
/// (REL 05's policy is Guardrails' `rel05`; the custom ones are named by
/// `[[controls]]` below).
pub const GLOBAL_POLICIES: &str = r#"rel05 = "Check: Choices based on sub policies"
"rel05/rel_mitigate_interaction_failure_client_timeouts" = "True"
"rel05/rel_mitigate_interaction_failure_limit_retries" = "True"
retention = "Check: Choices based on sub policies"
"retention/retention_keep_backups" = "True"
"retention/retention_test_restores" = "True"
deploy = "Check: Choices based on sub policies"
"deploy/deploy_canary" = "True"
"#;

/// The `[[controls]]` entries: REL 04 and REL 05 (one ListAnswers for both), and
/// both questions of the custom lens.
pub fn controls_config() -> String {
    format!(
        r#"
[[controls]]
lens = "wellarchitected"
questions = ["prevent-interaction-failure", "{REL05}"]

[[controls]]
lens = "{DATA_LENS}"
questions = ["{RETENTION}", "{DEPLOY}"]
names = {{ "{RETENTION}" = "retention", "{DEPLOY}" = "deploy" }}
"#
    )
}

/// Adds the custom lens, associates it with every workload reviewed against the
/// Framework, and answers REL 05 and the custom questions: the i-th such workload
/// gets the i-th answers of a short cycle, so every state shows up.
pub fn seed(sim: &Simulator) -> anyhow::Result<()> {
    sim.add_lens(data_lens())?;
    let reviewed = sim
        .workloads()
        .into_iter()
        .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"));
    for (i, w) in reviewed.enumerate() {
        let mut lenses = w.lenses.clone();
        lenses.push(DATA_LENS.to_owned());
        sim.set_lenses(&w.id, lenses)?;
        let answers: [(&str, &str, &[&str]); 3] = match i % 3 {
            0 => [
                ("wellarchitected", REL05, &[REL05_TIMEOUTS, REL05_RETRIES]),
                (DATA_LENS, RETENTION, &[KEEP_BACKUPS, TEST_RESTORES]),
                (DATA_LENS, DEPLOY, &[CANARY, ROLLBACK]),
            ],
            1 => [
                ("wellarchitected", REL05, &[REL05_TIMEOUTS]),
                (DATA_LENS, RETENTION, &[KEEP_BACKUPS]),
                (DATA_LENS, DEPLOY, &[CANARY]),
            ],
            _ => [
                ("wellarchitected", REL05, &[REL05_TIMEOUTS, REL05_RETRIES]),
                (DATA_LENS, RETENTION, &[KEEP_BACKUPS, TEST_RESTORES]),
                (DATA_LENS, DEPLOY, &[ROLLBACK]),
            ],
        };
        for (lens, question, selected) in answers {
            let answer = AnswerSpec {
                selected: selected.iter().map(|c| (*c).to_owned()).collect(),
                not_applicable: Vec::new(),
                is_applicable: true,
            };
            sim.set_question_answer(&w.id, lens, question, answer)?;
        }
    }
    Ok(())
}

fn choice(id: &str, title: &str, none_of_these: bool) -> ChoiceDef {
    ChoiceDef {
        id: id.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        none_of_these,
    }
}

fn question(id: &str, title: &str, choices: Vec<ChoiceDef>) -> QuestionDef {
    QuestionDef {
        id: id.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        choices,
    }
}

fn data_lens() -> LensDef {
    LensDef {
        alias: DATA_LENS.to_owned(),
        name: "Data handling (demo)".to_owned(),
        description: String::new(),
        version: "1".to_owned(),
        previous_version: None,
        pillars: vec![PillarDef {
            id: "data".to_owned(),
            name: "Data".to_owned(),
            questions: vec![
                question(
                    RETENTION,
                    "How do you retain data?",
                    vec![
                        choice(KEEP_BACKUPS, "Keep backups", false),
                        choice(TEST_RESTORES, "Test restores regularly", false),
                        choice("retention_no", "None of these", true),
                    ],
                ),
                question(
                    DEPLOY,
                    "How do you deploy safely?",
                    vec![
                        choice(CANARY, "Deploy to a canary first", false),
                        choice(ROLLBACK, "Roll back automatically", false),
                        choice("deploy_no", "None of these", true),
                    ],
                ),
            ],
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_fleet_answers_every_demo_question() {
        let sim = Simulator::generated("us-east-1", 6, 7);
        seed(&sim).unwrap();
        let reviewed: Vec<_> = sim
            .workloads()
            .into_iter()
            .filter(|w| w.lenses.iter().any(|l| l == "wellarchitected"))
            .collect();
        assert!(!reviewed.is_empty());
        assert!(
            reviewed
                .iter()
                .all(|w| w.lenses.iter().any(|l| l == DATA_LENS))
        );
    }

    #[test]
    fn the_demo_configuration_is_valid() {
        let config = format!(
            "[policies.global]\nrel04 = \"Skip\"\n{GLOBAL_POLICIES}{}",
            controls_config()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.toml");
        std::fs::write(&path, config).unwrap();
        let settings = crate::config::Settings::load_with(Some(&path), Some(Default::default()))
            .expect("the demo's controls and policies are valid");
        let controls = crate::config::Controls::check(&settings.controls).unwrap();
        assert_eq!(controls.listed().len(), 4);
    }
}
