//! Levels and scopes: how specific a setting is, and which workloads it applies to.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::WorkloadFacts;
use crate::control::glob;

/// How specific a policy setting is; later variants win.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Default,
    Global,
    Account,
    Workload,
    Tag,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Default => "default",
            Level::Global => "global",
            Level::Account => "account",
            Level::Workload => "workload",
            Level::Tag => "tag",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which workloads a configured setting applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Global,
    Account(String),
    WorkloadName(String),
    Workload(String),
}

impl Scope {
    /// Parses `account:<12 digits>`, `workload:<id>` or `workload-name:<glob>`.
    pub fn parse(text: &str) -> Result<Scope, String> {
        let (kind, rest) = text.split_once(':').ok_or_else(|| {
            format!(
                "scope {text:?} must be account:<12 digits>, workload:<id> or workload-name:<glob>"
            )
        })?;
        match kind {
            "account" if rest.len() == 12 && rest.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Scope::Account(rest.to_owned()))
            }
            "account" => Err(format!(
                "account scope {rest:?} is not a 12-digit account id"
            )),
            // The Tool's workload ids are 32 lowercase hex digits; anything else
            // would silently match nothing.
            "workload"
                if rest.len() == 32
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
            {
                Ok(Scope::Workload(rest.to_owned()))
            }
            "workload" if !rest.is_empty() => Err(format!(
                "workload scope {rest:?} is not a workload id (32 lowercase hex digits)"
            )),
            "workload-name" if !rest.is_empty() => Ok(Scope::WorkloadName(rest.to_owned())),
            "workload" | "workload-name" => Err(format!("scope {text:?} names no workload")),
            _ => Err(format!(
                "unknown scope kind {kind:?}; expected account, workload or workload-name"
            )),
        }
    }

    pub fn level(&self) -> Level {
        match self {
            Scope::Global => Level::Global,
            Scope::Account(_) => Level::Account,
            Scope::WorkloadName(_) | Scope::Workload(_) => Level::Workload,
        }
    }

    /// Order of application: by level, and an exact workload id after a name glob.
    pub(super) fn precedence(&self) -> (Level, u8) {
        (self.level(), matches!(self, Scope::Workload(_)) as u8)
    }

    pub(super) fn applies_to(&self, workload: &WorkloadFacts<'_>) -> bool {
        match self {
            Scope::Global => true,
            Scope::Account(id) => id == workload.account_id,
            Scope::Workload(id) => id == workload.workload_id,
            Scope::WorkloadName(pattern) => glob::matches(pattern, workload.workload_name),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Account(id) => write!(f, "account:{id}"),
            Scope::Workload(id) => write!(f, "workload:{id}"),
            Scope::WorkloadName(glob) => write!(f, "workload-name:{glob}"),
        }
    }
}
