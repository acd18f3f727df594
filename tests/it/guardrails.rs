//! Coming from Guardrails: saved Guardrails queries run unchanged against a
//! seeded daemon (counts equal to the CLI's), mutations take Guardrails' inputs
//! and need the bearer token, and calculated policies read tags and the
//! workload's data through the input query.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::*;
use crate::graphql::{database_url, graphql};
use rel04d::aws::Endpoints;
use rel04d_simulator::{Simulator, WorkloadUpdate};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "guardrails-token-0123456789";

/// Idempotent is calculated from the `tier` tag; the rest is fixed.
const CALCULATED_TIER: &str = r#"
[policies.global]
rel04 = "Check: Choices based on sub policies"
identify = "True"
idempotent = { template_input = "{ resource { turbot { tags } } }", template = '{% if $.resource.turbot.tags.tier == "critical" %}True{% else %}Skip{% endif %}' }
[[policies.settings]]
scope = "workload-name:*-reporting"
rel04 = "Skip"
"#;

/// Five workloads: prod-payments ok, prod-orders and dev-search alarm (the
/// first only because its tier tag makes idempotent True), two reporting ones
/// skipped.
pub(crate) async fn seeded(token: Option<&str>) -> (RunningDaemon, Vec<String>) {
    let sim = Simulator::new(REGION);
    let specs = [
        ("prod-payments", "111122223333", &ALL_FOUR[..], true),
        ("prod-orders", "111122223333", &[IDENTIFY][..], true),
        ("dev-search", "444455556666", &[][..], false),
        ("dev-reporting", "444455556666", &[][..], false),
        ("prod-reporting", "444455556666", &[NONE][..], false),
    ];
    let mut ids = Vec::new();
    for (name, owner, selected, critical) in specs {
        let mut spec = workload(name, answer(selected, &[], true));
        spec.owner = owner.to_owned();
        if critical {
            spec.tags.insert("tier".into(), "critical".into());
        }
        ids.push(sim.add_workload(spec).id);
    }
    let token_line = token
        .map(|t| format!("[http]\ngraphql_token = \"{t}\"\n"))
        .unwrap_or_default();
    let config = format!("{token_line}[schedule]\ninterval = \"1h\"\n{CALCULATED_TIER}");
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    d.wait_for("the first sweep", Duration::from_secs(30), || async {
        let all = d
            .daemon
            .store
            .list_controls(&rel04d::filter::Filter::default())
            .await
            .unwrap();
        all.len() == 5 && all.iter().all(|c| c.state.as_str() != "tbd")
    })
    .await;
    (d, ids)
}

/// `rel04d <args> --database-url URL`: stdout, stderr, success.
pub(crate) fn cli(database_url: &str, args: &[&str]) -> (String, String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_rel04d"))
        .args(args)
        .args(["--database-url", database_url])
        .env_remove("REL04D_CONFIG")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// How many rows `rel04d <controls|history> --output json --filter F` prints.
pub(crate) fn cli_count(url: &str, command: &str, filter: &str) -> usize {
    let (stdout, stderr, ok) = cli(url, &[command, "--output", "json", "--filter", filter]);
    assert!(ok, "{command} {filter}: {stderr}");
    serde_json::from_str::<Vec<Value>>(&stdout).unwrap().len()
}

/// The `.graphql` files of `tests/corpus/<dir>`, sorted.
pub(crate) fn corpus(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "graphql"))
        .collect();
    files.sort();
    files
}

