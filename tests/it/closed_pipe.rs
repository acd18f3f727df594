//! `rel04d controls | head`: when the reader of its output has gone, a command
//! ends quietly, without "Broken pipe" errors or panics, as Unix tools do.

use std::process::{Command, Output, Stdio};

/// Runs rel04d with its stdout a pipe whose reading end is already closed, so
/// its first write finds no reader (deterministically, unlike racing `head`).
fn with_closed_stdout(args: &[&str], database_url: &str) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_rel04d"))
        .args(args)
        .env_remove("REL04D_CONFIG")
        .env("REL04D__DATABASE__URL", database_url)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run rel04d")
}

#[test]
fn commands_end_quietly_when_their_reader_has_gone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("state.db").display()
    );
    let migrate = Command::new(env!("CARGO_BIN_EXE_rel04d"))
        .args(["migrate", "--database-url", &url])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(migrate.status.success(), "{migrate:?}");
    for args in [
        &["check-config"][..],
        &["controls", "--output", "json"],
        &["controls", "--output", "csv"],
        &["history", "--output", "json"],
        &["graphql", "{ controls { items { state } } }"],
    ] {
        let out = with_closed_stdout(args, &url);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
        // Ended by SIGPIPE, as `cat` would be, or exited 0; never an error exit.
        assert_ne!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}
