//! The SQL of Guardrails' terms: resource scopes down the hierarchy, time
//! bounds, notification kinds and actors, and sorting by public names. Every
//! value is a bound parameter; only column names chosen here reach the SQL.

use super::Table;
use crate::filter::{Bound, Scope, TimeField};

/// Appends `value` to the binds and returns its placeholder.
fn bind(binds: &mut Vec<String>, value: &str) -> String {
    binds.push(value.to_owned());
    format!("${}", binds.len())
}

/// Controls (or transitions) in any of `scopes`, each with everything below it.
pub fn scopes(scopes: &[Scope], binds: &mut Vec<String>) -> String {
    let any: Vec<String> = scopes
        .iter()
        .map(|scope| match scope {
            Scope::Everything => "1 = 1".to_owned(),
            // An identity holds no controls.
            Scope::Actor => "1 = 0".to_owned(),
            Scope::Account(account) => format!("account_id = {}", bind(binds, account)),
            Scope::Region { account, region } => format!(
                "(account_id = {} AND region = {})",
                bind(binds, account),
                bind(binds, region)
            ),
            Scope::Workload(id) => format!(
                "(workload_arn = {} OR workload_id = {})",
                bind(binds, id),
                bind(binds, id)
            ),
        })
        .collect();
    format!("({})", any.join(" OR "))
}

impl Table {
    /// The column (or expression over columns) holding a time field.
    pub(super) fn time_column(self, field: TimeField) -> &'static str {
        match (self, field) {
            // A notification is one instant: all its timestamps are when it happened.
            (Table::Transitions, _) => "occurred_at",
            (Table::Controls, TimeField::Create) => "created_at",
            (Table::Controls, TimeField::StateChange) => "updated_at",
            (Table::Controls, TimeField::Update) => "evaluated_at",
            (Table::Controls, TimeField::Timestamp) => "COALESCE(evaluated_at, updated_at)",
        }
    }

    /// A column named by Guardrails' public sort name, if `field` is one.
    pub(super) fn public_sort_column(self, field: &str) -> Option<&'static str> {
        TimeField::parse(field).map(|f| self.time_column(f))
    }
}

/// The stored timestamp within every bound.
pub fn times(column: &str, bounds: &[Bound], binds: &mut Vec<String>) -> String {
    let all: Vec<String> = bounds
        .iter()
        .map(|b| format!("{column} {} {}", b.op.sql(), bind(binds, &b.at)))
        .collect();
    format!("({})", all.join(" AND "))
}

/// Transitions of the notification kinds `kinds` (see [`crate::filter::NOTIFICATION_KINDS`]);
/// on controls, whether any kind is a control one at all.
pub fn notification_kinds(table: Table, kinds: &[String]) -> String {
    let any: Vec<&str> = kinds
        .iter()
        .map(|kind| match (table, kind.as_str()) {
            (_, "none") => "1 = 0",
            (Table::Controls, _) | (_, "control") => "1 = 1",
            (_, "control_created") => "from_state IS NULL",
            (_, "control_deleted") => "(from_state IS NOT NULL AND to_state = 'removed')",
            (_, "control_updated") => "(from_state IS NOT NULL AND to_state <> 'removed')",
            // The parser writes only NOTIFICATION_KINDS; anything else is none.
            _ => "1 = 0",
        })
        .collect();
    format!("({})", any.join(" OR "))
}

/// The identity rel04d records as the actor of everything it does.
pub const ACTOR: &str = "rel04d";

/// rel04d is the actor of every transition: naming it matches all, any other
/// identity none.
pub fn actors(actors: &[String]) -> &'static str {
    if actors.iter().any(|a| a == ACTOR) {
        "1 = 1"
    } else {
        "1 = 0"
    }
}
