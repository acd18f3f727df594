//! Any question of any lens is a control (issue 23's "Done means"): a custom lens
//! of two questions and REL 04 on one workload, swept by the daemon through the
//! real SDK, then read back with the real `rel04d controls` binary. Per question
//! states, Enforce writing one question only, one ListAnswers per lens per
//! workload, the `lens:` and `question:` filters, and a policy naming a choice the
//! question lacks. On SQLite and (with `REL04D_TEST_POSTGRES_URL`) Postgres.

use crate::common::process;
use crate::common::*;
use rel04d_simulator::{LensDef, Simulator};

pub(crate) const LENS: &str = "arn:aws:wellarchitected:us-east-1:111122223333:lens/data";
pub(crate) const REL04_ID: &str = "prevent-interaction-failure";
pub(crate) const RETENTION: &str = "data-retention";
pub(crate) const DEPLOY: &str = "deploy-safety";
pub(crate) const KEEP_BACKUPS: &str = "retention_keep_backups";
pub(crate) const ENCRYPT: &str = "retention_encrypt";
const CANARY: &str = "deploy_canary";

/// The custom lens: one pillar, two questions (the simulator's seed format).
fn data_lens() -> LensDef {
    serde_json::from_value(serde_json::json!({
        "alias": LENS, "name": "Data handling", "version": "1",
        "pillars": [{"id": "data", "name": "Data", "questions": [
            {"id": RETENTION, "title": "How do you retain data?", "choices": [
                {"id": KEEP_BACKUPS, "title": "Keep backups"},
                {"id": ENCRYPT, "title": "Encrypt backups"},
                {"id": "retention_no", "title": "None of these", "none_of_these": true},
            ]},
            {"id": DEPLOY, "title": "How do you deploy safely?", "choices": [
                {"id": CANARY, "title": "Deploy to a canary first"},
                {"id": "deploy_no", "title": "None of these", "none_of_these": true},
            ]},
        ]}],
    }))
    .expect("a valid lens")
}

/// A simulator with the custom lens and one workload answering REL 04 fully,
/// data-retention with backups only, deploy-safety with a canary: its id.
pub(crate) fn seeded() -> (Simulator, String) {
    let sim = Simulator::new(REGION);
    sim.add_lens(data_lens()).unwrap();
    let mut spec = workload("payments", answer(&ALL_FOUR, &[], true));
    spec.lenses.push(LENS.to_owned());
    let id = sim.add_workload(spec).id;
    sim.set_question_answer(&id, LENS, RETENTION, answer(&[KEEP_BACKUPS], &[], true))
        .unwrap();
    sim.set_question_answer(&id, LENS, DEPLOY, answer(&[CANARY], &[], true))
        .unwrap();
    (sim, id)
}

/// REL 04 (all four required) and both custom questions as controls; the
/// retention policy is `retention` (checked, or as given), deploy-safety skipped.
pub(crate) fn config(retention: &str, retention_choices: &[(&str, &str)]) -> String {
    let mut config = format!(
        "[[controls]]\nlens = \"wellarchitected\"\nquestions = [\"{REL04_ID}\"]\n\n\
         [[controls]]\nlens = \"{LENS}\"\nquestions = [\"{RETENTION}\", \"{DEPLOY}\"]\n\
         names = {{ \"{RETENTION}\" = \"retention\", \"{DEPLOY}\" = \"deploy\" }}\n\n\
         [policies.global]\n{ALL_TRUE}\nretention = \"{retention}\"\ndeploy = \"Skip\"\n"
    );
    for (choice, value) in retention_choices {
        config.push_str(&format!("\"retention/{choice}\" = \"{value}\"\n"));
    }
    config
}

pub(crate) const BOTH_REQUIRED: [(&str, &str); 2] = [(KEEP_BACKUPS, "True"), (ENCRYPT, "True")];

/// `rel04d controls --output json` on the test's database, filtered: each row's
/// (lens, question_id, state, reason).
fn cli_controls(database_url: &str, filter: &str) -> Vec<(String, String, String, String)> {
    let mut command = process::rel04d();
    command.args([
        "controls",
        "--database-url",
        database_url,
        "--output",
        "json",
        "--filter",
        filter,
    ]);
    let out = process::stdout_of(&mut command);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("a JSON array");
    let mut rows: Vec<_> = rows
        .iter()
        .map(|r| {
            let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (
                field("lens"),
                field("question_id"),
                field("state"),
                field("reason"),
            )
        })
        .collect();
    rows.sort();
    rows
}

/// The choices the simulator has selected for `question` of `lens`, read with
/// GetAnswer over HTTP.
async fn selected(env: &TestEnv, id: &str, lens: &str, question: &str) -> Vec<String> {
    let lens = lens.replace(':', "%3A").replace('/', "%2F");
    let url = format!(
        "{}/workloads/{id}/lensReviews/{lens}/answers/{question}",
        env.server.url()
    );
    let body: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let mut choices: Vec<String> =
        serde_json::from_value(body["Answer"]["SelectedChoices"].clone()).unwrap();
    choices.sort();
    choices
}

