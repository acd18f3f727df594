//! The state database: SQLite (embedded default) or Postgres, chosen by URL.
//!
//! One code path serves both through sqlx's `Any` driver: queries use `$n`
//! placeholders (both engines accept them), timestamps are fixed-width RFC 3339 text
//! and JSON is text, so the documented tables read the same everywhere. Only the
//! migrations differ, in `migrations/sqlite` and `migrations/postgres`.

mod apply;
mod controls;
mod events;
mod exception_warnings;
mod findings;
mod group;
mod health;
mod key;
mod learned_rates;
mod leases;
mod migrations;
mod mutes;
mod outbox;
mod overview;
mod own_writes;
mod query;
mod record_group;
mod rows;
mod settle;
mod steady;
mod transition;
mod url;
mod write;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Connection, Executor};

pub use apply::{Applied, Effect, Evaluation, Known};
pub use controls::StateCount;
pub use events::{AttemptEnd, InboxAttempt, InboxRow};
pub use exception_warnings::{ExceptionExpiring, WarningRow};
pub use findings::DueFinding;
pub(crate) use group::GroupCommit;
pub use health::WriteHealth;
pub use key::{ControlKey, is_rel04};
pub use mutes::{MuteError, MuteEvent, MuteWords, check_mute};
pub use outbox::{EventQueue, MAX_PUBLISH_ATTEMPTS, Notification, OutboxRow};
pub use overview::SweepRow;
pub use query::{ACTOR, QueryError};
pub use rows::{ControlRow, JsonText, Mute, TransitionRow};
pub use settle::{
    Decision as SettleDecision, RecentStep, SettleFacts, SettleRule, SettleStep, Settled, Undecided,
};
pub use steady::{FLUSH_AFTER, FLUSH_ROWS};
pub use url::{UrlError, check_url, redact_url};
pub use write::{NOT_EVALUATED, Recording, Written};

/// The statements that write controls found by their key and version: one
/// control's update and removal, and a batch of evaluation times (two rows);
/// for the test of PostgreSQL's plans for them.
#[doc(hidden)]
pub fn writes_by_key() -> [String; 3] {
    [
        write::UPDATE_CONTROL.clone(),
        write::REMOVE_CONTROL.to_owned(),
        steady::bumps_sql(2),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the state database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// Where every write goes. On SQLite a pool of one connection of its own:
    /// in WAL mode a connection discards its whole page cache whenever another
    /// connection has committed, so with writes spread over the pool each
    /// write re-read the pages it changes; one writer keeps them cached. On
    /// PostgreSQL, and for a read-only store, the pool itself.
    writer: AnyPool,
    /// One connection of its own for readiness ([`Store::ping`], [`Store::last_sweeps`]):
    /// a pool busy serving reads is not a database that does not answer, so
    /// readiness never waits behind it.
    probe: AnyPool,
    backend: Backend,
    /// Whether transitions also write an outbox row (notifications are on).
    outbox: bool,
    /// Whether changes to a control also queue its Security Hub finding.
    findings: bool,
    /// Whether writes succeed, shared by every clone of this store.
    health: Arc<WriteHealth>,
    /// Unchanged evaluations' `evaluated_at` bumps, written together.
    evaluated: Arc<steady::EvaluatedBatch>,
    /// Changes of controls waiting to share a commit.
    recordings: Arc<GroupCommit<record_group::QueuedRecording>>,
    /// SQLite's writers, one at a time (see [`Store::begin_write`]); `None` on
    /// PostgreSQL, whose row locks let writers run side by side.
    writer_turns: Option<Arc<tokio::sync::Semaphore>>,
}

/// A write transaction, holding this process's SQLite writer turn until it
/// commits or is dropped (rolled back).
pub(crate) struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::Transaction<'static, sqlx::Any>;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Why the store could not be opened; shown to users as is.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres:, got {0:?}")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot open the database {url}: {source}")]
    Unreachable { url: String, source: sqlx::Error },
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database already holds another application's tables ({0}) and no rel04d \
         schema: give rel04d a database of its own"
    )]
    Foreign(String),
    #[error(
        "the state database {0} does not exist: start the daemon or run `rel04d migrate` first"
    )]
    Missing(String),
    #[error("cannot read the database's tables: {0}")]
    Inspect(sqlx::Error),
}

/// How long readiness waits for its probe connection (a probe holds it for one
/// small query, so this is only ever reached by a database that does not answer).
const PROBE_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The options of a pool of at most `max_connections` to `url`.
/// What every new connection runs first.
fn connection_set_up(backend: Backend, url: &str, read_only: bool) -> &'static str {
    // WAL lets readers (the CLI, HTTP queries) run beside the daemon's writer;
    // NORMAL sync is durable across process crashes, which is what we need.
    // A read-only open (a snapshot, `mode=ro`) cannot change the journal
    // mode, and need not: it only reads.
    match backend {
        Backend::Sqlite if read_only => "PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;",
        Backend::Sqlite if sqlite_read_only(url) => "PRAGMA busy_timeout = 10000;",
        Backend::Sqlite => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;"
        }
        Backend::Postgres if read_only => "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        Backend::Postgres => "",
    }
}

