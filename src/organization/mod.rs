//! The fleet's accounts from AWS Organizations (`[aws.organization]`).
//!
//! [`discover`] lists the organisation (the adapter: paging, pacing, a call
//! budget); what it found becomes the selected accounts here, without I/O: the
//! include/exclude decision, the account cap, and the change between two
//! refreshes. The daemon turns the selection into scopes (see
//! [`crate::aws::scope_specs`]) and re-plans its scopes when they change
//! ([`refresh`], and `Daemon::replan` in the wiring).

pub mod discover;
pub mod refresh;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::OrgTarget;

/// What a refresh learned of the organisation: the accounts it listed (by id,
/// whether ACTIVE), and the accounts below each root or organizational unit
/// named by `include` or `exclude`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    /// Every account listed, and whether it is active (not suspended, closing or closed).
    pub accounts: BTreeMap<String, bool>,
    /// For each root or OU named in `include`/`exclude`: every account below it,
    /// at any depth.
    pub below: BTreeMap<String, BTreeSet<String>>,
}

/// More accounts selected than `aws.organization.max_accounts` allows.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "the organization selects {selected} accounts, more than aws.organization.max_accounts ({max}); raise it or narrow aws.organization.include/exclude"
)]
pub struct TooManyAccounts {
    pub selected: usize,
    pub max: usize,
}

/// The active accounts to scan: those `include` names (every listed account when
/// it is empty), less those `exclude` names (exclude wins), at most `max`.
pub fn select(
    membership: &Membership,
    include: &[OrgTarget],
    exclude: &[OrgTarget],
    max: usize,
) -> Result<BTreeSet<String>, TooManyAccounts> {
    let named = |targets: &[OrgTarget]| -> BTreeSet<String> {
        targets
            .iter()
            .flat_map(|target| match target {
                OrgTarget::Parent(parent) => membership
                    .below
                    .get(parent)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>(),
                OrgTarget::Account(id) => vec![id.clone()],
            })
            .collect()
    };
    let candidates: BTreeSet<String> = if include.is_empty() {
        membership.accounts.keys().cloned().collect()
    } else {
        named(include)
    };
    let excluded = named(exclude);
    // Only accounts the organisation listed as active: an included account id
    // that left the organisation, or was closed, is not scanned.
    let selected: BTreeSet<String> = candidates
        .into_iter()
        .filter(|id| !excluded.contains(id))
        .filter(|id| membership.accounts.get(id) == Some(&true))
        .collect();
    if selected.len() > max {
        return Err(TooManyAccounts {
            selected: selected.len(),
            max,
        });
    }
    Ok(selected)
}

/// What changed between two sets of scope keys (or account ids).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub joined: Vec<String>,
    pub left: Vec<String>,
}

impl Change {
    pub fn between(old: &BTreeSet<String>, new: &BTreeSet<String>) -> Change {
        Change {
            joined: new.difference(old).cloned().collect(),
            left: old.difference(new).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.joined.is_empty() && self.left.is_empty()
    }
}

#[cfg(test)]
mod tests;
