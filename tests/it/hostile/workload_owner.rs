//! A workload's owner names it, and the name reaches every reader of rel04d's
//! output: terminals (`controls`, `history`, `explain`, `enforce --plan`) must
//! show control and bidi characters as visible escapes, one row per line; JSON
//! keeps the name exact. (Spreadsheets: `csv_export`.)

use rel04d_simulator::Simulator;

use crate::common::process::{rel04d, stdout_of};
use crate::common::*;

/// Names that clear the screen, ring the bell, move the cursor, colour text,
/// break rows, and reverse text (RTL override, isolate), plus a C1 CSI.
pub const TERMINAL_NAMES: [&str; 6] = [
    "clear\u{1b}[2J\u{1b}[Hscreen\u{7}",
    "two\nlines\r\n",
    "colour\u{1b}[31mred\u{1b}[0m\ttab",
    "rtl\u{202e}mrala\u{202c}",
    "isolate\u{2066}x\u{2069}\u{200f}\u{61c}",
    "c1\u{9b}31m\u{7f}",
];

/// Whether `text` holds anything a terminal would act on rather than show,
/// besides the line ends of the output itself.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_control_characters_are_escaped_in_every_human_output() {
    let sim = Simulator::new(REGION);
    let ids: Vec<String> = TERMINAL_NAMES
        .iter()
        .map(|name| {
            sim.add_workload(workload(name, answer(&ALL_FOUR[..2], &[], true)))
                .id
        })
        .collect();
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    let run = |args: &[&str]| {
        stdout_of(
            rel04d()
                .args(args)
                .env("REL04D__DATABASE__URL", &env.database_url)
                .env("REL04D__AWS__REGIONS", REGION)
                .env("AWS_ENDPOINT_URL_WELLARCHITECTED", env.server.url())
                .env(
                    "REL04D__POLICIES__GLOBAL__REL04",
                    "Check: Choices based on sub policies",
                ),
        )
    };

    let table = run(&["controls"]);
    assert_eq!(raw_controls(&table), Vec::<char>::new(), "{table:?}");
    assert_eq!(
        table.lines().count(),
        TERMINAL_NAMES.len() + 1,
        "one line per row: {table}"
    );
    assert!(table.contains("two\\nlines\\r\\n"), "{table}");
    assert!(table.contains("clear\\u{1b}[2J"), "{table}");
    assert!(table.contains("rtl\\u{202e}mrala"), "{table}");

    let history = run(&["history"]);
    assert_eq!(raw_controls(&history), Vec::<char>::new(), "{history:?}");

    for id in &ids {
        let explained = run(&["explain", "--workload", id]);
        assert_eq!(
            raw_controls(&explained),
            Vec::<char>::new(),
            "{explained:?}"
        );
        assert!(explained.starts_with("Workload "), "{explained}");
        assert!(
            explained.lines().nth(1).unwrap().starts_with("State: "),
            "the name stays on its line: {explained}"
        );
    }

    let plan = run(&["enforce", "--plan"]);
    assert_eq!(raw_controls(&plan), Vec::<char>::new(), "{plan:?}");
    assert_eq!(plan.lines().count(), TERMINAL_NAMES.len() + 1, "{plan}");

    // Errors that echo what was asked are escaped too.
    let out = rel04d()
        .args(["explain", "--workload", "x\u{1b}[2J\u{202e}y"])
        .env("REL04D__DATABASE__URL", &env.database_url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(raw_controls(&err), Vec::<char>::new(), "{err:?}");
    assert!(err.contains("x\\u{1b}[2J\\u{202e}y"), "{err}");

    // Machine formats keep the name exact.
    let json: Vec<serde_json::Value> =
        serde_json::from_str(&run(&["controls", "--output", "json"])).unwrap();
    for name in TERMINAL_NAMES {
        assert!(
            json.iter().any(|c| c["workload_name"] == name),
            "{name:?} not exact in JSON"
        );
    }
    env.stop().await;
}
