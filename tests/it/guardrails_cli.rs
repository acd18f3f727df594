//! `rel04d graphql` with `turbot graphql`'s habits: YAML by default, lists
//! under their name, `--output` on the connection, `--query FILE` printing the
//! data without its wrapper.

use std::path::Path;

use crate::graphql::database_url;
use crate::guardrails::{cli, cli_count, seeded};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_subcommands_list_like_turbot_graphql() {
    let (d, _) = seeded(None).await;
    let url = database_url(&d);
    let json = |args: &[&str]| {
        let (stdout, stderr, ok) = cli(&url, &[args, &["--format", "json"]].concat());
        assert!(ok, "{args:?}: {stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let listed = json(&["graphql", "controls", "--filter", "state:alarm"]);
    let items = listed["controls"]["items"].as_array().unwrap();
    assert_eq!(items.len(), cli_count(&url, "controls", "state:alarm"));
    assert!(
        items[0]["resource"]["turbot"]["akas"][0]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:wellarchitected:")
    );

    // The docs' habits: several states and a public sort name, a selection on
    // the connection, YAML by default with the list under its name.
    let (stdout, stderr, ok) = cli(
        &url,
        &[
            "graphql",
            "controls",
            "--filter",
            "state:alarm,skipped sort:-timestamp",
            "--output",
            "{ items { state resource { turbot { title } } } metadata { stats { total } } }",
        ],
    );
    assert!(ok, "{stderr}");
    // Whether the YAML quotes its keys and strings is the YAML writer's business.
    let stdout = stdout.replace('"', "");
    assert!(stdout.starts_with("controls:\n  items:\n"), "{stdout}");
    assert!(stdout.contains("total: 4"), "{stdout}");
    assert_eq!(stdout.matches("state: skipped").count(), 2, "{stdout}");
    assert!(stdout.contains("title: dev-reporting"), "{stdout}");
    assert!(!stdout.contains("rel04dNextPage"), "{stdout}");

    // rel04d's per-item selection stays.
    let per_item = json(&[
        "graphql",
        "controls",
        "--filter",
        "state:skipped",
        "--output",
        "{ state }",
    ]);
    assert_eq!(
        per_item["controls"]["items"],
        json!([{ "state": "skipped" }, { "state": "skipped" }])
    );

    let notes = json(&["graphql", "notifications", "--filter", "sort:-timestamp"]);
    let items = notes["notifications"]["items"].as_array().unwrap();
    assert_eq!(items.len(), cli_count(&url, "history", ""));
    assert_eq!(items[0]["notificationType"], "control_updated");

    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/guardrails/list_controls.graphql");
    let (stdout, stderr, ok) = cli(&url, &["graphql", "--query", file.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.replace('"', "").starts_with("controls:\n"),
        "YAML, without a data wrapper: {stdout}"
    );
    let body = json(&["graphql", "--query", file.to_str().unwrap()]);
    assert_eq!(body["controls"]["metadata"]["stats"]["total"], 2);
    d.stop().await;
}
