//! Every surface addresses a control by (workload, lens, question), not REL 04's
//! of the workload: GraphQL's ids, mutations, `policyValues` and `explain`; the
//! status page's control page and its links; `runControl`; exception-expiry
//! warnings. The real binary against the simulator with a custom two-question
//! lens beside REL 04 ([`crate::questions`]), on SQLite and (with
//! `REL04D_TEST_POSTGRES_URL`) Postgres.

use std::collections::BTreeMap;
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::common::db::Db;
use crate::common::moto::{Moto, unique};
use crate::common::process::{self, Proc, http_address, tail, wait_until};
use crate::common::*;
use crate::questions::{BOTH_REQUIRED, DEPLOY, LENS, REL04_ID, RETENTION, config, seeded};

/// The control type of the custom lens's data-retention question (policy name `retention`).
const RETENTION_TYPE: &str = "tmod:@rel04d/custom-lens#/control/types/retention";
const CHECKED: &str = "Check: Choices based on sub policies";

/// The configuration of [`crate::questions::config`] written into `dir`: its path.
fn write_config(dir: &tempfile::TempDir, extra: &str) -> String {
    let path = dir.path().join("rel04d.toml");
    std::fs::write(&path, format!("{}{extra}", config(CHECKED, &BOTH_REQUIRED))).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `rel04d run --once` with that configuration and `env`.
async fn run_once(sim_url: &str, database_url: &str, config_path: &str, env: &[(&str, &str)]) {
    let mut run = process::against(sim_url, database_url);
    run.envs(env.iter().copied());
    run.args(["--config", config_path, "run", "--once"]);
    tokio::task::spawn_blocking(move || process::stdout_of(&mut run))
        .await
        .unwrap();
}

/// `rel04d graphql --format json <query>`: the data, or the stderr as `Err`.
fn graphql(config_path: &str, database_url: &str, query: &str) -> Result<Value, String> {
    let mut command = process::rel04d();
    command.args([
        "--config",
        config_path,
        "graphql",
        "--database-url",
        database_url,
    ]);
    command.args(["--format", "json", query]);
    let out = command.output().unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("JSON"))
}

/// Each control's item by question id.
fn by_question(data: &Value) -> BTreeMap<String, Value> {
    data["controls"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["questionId"].as_str().unwrap().to_owned(),
                item.clone(),
            )
        })
        .collect()
}

fn keys(policies: &Value) -> Vec<&str> {
    policies
        .as_array()
        .expect("policies")
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect()
}

const RETENTION_KEYS: [&str; 3] = [
    "retention",
    "retention/retention_encrypt",
    "retention/retention_keep_backups",
];

