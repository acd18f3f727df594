//! Turns a [`Filter`] into SQL for the two documented tables.
//!
//! Value terms become bound parameters (never spliced into the SQL); sort fields are
//! checked against the table's columns. Regex terms are applied to the rows
//! afterwards, because SQLite has no regex operator; with a regex in play the limit
//! is applied after it too. So are `$.path` terms, which look into the stored
//! workload description (JSON the two databases query differently).

use anyhow::Context;
use futures::TryStreamExt;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use super::Store;
use super::rows::{CONTROL_COLUMNS, ControlRow, TRANSITION_COLUMNS, TransitionRow};
use crate::filter::{self, Filter, Key, Matcher, Term};

mod guardrails;
pub use guardrails::ACTOR;

/// Rows a regex filter may test in one query. Each costs up to
/// [`crate::filter::MAX_REGEXES`] regex matches; past this the caller is asked to
/// narrow the filter with value terms, which the database applies with indexes.
pub const MAX_SCANNED_ROWS: usize = 100_000;
/// Rows tested between yields to the runtime, so a long scan neither starves
/// other tasks nor outlives a caller's deadline.
const ROWS_PER_YIELD: usize = 256;

/// The table a filter runs against, with what differs between them.
#[derive(Clone, Copy)]
enum Table {
    Controls,
    Transitions,
}