fn pool_options(set_up: &'static str, max_connections: u32) -> AnyPoolOptions {
    let options = AnyPoolOptions::new()
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .after_release(|conn, _| Box::pin(still_usable(conn)));
    if set_up.is_empty() {
        return options;
    }
    options.after_connect(move |conn, _| {
        Box::pin(async move {
            conn.execute(set_up).await?;
            Ok(())
        })
    })
}

impl Store {
    /// Opens a pool. SQLite files are created when the URL says `mode=rwc`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        Store::open(url, max_connections, false).await
    }

    /// Opens a database that must already exist, read-only, for commands that
    /// only read (`controls`, `history`, `explain`, `enforce --plan`, GraphQL
    /// queries): a SQLite file is opened `mode=ro` whatever the URL says (never
    /// created, never switched to WAL), and every connection refuses writes
    /// (`PRAGMA query_only`, Postgres `READ ONLY` transactions). Nothing is
    /// migrated; [`Store::check_schema`] says when the schema is behind.
    pub async fn connect_read_only(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let url = match url::sqlite_parts(url) {
            Some((path, query)) => {
                if !path.is_empty() && !std::path::Path::new(path).exists() {
                    return Err(StoreError::Missing(redact_url(url)));
                }
                let base = url.split_once('?').map_or(url, |(base, _)| base);
                let mut params: Vec<&str> = query
                    .split('&')
                    .filter(|pair| !pair.is_empty() && !pair.starts_with("mode="))
                    .collect();
                params.push("mode=ro");
                format!("{base}?{}", params.join("&"))
            }
            None => url.to_owned(),
        };
        Store::open(&url, max_connections, true).await
    }

    async fn open(url: &str, max_connections: u32, read_only: bool) -> Result<Store, StoreError> {
        install_default_drivers();
        check_url(url)?;
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let set_up = connection_set_up(backend, url, read_only);
        let unreachable = |source| StoreError::Unreachable {
            url: redact_url(url),
            source,
        };
        // The pool retries a connection whose set-up fails until its acquire
        // timeout, then reports only the timeout; one connection first, so a
        // file that is not a database says so at once.
        let mut first = sqlx::AnyConnection::connect(url)
            .await
            .map_err(unreachable)?;
        if !set_up.is_empty() {
            first.execute(set_up).await.map_err(unreachable)?;
        }
        let _ = first.close().await;
        let pool = pool_options(set_up, max_connections)
            .connect(url)
            .await
            .map_err(unreachable)?;
        let writer = match backend {
            Backend::Sqlite if !read_only && !sqlite_read_only(url) => pool_options(set_up, 1)
                .connect(url)
                .await
                .map_err(unreachable)?,
            _ => pool.clone(),
        };
        // Opened when readiness first asks, so commands that never do open nothing.
        let probe = pool_options(set_up, 1)
            .acquire_timeout(PROBE_ACQUIRE_TIMEOUT)
            .connect_lazy(url)
            .map_err(unreachable)?;
        Ok(Store {
            pool,
            writer,
            probe,
            backend,
            outbox: false,
            findings: false,
            health: Arc::default(),
            evaluated: Arc::default(),
            recordings: Arc::new(GroupCommit::new(record_group::MAX_PER_COMMIT)),
            writer_turns: (backend == Backend::Sqlite)
                .then(|| Arc::new(tokio::sync::Semaphore::new(1))),
        })
    }

    /// Opens a database that must already exist, for commands that only read or
    /// edit it: a SQLite URL's `mode=rwc` is not allowed to create an empty file.
    pub async fn connect_existing(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let Some((path, _)) = url::sqlite_parts(url) else {
            return Store::connect(url, max_connections).await;
        };
        if !path.is_empty() && !std::path::Path::new(path).exists() {
            return Err(StoreError::Missing(redact_url(url)));
        }
        Store::connect(&url.replace("mode=rwc", "mode=rw"), max_connections).await
    }

    /// Applies pending migrations; safe to run on every start and from several
    /// replicas. A database that holds other tables but no rel04d schema is
    /// refused: migrating would mix rel04d's tables into another application's.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let tables = self.tables().await.map_err(StoreError::Inspect)?;
        if !tables.is_empty() && !tables.iter().any(|t| t == "_sqlx_migrations") {
            let mut shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
            if tables.len() > shown.len() {
                shown.push("…");
            }
            return Err(StoreError::Foreign(shown.join(", ")));
        }
        match self.backend {
            Backend::Sqlite => migrations::SQLITE.run(&self.pool).await?,
            Backend::Postgres => migrations::POSTGRES.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Makes every transition also queue a notification in the outbox.
    pub fn with_outbox(mut self, enabled: bool) -> Store {
        self.outbox = enabled;
        self
    }

    /// Checks that every migration this build knows is applied, without applying
    /// any; the error says what to do.
    pub async fn check_schema(&self) -> anyhow::Result<()> {
        let known = match self.backend {
            Backend::Sqlite => migrations::SQLITE.iter().count(),
            Backend::Postgres => migrations::POSTGRES.iter().count(),
        } as i64;
        // A database that cannot be read at all (a corrupt file) says so; only
        // one that reads and lacks the table has no schema yet.
        let tables = self.tables().await.map_err(StoreError::Inspect)?;
        anyhow::ensure!(
            tables.iter().any(|t| t == "_sqlx_migrations"),
            "the state database has no rel04d tables yet: start the daemon or run `rel04d migrate` first"
        );
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .context("read the state database's schema version")?;
        anyhow::ensure!(
            applied >= known,
            "the state database is at schema {applied} of {known}: run `rel04d migrate` (the daemon also migrates at start)"
        );
        Ok(())
    }

    /// The user tables of the database (of the current schema on Postgres).
    async fn tables(&self) -> Result<Vec<String>, sqlx::Error> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() ORDER BY table_name"
            }
        };
        let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers, for readiness checks: on the probe
    /// connection, so a pool whose every connection is busy does not fail it.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.probe)
            .await
            .context("database ping")?;
        Ok(())
    }

    /// Whether writes succeed; evaluations and the intake report into it.
    pub fn write_health(&self) -> &WriteHealth {
        &self.health
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
        self.probe.close().await;
    }

    /// Begins a write transaction. SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue on the busy timeout instead
    /// of failing when a read transaction tries to upgrade.
    ///
    /// This process's SQLite writers first take turns in memory: SQLite's busy
    /// handler sleeps 1, 2, 5, 10… ms between tries and leaves the lock idle
    /// meanwhile, so 32 workers creating controls spent a third of a first
    /// sweep asleep. (Other processes still meet the busy handler.)
    async fn begin_write(&self) -> anyhow::Result<WriteTx> {
        let turn = self.writer_turn().await;
        let tx = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        };
        if tx.is_err() {
            self.health.observe(false);
        }
        let tx = tx.context("begin a database transaction")?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// The writer's turn on SQLite (`None` on PostgreSQL), as a write
    /// transaction takes it; a lone statement written outside one takes it too.
    async fn writer_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let turns = self.writer_turns.as_ref()?;
        Some(
            turns
                .clone()
                .acquire_owned()
                .await
                .expect("the writer turns are never closed"),
        )
    }

    /// Commits a write transaction and records whether it succeeded. A failed
    /// commit leaves the connection to [`still_usable`], which closes it if sqlx
    /// still thinks a transaction is open on it.
    async fn commit(&self, tx: WriteTx, what: &'static str) -> anyhow::Result<()> {
        let committed = tx.tx.commit().await;
        self.health.observe(committed.is_ok());
        committed.with_context(|| format!("commit {what}"))
    }
}