#[tokio::test]
async fn graphql_ids_mutations_policy_values_and_explain_address_a_custom_questions_control() {
    let (sim, id) = seeded();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let config_path = write_config(&dir, "");
    run_once(&server.url(), &database_url, &config_path, &[]).await;
    let q = |query: &str| graphql(&config_path, &database_url, query).unwrap();
    let listing = r#"{ controls { items { questionId muted turbot { id } controlTypeId
        type { uri title } } } }"#;

    // Each control's id and type are its own; REL 04's id stays the workload id.
    let controls = by_question(&q(listing));
    let retention_id = format!("{id}/{LENS}/{RETENTION}");
    assert_eq!(controls[RETENTION]["turbot"]["id"], retention_id.as_str());
    assert_eq!(controls[REL04_ID]["turbot"]["id"], id.as_str());
    assert_eq!(controls[RETENTION]["controlTypeId"], RETENTION_TYPE);
    assert_eq!(controls[RETENTION]["type"]["uri"], RETENTION_TYPE);
    assert_eq!(controls[RETENTION]["type"]["title"], "retention");
    assert_eq!(
        controls[REL04_ID]["type"]["uri"],
        rel04d::filter::GUARDRAILS_CONTROL_TYPE
    );

    // Guardrails' summaries by control type: one item per governed question,
    // REL 04's first, each counting its own controls.
    let summaries = q("{ controlSummariesByControlType { items { type { uri }
        summary { control { total alarm ok skipped } } } } }");
    let items: Vec<(String, Value)> = summaries["controlSummariesByControlType"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let uri = i["type"]["uri"].as_str().unwrap().to_owned();
            (uri, i["summary"]["control"].clone())
        })
        .collect();
    let counts = |total, alarm, ok, skipped| json!({"total": total, "alarm": alarm, "ok": ok, "skipped": skipped});
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(
        items[0],
        (
            rel04d::filter::GUARDRAILS_CONTROL_TYPE.to_owned(),
            counts(1, 0, 1, 0)
        )
    );
    assert!(
        items.contains(&(RETENTION_TYPE.to_owned(), counts(1, 1, 0, 0))),
        "{items:?}"
    );

    // The catalogue's control types: REL 04's, then each governed question's.
    let uris = |data: &Value| -> Vec<String> {
        data["controlTypes"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["uri"].as_str().unwrap().to_owned())
            .collect()
    };
    let types = uris(&q("{ controlTypes { items { uri } } }"));
    assert_eq!(types.len(), 3, "{types:?}");
    assert_eq!(types[0], rel04d::filter::GUARDRAILS_CONTROL_TYPE);
    assert!(types.contains(&RETENTION_TYPE.to_owned()), "{types:?}");
    let one = q(&format!(
        r#"{{ controlTypes(filter: "controlTypeId:{RETENTION_TYPE}") {{ items {{ uri }} }} }}"#
    ));
    assert_eq!(uris(&one), [RETENTION_TYPE]);

    // A mute through the custom question's id mutes that control alone.
    let until = (chrono::Utc::now() + chrono::Duration::hours(8))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let muted = q(&format!(
        r#"mutation {{ muteControl(input: {{ id: "{retention_id}", note: "migrating backups",
            toTimestamp: "{until}" }}) {{ lens questionId muted }} }}"#
    ));
    assert_eq!(
        muted["muteControl"],
        json!({"lens": LENS, "questionId": RETENTION, "muted": true})
    );
    let mutes = |controls: &BTreeMap<String, Value>| -> Vec<(String, bool)> {
        controls
            .iter()
            .map(|(q, item)| (q.clone(), item["muted"] == true))
            .collect()
    };
    assert_eq!(
        mutes(&by_question(&q(listing))),
        [
            (RETENTION.to_owned(), true),
            (DEPLOY.to_owned(), false),
            (REL04_ID.to_owned(), false)
        ]
    );

    // policyValues, explain and control name the question; each shows its own policies.
    let named = format!(r#"workloadId: "{id}", lens: "{LENS}", questionId: "{RETENTION}""#);
    let read = q(&format!(
        r#"{{ policyValues({named}) {{ key }} explain({named}) {{ state policies {{ key }} }}
            control({named}) {{ questionId policyValues {{ key }} }} }}"#
    ));
    assert_eq!(keys(&read["policyValues"]), RETENTION_KEYS, "{read}");
    assert_eq!(keys(&read["explain"]["policies"]), RETENTION_KEYS, "{read}");
    assert_eq!(read["explain"]["state"], "alarm");
    assert_eq!(read["control"]["questionId"], RETENTION);
    assert_eq!(keys(&read["control"]["policyValues"]), RETENTION_KEYS);
    // Without lens and question: REL 04's, as before.
    let rel04 = q(&format!(
        r#"{{ explain(workloadId: "{id}") {{ policies {{ key }} }} }}"#
    ));
    assert!(
        keys(&rel04["explain"]["policies"]).contains(&"identify"),
        "{rel04}"
    );

    let unmuted = q(&format!(
        r#"mutation {{ unmuteControl(input: {{ id: "{retention_id}" }}) {{ questionId muted }} }}"#
    ));
    assert_eq!(
        unmuted["unmuteControl"],
        json!({"questionId": RETENTION, "muted": false})
    );

    // `rel04d evaluate` prints every control of the workload, each naming its question.
    let mut evaluate = process::against(&server.url(), &database_url);
    evaluate.args(["--config", &config_path, "evaluate", "--workload", &id]);
    let printed = tokio::task::spawn_blocking(move || process::stdout_of(&mut evaluate))
        .await
        .unwrap();
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{id}: ok — 4 of 4 required best practices selected"),
            format!("{id} {RETENTION} ({LENS}): alarm — Not selected: Encrypt backups"),
            format!(
                "{id} {DEPLOY} ({LENS}): skipped — Policy deploy is Skip (from policies.global)"
            ),
        ],
        "{printed}"
    );

    // An id naming no control, or malformed, is refused naming what is wrong.
    for (bad, says) in [
        (
            format!("{id}/{LENS}/no-such-question"),
            "no control with id",
        ),
        (format!("{id}/"), "<workload id>/<lens>/<question id>"),
        ("x".repeat(2000), "1 to 1024 characters"),
    ] {
        let error = graphql(
            &config_path,
            &database_url,
            &format!(r#"mutation {{ unmuteControl(input: {{ id: "{bad}" }}) {{ muted }} }}"#),
        )
        .unwrap_err();
        assert!(error.contains(says), "{bad:?}: {error}");
    }
    server.shutdown().await;
}