/// Thrown for a filter that parses but does not fit the table (e.g. a sort field).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Controls => "controls",
            Table::Transitions => "transitions",
        }
    }

    fn sortable(self) -> &'static [&'static str] {
        match self {
            Table::Controls => &[
                "workload_id",
                "workload_arn",
                "workload_name",
                "account_id",
                "region",
                "control_type",
                "lens",
                "question_id",
                "lens_status",
                "state",
                "created_at",
                "updated_at",
                "evaluated_at",
                "removed_at",
            ],
            Table::Transitions => &[
                "id",
                "workload_id",
                "workload_arn",
                "account_id",
                "region",
                "control_type",
                "lens",
                "question_id",
                "from_state",
                "to_state",
                "trigger",
                "occurred_at",
            ],
        }
    }

    fn default_order(self) -> &'static str {
        match self {
            Table::Controls => "account_id, region, workload_name, workload_arn, lens, question_id",
            Table::Transitions => "id DESC",
        }
    }

    /// The columns that order rows a sort field leaves tied, in order: together
    /// they are unique, so every page is well defined.
    fn tiebreak(self) -> &'static [&'static str] {
        match self {
            Table::Controls => &[
                "account_id",
                "region",
                "workload_name",
                "workload_arn",
                "lens",
                "question_id",
            ],
            Table::Transitions => &["id"],
        }
    }

    /// `ORDER BY` for a sort by `field`: the field, then the tiebreak columns
    /// (less the field itself), all in the sort's direction. So `sort:-x` is
    /// exactly `sort:x` reversed, and one index on (x, tiebreak…) serves both
    /// directions without sorting (`migrations/*/0009_sort_indexes.sql`).
    fn sorted_by(self, field: &str, descending: bool) -> String {
        let direction = if descending { "DESC" } else { "ASC" };
        let quoted = |column: &str| {
            if column == "trigger" {
                "\"trigger\"".to_owned()
            } else {
                column.to_owned()
            }
        };
        std::iter::once(field)
            .chain(self.tiebreak().iter().copied().filter(|c| *c != field))
            .map(|column| format!("{} {direction}", quoted(column)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The SQL condition for one value term, numbering its `$n` placeholders after those already in `binds`.
    fn condition(self, key: Key, values: &[String], binds: &mut Vec<String>) -> String {
        let list = |binds: &mut Vec<String>| {
            let start = binds.len();
            binds.extend(values.iter().cloned());
            (start + 1..=binds.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let column = match (self, key) {
            (Table::Controls, Key::State) => "state",
            (Table::Transitions, Key::State) => "to_state",
            (Table::Controls, Key::Workload) => {
                let ids = list(binds);
                let names = list(binds);
                return format!("(workload_id IN ({ids}) OR workload_name IN ({names}))");
            }
            (Table::Transitions, Key::Workload) => {
                let ids = list(binds);
                let names = list(binds);
                return format!(
                    "(workload_id IN ({ids}) OR workload_arn IN \
                     (SELECT workload_arn FROM controls WHERE workload_name IN ({names})))"
                );
            }
            (_, Key::Account) => "account_id",
            (_, Key::Region) => "region",
            (_, Key::Resource) => {
                let arns = list(binds);
                let ids = list(binds);
                return format!("(workload_arn IN ({arns}) OR workload_id IN ({ids}))");
            }
            (_, Key::ControlType) => "control_type",
            (_, Key::Lens) => "lens",
            (_, Key::Question) => "question_id",
            (Table::Controls, Key::LensStatus) => "lens_status",
            // A transition's lens status is its control's, now.
            (Table::Transitions, Key::LensStatus) => {
                return format!(
                    "(workload_arn, lens, question_id) IN (SELECT workload_arn, lens, question_id \
                     FROM controls WHERE lens_status IN ({}))",
                    list(binds)
                );
            }
            (_, Key::Notification) => return guardrails::notification_kinds(self, values),
            (_, Key::Actor) => return guardrails::actors(values).to_owned(),
            // Applied after the query (see `build`); scopes and times are not value lists.
            (_, Key::Data | Key::Scope | Key::Time(_)) => return "1 = 1".to_owned(),
        };
        format!("{column} IN ({})", list(binds))
    }
}

/// The fields a term is tested against, for regex and `$.path` terms applied
/// after the query.
trait Fields {
    fn fields(&self, key: Key) -> Vec<&str>;
    /// The JSON `$.path` terms look into ([`filter::resource_value`]).
    fn resource(&self) -> serde_json::Value;

    fn satisfies(&self, term: &Term) -> bool {
        match term.key {
            Key::Data => {
                let found = filter::strings_at(&self.resource(), &term.path);
                term.matches(found.iter().map(String::as_str))
            }
            key => term.matches(self.fields(key)),
        }
    }
}

impl Fields for ControlRow {
    fn fields(&self, key: Key) -> Vec<&str> {
        match key {
            Key::State => vec![self.state.as_str()],
            Key::Workload => vec![&self.workload_id, &self.workload_name],
            Key::Account => vec![&self.account_id],
            Key::Region => vec![&self.region],
            Key::Resource => vec![&self.workload_arn, &self.workload_id],
            Key::ControlType => vec![&self.control_type],
            Key::Lens => vec![&self.lens],
            Key::Question => vec![&self.question_id],
            Key::LensStatus => self.lens_status.as_deref().into_iter().collect(),
            Key::Time(_) | Key::Notification | Key::Actor | Key::Scope | Key::Data => Vec::new(),
        }
    }

    fn resource(&self) -> serde_json::Value {
        filter::resource_value(
            &self.workload_id,
            &self.workload_name,
            &self.workload_arn,
            &self.details.value(),
        )
    }
}

impl Fields for TransitionRow {
    fn fields(&self, key: Key) -> Vec<&str> {
        match key {
            Key::State => vec![&self.to_state],
            Key::Workload => vec![&self.workload_id],
            Key::Account => vec![&self.account_id],
            Key::Region => vec![&self.region],
            Key::Resource => vec![&self.workload_arn, &self.workload_id],
            Key::ControlType => vec![&self.control_type],
            Key::Lens => vec![&self.lens],
            Key::Question => vec![&self.question_id],
            // Not on the row; the filter refuses a regex on it.
            Key::LensStatus => Vec::new(),
            Key::Time(_) | Key::Notification | Key::Actor | Key::Scope | Key::Data => Vec::new(),
        }
    }

    fn resource(&self) -> serde_json::Value {
        let name = self.details["resource"]["WorkloadName"]
            .as_str()
            .unwrap_or_default();
        filter::resource_value(&self.workload_id, name, &self.workload_arn, &self.details)
    }
}

/// The SQL and binds for `filter` on `table`, plus the regex terms left to apply.
fn build(
    table: Table,
    filter: &Filter,
    offset: usize,
) -> Result<(String, Vec<String>, Vec<&Term>), QueryError> {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let mut regexes = Vec::new();
    for term in &filter.terms {
        match &term.matcher {
            Matcher::Regex(_) => regexes.push(term),
            Matcher::AnyOf(_) if term.key == Key::Data => regexes.push(term),
            matcher => {
                let condition = match (matcher, term.key) {
                    (Matcher::Scopes(scopes), _) => guardrails::scopes(scopes, &mut binds),
                    (Matcher::Times(bounds), Key::Time(field)) => {
                        guardrails::times(table.time_column(field), bounds, &mut binds)
                    }
                    (Matcher::AnyOf(values), key) => table.condition(key, values, &mut binds),
                    _ => return Err(QueryError(format!("{} takes no times", term.key))),
                };
                conditions.push(if term.negated {
                    format!("NOT {condition}")
                } else {
                    condition
                });
            }
        }
    }
    // Removed controls are history: shown only when a state term asks for them.
    let asks_for_removed = filter.terms.iter().any(|t| {
        t.key == Key::State
            && match &t.matcher {
                Matcher::AnyOf(values) => values.iter().any(|s| s == "removed"),
                _ => true,
            }
    });
    if matches!(table, Table::Controls) && !asks_for_removed {
        conditions.push("removed_at IS NULL".to_owned());
    }
    let columns = match table {
        Table::Controls => CONTROL_COLUMNS,
        Table::Transitions => TRANSITION_COLUMNS,
    };
    let mut sql = format!("SELECT {columns} FROM {}", table.name());
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    let order = match &filter.sort {
        None => table.default_order().to_owned(),
        Some(sort)
            if table.sortable().contains(&sort.field.as_str())
                || table.public_sort_column(&sort.field).is_some() =>
        {
            let column = table.public_sort_column(&sort.field).unwrap_or(&sort.field);
            table.sorted_by(column, sort.descending)
        }
        Some(sort) => {
            return Err(QueryError(format!(
                "cannot sort {} by `{}`; sortable fields: {}, timestamp, stateChangeTimestamp, \
                 createTimestamp, updateTimestamp",
                table.name(),
                sort.field,
                table.sortable().join(", ")
            )));
        }
    };
    sql.push_str(&format!(" ORDER BY {order}"));
    if regexes.is_empty() {
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        if offset > 0 {
            sql.push_str(&format!(" OFFSET {offset}"));
        }
    }
    Ok((sql, binds, regexes))
}

impl Store {
    /// Current controls matching `filter`.
    pub async fn list_controls(&self, filter: &Filter) -> anyhow::Result<Vec<ControlRow>> {
        self.list_controls_from(filter, 0).await
    }

    /// Like [`Store::list_controls`], skipping the first `offset` matches (paging).
    pub async fn list_controls_from(
        &self,
        filter: &Filter,
        offset: usize,
    ) -> anyhow::Result<Vec<ControlRow>> {
        self.list(Table::Controls, filter, offset, ControlRow::from_row)
            .await
            .context("list controls")
    }

    /// Transitions matching `filter`, newest first unless sorted otherwise.
    pub async fn list_transitions(&self, filter: &Filter) -> anyhow::Result<Vec<TransitionRow>> {
        self.list_transitions_from(filter, 0).await
    }

    /// Like [`Store::list_transitions`], skipping the first `offset` matches.
    pub async fn list_transitions_from(
        &self,
        filter: &Filter,
        offset: usize,
    ) -> anyhow::Result<Vec<TransitionRow>> {
        self.list(Table::Transitions, filter, offset, TransitionRow::from_row)
            .await
            .context("list transitions")
    }

    /// Runs `filter` on `table`. Without regex terms SQL does all the work; with
    /// them rows are streamed and tested one by one, stopping as soon as the page
    /// is full, so a regex never loads a whole table at once.
    async fn list<R: Fields>(
        &self,
        table: Table,
        filter: &Filter,
        offset: usize,
        from_row: fn(&AnyRow) -> anyhow::Result<R>,
    ) -> anyhow::Result<Vec<R>> {
        let (sql, binds, regexes) = build(table, filter, offset)?;
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in binds {
            query = query.bind(value);
        }
        if regexes.is_empty() {
            return query
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(from_row)
                .collect();
        }
        let limit = filter.limit.map_or(usize::MAX, |n| n as usize);
        let (mut rows, mut skipped, mut scanned) = (Vec::new(), 0, 0);
        let mut stream = query.fetch(&self.pool);
        while rows.len() < limit {
            let Some(row) = stream.try_next().await? else {
                break;
            };
            scanned += 1;
            if scanned > MAX_SCANNED_ROWS {
                return Err(QueryError(format!(
                    "the regex terms were tested on {MAX_SCANNED_ROWS} {} without filling the page; \
                     narrow the filter with value terms (e.g. account:, region:, state:)",
                    table.name()
                ))
                .into());
            }
            if scanned % ROWS_PER_YIELD == 0 {
                tokio::task::yield_now().await;
            }
            let row = from_row(&row)?;
            if !regexes.iter().all(|term| row.satisfies(term)) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
            } else {
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests;
