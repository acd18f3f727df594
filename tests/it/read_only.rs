//! Commands that only read (`controls`, `history`, `explain`, `enforce --plan`,
//! `graphql` queries) never create, change or migrate the state database: the
//! file's bytes are the same after each, a missing file stays missing, and a
//! database behind the schema is refused with the command that migrates it.

use std::process::Output;

use rel04d_simulator::Simulator;

use crate::common::process::rel04d;
use crate::common::*;

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

/// Each read-only command, with the arguments it needs.
fn read_only_commands(workload_id: &str) -> Vec<Vec<String>> {
    [
        &["controls"][..],
        &["controls", "--output", "csv"],
        &["history", "--output", "json"],
        &["explain", "--workload", workload_id],
        &["enforce", "--plan"],
        &["graphql", "{ controls { items { state } } }"],
        &["graphql", "controls"],
    ]
    .iter()
    .map(|args| args.iter().map(|a| a.to_string()).collect())
    .collect()
}

fn run(args: &[String], database_url: &str, tool: &str) -> Output {
    rel04d()
        .args(args)
        .env("REL04D__DATABASE__URL", database_url)
        .env("REL04D__AWS__REGIONS", REGION)
        .env("AWS_ENDPOINT_URL_WELLARCHITECTED", tool)
        .output()
        .expect("run rel04d")
}

/// Runs every read-only command on `url` (a database without rel04d's schema),
/// each refused with `why`.
fn each_refused(url: &str, why: &str) {
    for args in read_only_commands("w-1") {
        let out = run(&args, url, "http://127.0.0.1:1");
        assert!(!out.status.success(), "{args:?}: {}", said(&out));
        assert!(said(&out).contains(why), "{args:?}: {}", said(&out));
    }
}

/// One workload swept into `env`'s database.
async fn swept() -> (TestEnv, String) {
    let sim = Simulator::new(REGION);
    let id = sim
        .add_workload(workload("read-only", answer(&ALL_FOUR, &[], true)))
        .id;
    let env = TestEnv::start(sim, &format!("[policies.global]\n{ALL_TRUE}\n")).await;
    env.sweep().await;
    (env, id)
}

/// A SQLite file as backups write it (rollback journal, not WAL): the file any
/// open for writing would change at once, by switching it to WAL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_leave_the_database_file_byte_for_byte() {
    if std::env::var("REL04D_TEST_POSTGRES_URL").is_ok() {
        eprintln!("a SQLite file's bytes; the SQLite pass runs this");
        return;
    }
    let (env, id) = swept().await;
    let snapshot = env.dir.path().join("snapshot.db");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        snapshot.display()
    )))
    .execute(&db::Db::connect(&env.database_url).await.pool)
    .await
    .unwrap();
    let before = std::fs::read(&snapshot).unwrap();
    // `mode=rwc`, as in the shipped configuration: read-only commands ignore it.
    let url = format!("sqlite://{}?mode=rwc", snapshot.display());
    for args in read_only_commands(&id) {
        let out = run(&args, &url, &env.server.url());
        assert!(out.status.success(), "{args:?}: {}", said(&out));
        assert!(
            std::fs::read(&snapshot).unwrap() == before,
            "{args:?} changed the database file"
        );
    }
    env.stop().await;
}

#[test]
fn read_only_commands_never_create_a_missing_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    each_refused(&url, "does not exist");
    assert!(!path.exists(), "created {}", path.display());
}

/// A database one migration behind this build (an older daemon's): read-only
/// commands refuse it, naming the command that migrates, and migrate nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_refuse_an_older_schema_and_migrate_nothing() {
    let (env, id) = swept().await;
    let db = db::Db::connect(&env.database_url).await;
    let latest = "SELECT MAX(version) FROM _sqlx_migrations";
    let newest = db.count(latest).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM _sqlx_migrations WHERE version = {newest}"
    )))
    .execute(&db.pool)
    .await
    .unwrap();
    for args in read_only_commands(&id) {
        let out = run(&args, &env.database_url, &env.server.url());
        assert!(!out.status.success(), "{args:?} accepted an older schema");
        assert!(
            said(&out).contains("rel04d migrate"),
            "{args:?}: {}",
            said(&out)
        );
        assert!(
            db.count(latest).await.unwrap() < newest,
            "{args:?} migrated the database"
        );
    }
    db.close().await;
    env.stop().await;
}

/// The empty database of a new install: nothing is created in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_commands_create_no_tables_in_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(&dir).await;
    // SQLite: an empty file (Postgres: the fresh database).
    if let Some(path) = url.strip_prefix("sqlite://") {
        std::fs::File::create(path.split('?').next().unwrap()).unwrap();
    }
    each_refused(&url, "no rel04d tables");
    let db = db::Db::connect(&url).await;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM _sqlx_migrations").await,
        None
    );
    db.close().await;
}

/// In-memory databases are refused on every path, the command line included,
/// naming where the URL came from.
#[test]
fn every_in_memory_database_url_is_refused_by_every_command() {
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://%3Amemory%3A",
        "sqlite://x.db?mode=memory",
        "sqlite://x.db?mode=%6Demory",
        "sqlite://file::memory:?cache=shared",
        "sqlite:",
    ] {
        // Given by flag to any command, or by the configuration.
        let flagged = |command: &str| {
            let mut rel04d = rel04d();
            rel04d.args(["--database-url", url, command]);
            (rel04d, "--database-url")
        };
        let configured = || {
            let mut rel04d = rel04d();
            rel04d.arg("check-config").env("REL04D__DATABASE__URL", url);
            (rel04d, "database.url")
        };
        for (mut command, key) in [
            flagged("check-config"),
            flagged("controls"),
            flagged("migrate"),
            configured(),
        ] {
            let out = command.output().unwrap();
            assert!(!out.status.success(), "{command:?} accepted {url}");
            assert!(
                said(&out).contains(&format!("configuration key `{key}`")),
                "{command:?}: {}",
                said(&out)
            );
        }
    }
}