fn states(rows: &[(String, String, String, String)]) -> Vec<(&str, &str, &str)> {
    rows.iter()
        .map(|(lens, question, state, _)| (lens.as_str(), question.as_str(), state.as_str()))
        .collect()
}

#[tokio::test]
async fn each_question_is_a_control_of_its_own_state_and_the_filters_select_it() {
    // The daemon as a process: `rel04d --config … run --once` against the simulator.
    let (sim, id) = seeded();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let config_path = dir.path().join("rel04d.toml");
    let config = config("Check: Choices based on sub policies", &BOTH_REQUIRED);
    std::fs::write(&config_path, config).unwrap();
    let mut run = process::against(&server.url(), &database_url);
    run.args(["--config", config_path.to_str().unwrap(), "run", "--once"]);
    tokio::task::spawn_blocking(move || process::stdout_of(&mut run))
        .await
        .unwrap();

    let all = cli_controls(&database_url, "");
    assert_eq!(
        states(&all),
        [
            (LENS, RETENTION, "alarm"),
            (LENS, DEPLOY, "skipped"),
            ("wellarchitected", REL04_ID, "ok"),
        ]
    );
    assert!(all[0].3.contains("Encrypt backups"), "{}", all[0].3);

    // (d) The filters: by lens (its ARN), by question, and both with a state.
    assert_eq!(
        states(&cli_controls(&database_url, &format!("lens:{LENS}"))),
        [(LENS, RETENTION, "alarm"), (LENS, DEPLOY, "skipped")]
    );
    assert_eq!(
        states(&cli_controls(&database_url, "lens:wellarchitected")),
        [("wellarchitected", REL04_ID, "ok")]
    );
    assert_eq!(
        states(&cli_controls(
            &database_url,
            &format!("question:{RETENTION}")
        )),
        [(LENS, RETENTION, "alarm")]
    );
    assert_eq!(
        states(&cli_controls(
            &database_url,
            &format!("lens:{LENS} question:{DEPLOY} state:skipped")
        )),
        [(LENS, DEPLOY, "skipped")]
    );
    assert!(cli_controls(&database_url, &format!("question:{DEPLOY} state:alarm")).is_empty());
    // Guardrails' spelling: a question's control type URI.
    assert_eq!(
        states(&cli_controls(
            &database_url,
            "controlTypeId:tmod:@rel04d/custom-lens#/control/types/retention"
        )),
        [(LENS, RETENTION, "alarm")]
    );

    // `explain`, `mute` and `unmute` name a question's control with --lens/--question.
    let id = &id;
    let explained = |question: &str| {
        let mut explain = process::rel04d();
        explain.args(["--config", config_path.to_str().unwrap(), "explain"]);
        explain.args(["--database-url", &database_url, "--workload", id]);
        explain.args(["--lens", LENS, "--question", question, "--output", "json"]);
        let out = process::stdout_of(&mut explain);
        serde_json::from_str::<serde_json::Value>(&out).expect("JSON")["explanation"].clone()
    };
    let retention = explained(RETENTION);
    assert_eq!(retention["state"], "alarm");
    let keys: Vec<&str> = retention["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "retention",
            "retention/retention_encrypt",
            "retention/retention_keep_backups"
        ],
        "the question's own policies, not REL 04's"
    );
    assert_eq!(explained(DEPLOY)["state"], "skipped");
    let mut mute = process::rel04d();
    mute.args(["--config", config_path.to_str().unwrap(), "mute"]);
    mute.args(["--database-url", &database_url, "--workload", id]);
    mute.args(["--lens", LENS, "--question", RETENTION, "--until", "8h"]);
    mute.args(["--reason", "migrating backups"]);
    process::stdout_of(&mut mute);
    let muted = |filter: &str| {
        let mut controls = process::rel04d();
        controls.args(["controls", "--database-url", &database_url]);
        controls.args(["--output", "json", "--filter", filter]);
        let out = process::stdout_of(&mut controls);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        rows.iter().map(|r| r["muted"] == true).collect::<Vec<_>>()
    };
    assert_eq!(muted(&format!("question:{RETENTION}")), [true]);
    assert_eq!(muted(&format!("question:{DEPLOY}")), [false]);
    assert_eq!(
        muted("lens:wellarchitected"),
        [false],
        "REL 04's is not muted"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_sweep_reads_each_lens_once_per_workload() {
    let (sim, id) = seeded();
    let mut spec = workload("billing", answer(&ALL_FOUR[..2], &[], true));
    spec.lenses.push(LENS.to_owned());
    let other = sim.add_workload(spec).id;
    let env = TestEnv::start(
        sim,
        &config("Check: Choices based on sub policies", &BOTH_REQUIRED),
    )
    .await;
    for sweep in 1..=2 {
        let before = [&id, &other].map(|w| env.sim.workload_calls(w));
        env.sweep().await;
        for (w, before) in [&id, &other].into_iter().zip(before) {
            let after = env.sim.workload_calls(w);
            let made = |operation: &str| {
                after.get(operation).copied().unwrap_or(0)
                    - before.get(operation).copied().unwrap_or(0)
            };
            // Two questions of the custom lens: one ListAnswers. REL 04 alone of
            // its lens: one GetAnswer. Nothing is written.
            let calls = (made("ListAnswers"), made("GetAnswer"), made("UpdateAnswer"));
            assert_eq!(calls, (1, 1, 0), "sweep {sweep}, workload {w}: {after:?}");
        }
    }
    assert_eq!(env.controls("").await.len(), 6);
    env.stop().await;
}

#[tokio::test]
async fn enforce_on_one_custom_question_writes_that_question_only() {
    let (sim, id) = seeded();
    let env = TestEnv::start(
        sim,
        &config("Enforce: Choices based on sub policies", &BOTH_REQUIRED),
    )
    .await;
    let rel04_before = env.sim.workload(&id).unwrap().answer;
    env.sweep().await;

    assert_eq!(
        env.sim.workload_calls(&id).get("UpdateAnswer").copied(),
        Some(1)
    );
    assert_eq!(
        selected(&env, &id, LENS, RETENTION).await,
        [ENCRYPT, KEEP_BACKUPS],
        "the missing best practice is selected"
    );
    assert_eq!(selected(&env, &id, LENS, DEPLOY).await, [CANARY]);
    assert_eq!(env.sim.workload(&id).unwrap().answer, rel04_before);
    assert_eq!(
        states(&cli_controls(&env.database_url, "")),
        [
            (LENS, RETENTION, "ok"),
            (LENS, DEPLOY, "skipped"),
            ("wellarchitected", REL04_ID, "ok"),
        ]
    );

    let transitions = env.transitions().await;
    let enforced: Vec<_> = transitions
        .iter()
        .filter(|t| t.action.as_deref() == Some("enforced"))
        .collect();
    assert_eq!(enforced.len(), 1, "{transitions:?}");
    assert_eq!(
        (
            enforced[0].lens.as_str(),
            enforced[0].question_id.as_str(),
            enforced[0].from_state.as_deref(),
            enforced[0].to_state.as_str()
        ),
        (LENS, RETENTION, Some("alarm"), "ok")
    );
    let changes: Vec<String> =
        serde_json::from_value(enforced[0].changes.clone().unwrap()).unwrap();
    assert_eq!(changes, [format!("{ENCRYPT}: UNSELECTED -> SELECTED")]);
    env.stop().await;
}

#[tokio::test]
async fn a_policy_naming_a_choice_the_question_lacks_is_invalid_naming_it() {
    let (sim, _) = seeded();
    let env = TestEnv::start(
        sim,
        &config(
            "Check: Choices based on sub policies",
            &[(KEEP_BACKUPS, "True"), ("retention_tape", "True")],
        ),
    )
    .await;
    env.sweep().await;
    let rows = cli_controls(&env.database_url, &format!("question:{RETENTION}"));
    assert_eq!(states(&rows), [(LENS, RETENTION, "invalid")]);
    assert!(rows[0].3.contains("retention_tape"), "{}", rows[0].3);
    // The other controls of the workload are judged as before.
    assert_eq!(
        states(&cli_controls(&env.database_url, "state:ok")),
        [("wellarchitected", REL04_ID, "ok")]
    );
    env.stop().await;
}

/// The README's worked examples (a whole pillar, a custom lens) are
/// configurations rel04d accepts, with the controls they say.
#[test]
fn the_readme_worked_examples_load() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let (_, marked) = readme
        .split_once("<!-- checked by tests/it/questions.rs")
        .expect("the README marks its worked examples");
    let (marked, _) = marked
        .split_once("<!-- end of checked examples -->")
        .unwrap();
    let blocks: Vec<&str> = marked
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split_once("```").unwrap().0)
        .collect();
    let mut listed = Vec::new();
    for block in &blocks {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rel04d.toml");
        std::fs::write(&path, block).unwrap();
        let settings = rel04d::config::Settings::load_with(Some(&path), Some(Default::default()))
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        let controls = rel04d::config::Controls::check(&settings.controls).unwrap();
        listed.push(
            controls
                .listed()
                .iter()
                .map(|d| d.name.to_string())
                .collect::<Vec<_>>(),
        );
    }
    let pillar: Vec<String> = (1..=13).map(|n| format!("rel{n:02}")).collect();
    assert_eq!(listed, [pillar, vec!["retention".into(), "deploy".into()]]);
}