fn without_limit(filter: &str) -> String {
    filter
        .split(' ')
        .filter(|t| !t.starts_with("limit:"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_guardrails_queries_run_unchanged_with_the_cli_counts() {
    let (d, ids) = seeded(None).await;
    let url = database_url(&d);
    let files = corpus("guardrails");
    assert!(files.len() >= 7, "{files:?}");
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let query = std::fs::read_to_string(file).unwrap();
        let (command, filter) = query
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# cli: "))
            .map(|l| l.split_once(' ').unwrap_or((l, "")))
            .unwrap_or_else(|| panic!("{name}: first line must be `# cli: <command> <filter>`"));
        let expected = cli_count(&url, command, filter);
        let unlimited = cli_count(&url, command, &without_limit(filter));
        assert!(
            expected > 0,
            "{name}: the CLI matched nothing; the case proves little"
        );
        let (status, body) = graphql(&d, None, json!({ "query": query })).await;
        assert_eq!(status, 200, "{name}: {body}");
        assert!(body["errors"].is_null(), "{name}: {body}");
        let (_, page) = body["data"].as_object().unwrap().iter().next().unwrap();
        let items = page["items"].as_array().unwrap();
        if name.starts_with("control_summaries") {
            // Summaries count controls: by type one item, by resource accounts then regions.
            let accounts = items.iter().filter(|i| {
                i["data"]["turbot"]["title"]
                    .as_str()
                    .is_none_or(|t| !t.starts_with("us-"))
            });
            let total: i64 = accounts
                .map(|i| i["summary"]["control"]["total"].as_i64().unwrap())
                .sum();
            assert_eq!(total as usize, expected, "{name}: {body}");
            let summary = &items[0]["summary"]["control"];
            for state in ["alarm", "ok", "skipped"] {
                if name.contains("control_type") {
                    let by_state = cli_count(&url, "controls", &format!("state:{state}"));
                    assert_eq!(
                        summary[state].as_i64().unwrap() as usize,
                        by_state,
                        "{name} {state}"
                    );
                }
            }
        } else {
            assert_eq!(items.len(), expected, "{name}: {body}");
            if let Some(total) = page["metadata"]["stats"]["total"].as_i64() {
                assert_eq!(
                    total as usize, unlimited,
                    "{name}: the total ignores limit:"
                );
            }
        }
    }

    // `$.path` terms filter: one of the two alarms is on a critical workload.
    assert_eq!(cli_count(&url, "controls", "state:alarm"), 2);
    assert_eq!(
        cli_count(
            &url,
            "controls",
            "state:alarm $.turbot.tags.tier:'critical'"
        ),
        1
    );
    assert_eq!(cli_count(&url, "controls", "$.WorkloadName:prod-orders"), 1);
    assert_eq!(
        cli_count(&url, "controls", "!$.turbot.tags.tier:critical"),
        3
    );

    // The shapes hold what Guardrails users read from them.
    let (_, body) = graphql(
        &d,
        None,
        json!({"query": format!("{{ controls(filter: \"resourceId:{} limit:1\") {{ items {{ turbot {{ id resourceId controlTypeId }} type {{ uri trunk {{ title }} }} resource {{ turbot {{ akas tags }} trunk {{ title }} data }} mute {{ note }} }} }} }}", ids[1])}),
    )
    .await;
    let control = &body["data"]["controls"]["items"][0];
    let arn = d.sim.workload(&ids[1]).unwrap().arn;
    assert_eq!(control["turbot"]["id"], ids[1].as_str(), "{body}");
    assert_eq!(
        control["type"]["uri"],
        "tmod:@turbot/aws-wellarchitected-framework#/control/types/rel04"
    );
    assert!(
        control["type"]["trunk"]["title"]
            .as_str()
            .unwrap()
            .starts_with("AWS > Well-Architected Tool > AWS Well-Architected Framework > Reliability > REL 04")
    );
    assert_eq!(control["resource"]["turbot"]["akas"], json!([arn]));
    assert_eq!(control["resource"]["turbot"]["tags"]["tier"], "critical");
    assert_eq!(
        control["resource"]["trunk"]["title"],
        "111122223333 > us-east-1 > prod-orders"
    );
    assert_eq!(control["resource"]["data"]["WorkloadName"], "prod-orders");
    assert!(control["mute"].is_null());
    d.stop().await;
}

async fn mutate(d: &RunningDaemon, token: Option<&str>, query: String) -> (u16, Value) {
    graphql(d, token, json!({ "query": query })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_take_guardrails_inputs_and_need_the_token() {
    let (d, ids) = seeded(Some(TOKEN)).await;
    let alarm = &ids[1];
    let mute = format!(
        "mutation {{ muteControl(input: {{ id: \"{alarm}\", note: \"change freeze\", toTimestamp: \"2999-01-01T00:00:00Z\" }}) {{ state muted mute {{ note toTimestamp untilStates }} }} }}"
    );
    let (status, _) = mutate(&d, None, mute.clone()).await;
    assert_eq!(status, 401, "a mutation without the token");
    let (status, body) = mutate(&d, Some(TOKEN), mute).await;
    assert_eq!(status, 200, "{body}");
    let muted = &body["data"]["muteControl"];
    assert_eq!(muted["muted"], true, "{body}");
    assert_eq!(muted["mute"]["note"], "change freeze");

    // Muted controls leave the summaries, as in Guardrails.
    let summary =
        "{ controlSummariesByControlType { items { summary { control { total alarm } } } } }";
    let (_, body) = graphql(&d, Some(TOKEN), json!({ "query": summary })).await;
    let counts = &body["data"]["controlSummariesByControlType"]["items"][0]["summary"]["control"];
    assert_eq!(
        (counts["total"].as_i64(), counts["alarm"].as_i64()),
        (Some(4), Some(1)),
        "{body}"
    );

    let unmute = format!("mutation {{ unmuteControl(input: {{ id: \"{alarm}\" }}) {{ muted }} }}");
    let (_, body) = mutate(&d, Some(TOKEN), unmute).await;
    assert_eq!(body["data"]["unmuteControl"]["muted"], false, "{body}");

    // runControl evaluates now: fix the answer, run, and the control is ok.
    d.sim
        .set_answer(alarm, answer(&ALL_FOUR, &[], true))
        .unwrap();
    let run = format!(
        "mutation {{ runControl(input: {{ id: \"{alarm}\" }}) {{ state turbot {{ id }} }} }}"
    );
    let (_, body) = mutate(&d, Some(TOKEN), run.clone()).await;
    assert_eq!(body["data"]["runControl"]["state"], "ok", "{body}");

    // Without a daemon, the CLI mutes but cannot run a control.
    let url = database_url(&d);
    let (stdout, stderr, ok) = cli(&url, &["graphql", &run]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("runControl needs the daemon"),
        "{stdout}{stderr}"
    );
    let mute_by_arn = format!(
        "mutation {{ muteControl(input: {{ id: \"{}\", note: \"from the CLI\", untilStates: [\"alarm\"] }}) {{ mute {{ by untilStates }} }} }}",
        d.sim.workload(alarm).unwrap().arn
    );
    let (stdout, stderr, ok) = cli(&url, &["graphql", &mute_by_arn, "--format", "json"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("\"alarm\""), "{stdout}");
    d.stop().await;

    // A daemon without a token takes no mutations at all.
    let (d, ids) = seeded(None).await;
    let unmute = format!(
        "mutation {{ unmuteControl(input: {{ id: \"{}\" }}) {{ muted }} }}",
        ids[0]
    );
    let (status, body) = mutate(&d, None, unmute).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "MUTATIONS_OFF");
    d.stop().await;
}

/// With a calculated policy every evaluation describes its workload
/// (GetWorkload) and nothing more; without, sweeps need no GetWorkload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calculated_policies_read_tags_and_data_with_one_describe_per_workload() {
    let config = r#"
[policies.global]
rel04 = { template_input = "{ resource { data } }", template = '{% if $.resource.data.Environment == "PRODUCTION" %}Check: Choices based on sub policies{% else %}Skip{% endif %}' }
identify = "True"
idempotent = { template_input = "query Tier { resource { turbot { tags } } }", template = '{% if $.resource.turbot.tags.tier == "critical" %}True{% else %}Skip{% endif %}' }
[[policies.settings]]
scope = "workload-name:maybe-*"
idempotent = { template_input = "{ resource { turbot { tags } } }", template = "{{ $.resource.turbot.tags.answer }}" }
[[policies.settings]]
scope = "workload-name:badquery-*"
identify = { template_input = "{ resource { turbot { colour } } }", template = "True" }
"#;
    let sim = Simulator::new(REGION);
    let mut specs = vec![
        workload("prod-critical", answer(&[IDENTIFY], &[], true)),
        workload("prod-plain", answer(&[IDENTIFY], &[], true)),
        workload("dev-critical", answer(&[IDENTIFY], &[], true)),
        workload("maybe-prod", answer(&[IDENTIFY], &[], true)),
        workload("badquery-prod", answer(&[IDENTIFY], &[], true)),
    ];
    specs[0].tags.insert("tier".into(), "critical".into());
    specs[2].tags.insert("tier".into(), "critical".into());
    specs[3].tags.insert("answer".into(), "Maybe".into());
    let infos = add_all(&sim, specs);
    for info in &infos {
        let environment = match info.name.as_str() {
            "dev-critical" => "PREPRODUCTION",
            _ => "PRODUCTION",
        };
        let update = WorkloadUpdate {
            environment: Some(environment.into()),
            ..WorkloadUpdate::default()
        };
        sim.update_workload(&info.id, update).unwrap();
    }
    let env = TestEnv::start(sim, config).await;
    env.sim.reset_calls();
    env.sweep().await;
    let calls = env.sim.calls();
    let per = |op: &str| calls.operation(op).total as f64 / infos.len() as f64;
    eprintln!(
        "calculated policies: per workload {} GetWorkload, {} GetAnswer; {} ListWorkloads in all",
        per("GetWorkload"),
        per("GetAnswer"),
        calls.operation("ListWorkloads").total
    );
    assert_eq!(calls.operation("GetWorkload").total, infos.len() as u64);
    assert_eq!(
        calls.total,
        calls.operation("ListWorkloads").total
            + calls.operation("GetWorkload").total
            + calls.operation("GetAnswer").total,
        "no other call: {calls:?}"
    );

    let id = |name: &str| infos.iter().find(|i| i.name == name).unwrap().id.clone();
    assert_eq!(
        env.state_of(&id("prod-critical")).await,
        "alarm",
        "idempotent True from the tag"
    );
    assert_eq!(
        env.state_of(&id("prod-plain")).await,
        "ok",
        "idempotent Skip without it"
    );
    assert_eq!(
        env.state_of(&id("dev-critical")).await,
        "skipped",
        "rel04 Skip from data.Environment"
    );
    let maybe = &env.controls("workload:maybe-prod").await[0];
    assert_eq!(maybe.state.as_str(), "invalid");
    assert!(
        maybe
            .reason
            .contains("invalid value \"Maybe\" for policy idempotent")
            && maybe.reason.contains("workload level, calculated"),
        "{}",
        maybe.reason
    );
    let bad = &env.controls("workload:badquery-prod").await[0];
    assert_eq!(bad.state.as_str(), "invalid");
    assert!(
        bad.reason
            .contains("identify could not be calculated at the workload level")
            && bad.reason.contains("colour"),
        "{}",
        bad.reason
    );

    // explain shows the template, a digest of its input and its output.
    let critical = &env.controls("workload:prod-critical").await[0];
    let policies = env.daemon.settings.policies.to_policy_set().unwrap();
    let explanation = rel04d::explain::explain(
        &rel04d::control::ControlDef::rel04(),
        critical,
        &policies,
        chrono::Utc::now(),
    );
    let idempotent = explanation
        .policies
        .iter()
        .find(|p| p.key.as_str() == "idempotent")
        .unwrap();
    let calculation = idempotent.calculation.as_ref().expect("a calculation");
    assert!(calculation.template.contains("$.resource.turbot.tags.tier"));
    let input = calculation.input_digest.as_ref().expect("an input digest");
    let read = json!({ "resource": { "turbot": { "tags": { "tier": "critical" } } } }).to_string();
    assert_eq!(input, &rel04d::control::calculated::InputDigest::of(&read));
    assert_eq!(input.excerpt, read);
    assert_eq!(calculation.output.as_deref(), Some("True"));
    assert!(rel04d::explain::render(&explanation).contains("its output: \"True\""));
    env.stop().await;

    // The same fleet with fixed values: no GetWorkload at all.
    let sim = Simulator::new(REGION);
    add_all(
        &sim,
        (0..5)
            .map(|n| workload(&format!("w-{n}"), answer(&[IDENTIFY], &[], true)))
            .collect(),
    );
    let env = TestEnv::start(sim, &format!("[policies.global]\n{}", ALL_TRUE)).await;
    env.sim.reset_calls();
    env.sweep().await;
    let calls = env.sim.calls();
    eprintln!(
        "fixed policies: per workload {} GetWorkload, {} GetAnswer",
        calls.operation("GetWorkload").total as f64 / 5.0,
        calls.operation("GetAnswer").total as f64 / 5.0
    );
    assert_eq!(calls.operation("GetWorkload").total, 0);
    env.stop().await;
}

/// `rel04d check-config` with `config` as the file: its stderr, and whether it passed.
fn check_config(config: &str) -> (String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rel04d.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rel04d"))
        .args(["--config", path.to_str().unwrap(), "check-config"])
        .env_remove("REL04D_CONFIG")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn a_template_with_a_syntax_error_is_refused_naming_the_key() {
    let (stderr, ok) = check_config(
        "[policies.global]\nidempotent = { template_input = \"{ resource { data } }\", template = \"{% if $.resource.data %}True\" }\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("policies.global.idempotent.template"),
        "{stderr}"
    );
    assert!(stderr.contains("syntax error"), "{stderr}");

    let (stderr, ok) = check_config(
        "[policies.global]\nidempotent = { template_input = \"{ resource { \", template = \"True\" }\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("policies.global.idempotent.template_input"),
        "{stderr}"
    );

    let (stderr, ok) = check_config(
        "[policies.global]\nidempotent = { template_input = \"{ resource { data } }\", template = \"True\" }\n",
    );
    assert!(ok, "a good calculation passes: {stderr}");
}

/// One request may not turn into hundreds of evaluations: 700 aliases of
/// `runControl` are refused whole, naming the limit, before the Tool is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_too_many_mutations_is_refused_before_any_runs() {
    let (d, ids) = seeded(Some(TOKEN)).await;
    let aliases = |n: usize| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "r{i}: runControl(input: {{ id: \"{}\" }}) {{ state }} ",
                    ids[1]
                )
            })
            .collect()
    };
    d.sim.reset_calls();
    let (status, body) = mutate(&d, Some(TOKEN), format!("mutation {{ {} }}", aliases(700))).await;
    assert_eq!(status, 200, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "TOO_MANY_MUTATIONS", "{body}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("at most 10 mutations") && message.contains("has 700"),
        "{message}"
    );
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(d.sim.calls().total, 0, "no Tool call was made");

    // Within the limit, every alias runs.
    let (_, body) = mutate(&d, Some(TOKEN), format!("mutation {{ {} }}", aliases(2))).await;
    assert_eq!(body["data"]["r1"]["state"], "alarm", "{body}");
    assert!(d.sim.calls().total > 0);
    d.stop().await;
}
