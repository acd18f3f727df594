//! Every `rel04d <command> --flag` that the README, `docs/` and `deploy/` tell a
//! reader to run exists: an alert that names a command the binary does not have
//! sends its reader nowhere at the worst moment.
//!
//! A command is what stands in code: an inline code span (backticks, in any of
//! those files, alert texts included) or a line of a fenced code block. In it,
//! `rel04d WORD` (or `cargo run [--release] -- WORD`) names a subcommand, and the
//! `--flags` after it, up to a shell separator, must be that subcommand's (or
//! global).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use regex::Regex;

/// One command as written: where, the subcommand path, and its flags.
#[derive(Debug)]
struct Written {
    at: String,
    words: Vec<String>,
    flags: Vec<String>,
}

/// Code that reads like a command but is not one: log messages.
const NOT_COMMANDS: &[&str] = &["rel04d running"];

fn documents() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md"), root.join("Dockerfile")];
    let mut pending = vec![root.join("docs"), root.join("deploy")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The pieces of `text` that are code: inline spans and fenced block lines.
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut code = Vec::new();
    let mut fenced = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            code.push((n + 1, line.to_owned()));
            continue;
        }
        // Inline spans: text between pairs of backticks.
        let parts: Vec<&str> = line.split('`').collect();
        for span in parts.iter().skip(1).step_by(2) {
            code.push((n + 1, (*span).to_owned()));
        }
    }
    code
}

fn written_commands() -> Vec<Written> {
    let invocation = Regex::new(
        r"(?:^|[\s(\x22'\[])(?:rel04d|cargo run(?: --release)? --)\s+([a-z][a-z-]*)(.*)",
    )
    .unwrap();
    let separator = Regex::new(r#" \| |;|&&|>|"|#"#).unwrap();
    let mut found = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in documents() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.strip_prefix(root).unwrap().display().to_string();
        for (line, code) in code_of(&text) {
            // Table cells escape the pipe between alternatives
            // (`controls\|notifications`, `[--until T\|--until-state S]`): check each.
            let code = code.replace("\\|", " ");
            if NOT_COMMANDS.contains(&code.as_str()) {
                continue;
            }
            for captures in invocation.captures_iter(&code) {
                let mut words = vec![captures[1].to_owned()];
                // Up to the end of this command: a shell separator or a closing quote.
                let rest = separator
                    .split(&captures[2])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let mut flags = Vec::new();
                for token in rest.split_whitespace() {
                    let token = token.trim_matches(|c| matches!(c, '[' | ']' | ',' | '.' | '\''));
                    if let Some(flag) = token.strip_prefix("--") {
                        let flag = flag.split('=').next().unwrap_or_default();
                        if !flag.is_empty() {
                            flags.push(flag.to_owned());
                        }
                    } else if flags.is_empty() && words.len() == 1 && is_word(token) {
                        // A nested subcommand (`graphql controls`), if there is one.
                        words.push(token.to_owned());
                    }
                }
                found.push(Written {
                    at: format!("{name}:{line}"),
                    words,
                    flags,
                });
            }
        }
    }
    found
}

fn is_word(token: &str) -> bool {
    !token.is_empty() && token.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

/// Checks one written command against the CLI's definition; `Err` says what is wrong.
fn check(written: &Written) -> Result<(), String> {
    let cli = rel04d::cli::Cli::command();
    let global: BTreeSet<String> = cli
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .chain(["help".to_owned(), "version".to_owned()])
        .collect();
    let Some(mut command) = cli.find_subcommand(&written.words[0]).cloned() else {
        return Err(format!("`rel04d {}` is not a command", written.words[0]));
    };
    // A second word is a nested subcommand only where the command has them;
    // otherwise it is an argument (`graphql '{ … }'`, `demo`'s none).
    if let Some(nested) = written
        .words
        .get(1)
        .and_then(|sub| command.find_subcommand(sub))
    {
        command = nested.clone();
    }
    let known: BTreeSet<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect();
    let unknown: Vec<&String> = written
        .flags
        .iter()
        .filter(|f| !known.contains(*f) && !global.contains(*f))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "`rel04d {}` has no flag {}",
            written.words.join(" "),
            unknown
                .iter()
                .map(|f| format!("--{f}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[test]
fn every_documented_command_and_flag_exists() {
    let written = written_commands();
    // The scan itself must find what is there, or this test proves nothing.
    assert!(
        written.len() >= 20,
        "found only {} commands: {written:?}",
        written.len()
    );
    let wrong: Vec<String> = written
        .iter()
        .filter_map(|w| check(w).err().map(|e| format!("{}: {e}", w.at)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_wrong_command_or_flag_is_caught() {
    let at = String::from("test");
    let command = |words: &[&str], flags: &[&str]| Written {
        at: at.clone(),
        words: words.iter().map(|w| w.to_string()).collect(),
        flags: flags.iter().map(|f| f.to_string()).collect(),
    };
    assert!(check(&command(&["list"], &["filter"])).is_err());
    assert!(check(&command(&["controls"], &["filter", "output"])).is_ok());
    assert!(check(&command(&["controls"], &["until"])).is_err());
    assert!(check(&command(&["mute"], &["workload", "until", "reason"])).is_ok());
    assert!(
        check(&command(
            &["explain"],
            &["workload", "config", "database-url"]
        ))
        .is_ok()
    );
}
