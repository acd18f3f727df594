//! Direct reads of the state database, for assertions the `Store` API does not
//! offer (row counts, handled event ids), and the transition-chain check shared
//! by the reliability tests.

use std::collections::BTreeMap;

use rel04d::store::TransitionRow;
use sqlx::AnyPool;

/// A small pool on a test's state database (SQLite file or Postgres database).
pub struct Db {
    pub pool: AnyPool,
}

impl Db {
    pub async fn connect(database_url: &str) -> Db {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(database_url)
            .await
            .expect("connect to the test database");
        Db { pool }
    }

    /// `SELECT COUNT(*)` of a statement's rows; errors (e.g. the table does not
    /// exist yet because nothing migrated the database) count as `None`.
    pub async fn count(&self, sql: &str) -> Option<i64> {
        sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&self.pool)
            .await
            .ok()
            .map(|(n,)| n)
    }

    /// The first (text) column of every row.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&self.pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|(s,)| s)
            .collect()
    }

    /// Row counts of every table a request could write to, to show that nothing
    /// changed.
    pub async fn table_counts(&self) -> BTreeMap<&'static str, Option<i64>> {
        let mut counts = BTreeMap::new();
        for table in [
            "controls",
            "transitions",
            "outbox",
            "processed_events",
            "inbox",
        ] {
            counts.insert(
                table,
                self.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            );
        }
        counts
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// One workload's recorded states, oldest first: `(from_state, to_state)`.
pub type Chain = Vec<(Option<String>, String)>;

/// Groups transitions by workload (oldest first) and checks that each chain
/// records every state change exactly once: it starts from NULL to `tbd`, each
/// `from_state` is the previous `to_state`, and no transition keeps the state.
pub fn valid_chains(transitions: &[TransitionRow]) -> BTreeMap<String, Chain> {
    let mut sorted: Vec<&TransitionRow> = transitions.iter().collect();
    sorted.sort_by_key(|t| t.id);
    let mut chains: BTreeMap<String, Chain> = BTreeMap::new();
    for t in sorted {
        chains
            .entry(t.workload_id.clone())
            .or_default()
            .push((t.from_state.clone(), t.to_state.clone()));
    }
    for (workload_id, chain) in &chains {
        assert_eq!(
            (chain[0].0.as_deref(), chain[0].1.as_str()),
            (None, "tbd"),
            "{workload_id} starts with its creation: {chain:?}"
        );
        for pair in chain.windows(2) {
            let ((_, previous_to), (from, to)) = (&pair[0], &pair[1]);
            assert_eq!(
                from.as_deref(),
                Some(previous_to.as_str()),
                "{workload_id}: a change recorded twice or lost: {chain:?}"
            );
            assert_ne!(
                from.as_deref(),
                Some(to.as_str()),
                "{workload_id}: a transition without a change: {chain:?}"
            );
        }
    }
    chains
}