/// Decides, as a connection comes back to the pool, whether it may be reused.
///
/// A COMMIT that fails with "database or disk is full" or an I/O error makes
/// SQLite roll the transaction back by itself; sqlx's rollback-on-drop then fails
/// ("no transaction is active") and its transaction depth stays at 1, so every
/// later `BEGIN` on that connection fails with "attempted to call begin_with at
/// non-zero transaction depth" — for good, also once the disk has room again.
/// Such a connection is closed here, and the pool opens a fresh one.
async fn still_usable(conn: &mut sqlx::AnyConnection) -> Result<bool, sqlx::Error> {
    // Nearly every connection comes back outside any transaction: no round trip.
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // Runs the rollback a dropped transaction queued, so the depth below is final.
    conn.ping().await?;
    let in_transaction = conn.is_in_transaction();
    if in_transaction {
        tracing::warn!("closing a database connection left inside a failed transaction");
    }
    Ok(!in_transaction)
}

/// Whether a SQLite URL opens the file read-only.
fn sqlite_read_only(url: &str) -> bool {
    url::sqlite_parts(url).is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair == "mode=ro" || pair == "immutable=1" || pair == "immutable=true")
    })
}

/// The one timestamp format of the database: RFC 3339, UTC, microseconds, `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A migrated SQLite store in a temporary directory (tests).
#[cfg(test)]
pub(crate) async fn scratch_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&url, 2).await.unwrap();
    store.migrate().await.unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fixed_width_so_they_sort_as_text() {
        use chrono::TimeZone;
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp(a), "2026-01-02T03:04:05.000000Z");
        let b = a + chrono::Duration::microseconds(1);
        assert!(timestamp(a) < timestamp(b));
    }

    /// Readiness asks on its own connection: with every pooled connection held
    /// (as by slow page reads) it still answers, instead of waiting out the
    /// pool's acquire timeout and failing.
    #[tokio::test]
    async fn readiness_answers_while_every_pooled_connection_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("state.db").display()
        );
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        let held = (
            store.pool.acquire().await.unwrap(),
            store.pool.acquire().await.unwrap(),
        );
        assert_eq!(store.pool.num_idle(), 0);
        store.ping().await.expect("the probe answers");
        store
            .last_sweeps()
            .await
            .expect("the probe reads the sweeps");
        drop(held);
    }
}