/// The daemon's `http.graphql_token` (mutations need one; the pages take it too).
const TOKEN: &str = "question-surfaces-token-0123456789";

/// A workload governed by a custom lens's question alone (no REL 04 control):
/// GraphQL's `resource(id)` still finds it, by id and by ARN.
#[tokio::test]
async fn a_workload_with_only_custom_question_controls_is_a_graphql_resource() {
    let (sim, id) = seeded();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let path = dir.path().join("rel04d.toml");
    std::fs::write(
        &path,
        format!(
            "[[controls]]\nlens = \"{LENS}\"\nquestions = [\"{RETENTION}\"]\n\n\
             [policies.global]\n\"{RETENTION}\" = \"{CHECKED}\"\n"
        ),
    )
    .unwrap();
    let config_path = path.to_str().unwrap();
    run_once(&server.url(), &database_url, config_path, &[]).await;
    let arn = format!("arn:aws:wellarchitected:{REGION}:111122223333:workload/{id}");
    for by in [id.as_str(), arn.as_str()] {
        let data = graphql(
            config_path,
            &database_url,
            &format!(r#"{{ resource(id: "{by}") {{ turbot {{ id }} akas }} }}"#),
        )
        .unwrap();
        assert_eq!(
            data["resource"]["turbot"]["id"],
            id.as_str(),
            "{by}: {data}"
        );
        assert_eq!(data["resource"]["akas"], json!([arn]), "{by}");
    }
    server.shutdown().await;
}

/// GET `path` on `http` with the token: status and body.
async fn get(http: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(format!("http://{http}{path}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_and_run_control_address_a_custom_questions_control() {
    let (sim, id) = seeded();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let config_path = write_config(
        &dir,
        &format!("\n[schedule]\ninterval = \"1h\"\n\n[http]\ngraphql_token = \"{TOKEN}\"\n"),
    );
    let mut command = process::against(&server.url(), &database_url);
    command
        .env("REL04D__LOG__LEVEL", "info")
        .args(["--config", &config_path, "run"]);
    let log = dir.path().join("daemon.log");
    let _daemon = Proc::spawn(command, &log);
    let http = http_address(&log, Duration::from_secs(20)).await;
    let db = Db::connect(&database_url).await;
    wait_until(
        "three controls evaluated",
        Duration::from_secs(30),
        || async {
            db.count("SELECT COUNT(*) FROM controls WHERE evaluated_at IS NOT NULL")
                .await
                == Some(3)
        },
    )
    .await;

    // The overview links each control's own page.
    let (status, overview) = get(&http, "/").await;
    assert_eq!(status, 200);
    let lens = utf8_percent_encode(LENS, NON_ALPHANUMERIC).to_string();
    let question = utf8_percent_encode(RETENTION, NON_ALPHANUMERIC).to_string();
    let page = format!("/controls/{id}?lens={lens}&question={question}");
    assert!(
        overview.contains(&format!("href=\"{}\"", page.replace('&', "&amp;"))),
        "no link to {page} in the overview\n{overview}\n{}",
        tail(&log)
    );
    assert!(
        overview.contains(&format!("href=\"/controls/{id}\"")),
        "REL 04's link"
    );

    // The page shows the custom question's control and policies, not REL 04's.
    let (status, body) = get(&http, &page).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"<th scope="row">retention/retention_encrypt</th>"#),
        "{body}"
    );
    assert!(body.contains("Encrypt backups"), "{body}");
    assert!(!body.contains(r#"<th scope="row">identify</th>"#), "{body}");
    let (status, rel04) = get(&http, &format!("/controls/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        rel04.contains(r#"<th scope="row">identify</th>"#),
        "{rel04}"
    );

    // Odd addresses: a clear 404 or 400, never a panic nor a long query.
    let long_question = "q".repeat(200);
    let long_lens = "l".repeat(2000);
    for (path, expected) in [
        (format!("/controls/{id}?lens={lens}&question=no-such"), 404),
        (format!("/controls/{id}?lens={lens}&question=..%2Fx"), 400),
        (
            format!("/controls/{id}?lens={lens}&question={long_question}"),
            400,
        ),
        (format!("/controls/{id}?lens={long_lens}&question=q"), 400),
        (format!("/controls/{id}?lens=a&lens=b"), 400),
        (format!("/controls/{id}?question="), 400),
    ] {
        let (status, body) = get(&http, &path).await;
        assert_eq!(status, expected, "{path}: {body}");
    }

    // runControl on the custom question evaluates that control alone: one GetAnswer.
    sim.reset_calls();
    let retention_id = format!("{id}/{LENS}/{RETENTION}");
    let response: Value = reqwest::Client::new()
        .post(format!("http://{http}/graphql"))
        .bearer_auth(TOKEN)
        .json(&json!({"query": format!(
            r#"mutation {{ runControl(input: {{ id: "{retention_id}" }}) {{ questionId state }} }}"#
        )}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["data"]["runControl"],
        json!({"questionId": RETENTION, "state": "alarm"}),
        "{response}"
    );
    let calls = sim.calls();
    assert_eq!(calls.operation("GetAnswer").total, 1, "{calls:?}");
    assert_eq!(calls.operation("ListAnswers").total, 0, "{calls:?}");
    server.shutdown().await;
}

#[tokio::test]
async fn an_expiring_exception_is_warned_about_once_per_control_it_supplies() {
    // The warning needs an event bus; `run --once` records it, the daemon's
    // publisher sends it (`it exceptions::`).
    let moto = Moto::connect().await;
    let bus = unique("question-expiring");
    let (sim, id) = seeded();
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(&dir).await;
    let expires = (chrono::Utc::now() + chrono::Duration::days(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // One exception supplying a policy of REL 04 and one of the custom question.
    let config_path = write_config(
        &dir,
        &format!(
            "\n[notify]\nexception_expiry_warning = \"30d\"\n\n[[policies.settings]]\n\
             scope = \"workload:{id}\"\nidempotent = \"Skip\"\n\
             \"retention/retention_encrypt\" = \"Skip\"\nexception = true\n\
             expires = \"{expires}\"\nreason = \"moving backups\"\n"
        ),
    );
    let env = [
        ("AWS_ENDPOINT_URL_EVENTBRIDGE", moto.url.as_str()),
        ("REL04D__NOTIFY__EVENT_BUS", bus.as_str()),
    ];
    run_once(&server.url(), &database_url, &config_path, &env).await;
    let db = Db::connect(&database_url).await;
    assert_eq!(
        db.strings(
            "SELECT lens || ' ' || question_id FROM exception_warnings ORDER BY lens, question_id"
        )
        .await,
        [
            format!("{LENS} {RETENTION}"),
            format!("wellarchitected {REL04_ID}")
        ],
        "one warning per control"
    );
    // Each warning's event detail, as queued for EventBridge.
    let events: Vec<Value> = db
        .strings("SELECT payload FROM exception_warnings")
        .await
        .iter()
        .map(|payload| serde_json::from_str(payload).unwrap())
        .collect();
    let by_question: BTreeMap<&str, &Value> = events
        .iter()
        .map(|e| (e["question_id"].as_str().unwrap_or_default(), e))
        .collect();
    let custom = by_question[RETENTION];
    assert_eq!(custom["lens"], LENS);
    assert_eq!(custom["control_type"], "retention");
    assert_eq!(custom["policies"], json!(["retention/retention_encrypt"]));
    let rel04 = by_question[REL04_ID];
    // `Control State Changed` events carry each control's lens and question too.
    let notified: std::collections::BTreeSet<(String, String)> = db
        .strings("SELECT payload FROM outbox")
        .await
        .iter()
        .map(|payload| {
            let detail: Value = serde_json::from_str(payload).unwrap();
            let field = |name: &str| detail[name].as_str().unwrap_or_default().to_owned();
            (field("lens"), field("question_id"))
        })
        .collect();
    for control in [
        (LENS, RETENTION),
        (LENS, DEPLOY),
        ("wellarchitected", REL04_ID),
    ] {
        let control = (control.0.to_owned(), control.1.to_owned());
        assert!(notified.contains(&control), "{control:?} in {notified:?}");
    }
    assert_eq!(rel04["lens"], "wellarchitected");
    assert_eq!(rel04["control_type"], "rel04");
    assert_eq!(rel04["policies"], json!(["idempotent"]));
    server.shutdown().await;
}
