//! The policy hierarchy: where each policy value of a workload comes from.
//!
//! Levels, least to most specific: built-in default → global → `account:` →
//! `workload-name:<glob>` then `workload:<id>` → workload tags. The most specific
//! setting wins, except that a `required` setting holds against every more specific
//! level unless the challenger is marked `exception` (tags never are). Expired
//! settings are ignored. Every value keeps the settings it passed over and why, so
//! an operator can answer "why is this the value?" without reading code.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::calculated::{Calculation, CalculationTrace};
use super::policy::PolicyKey;
use super::question::ControlDef;

/// One configured block of policy values (the global table or one `[[policies.settings]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct PolicySetting {
    pub scope: Scope,
    /// Raw values; configuration validates them at load time, tags may still be invalid.
    pub values: BTreeMap<PolicyKey, String>,
    /// Values calculated per workload (a key is in `values` or here, not both).
    pub calculated: BTreeMap<PolicyKey, Calculation>,
    pub required: bool,
    pub exception: bool,
    pub expires: Option<DateTime<Utc>>,
    /// Where the setting was written, for explanations (e.g. `policies.settings[2]`).
    pub origin: String,
    /// Who answers for the setting and why (shown, never resolved).
    pub accountability: Accountability,
}

/// A setting's `reason`, `ticket` and `owner`, as configured.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Accountability {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl Accountability {
    pub fn is_empty(&self) -> bool {
        self.reason.is_none() && self.ticket.is_none() && self.owner.is_none()
    }

    /// `(field, value)` of each one set, in the order reason, ticket, owner.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("reason", &self.reason),
            ("ticket", &self.ticket),
            ("owner", &self.owner),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    }
}

impl PolicySet {
    /// The accountability of the configured setting written at `origin` (as
    /// recorded in an evaluation's details), when it has any.
    pub fn accountability(&self, origin: &str) -> Option<&Accountability> {
        self.settings
            .iter()
            .find(|s| s.origin == origin && !s.accountability.is_empty())
            .map(|s| &s.accountability)
    }

    /// When the configured setting written at `origin` expires, if it does.
    pub fn expiry(&self, origin: &str) -> Option<DateTime<Utc>> {
        self.settings
            .iter()
            .find(|s| s.origin == origin)
            .and_then(|s| s.expires)
    }
}

/// Every configured setting plus the tag rule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicySet {
    pub settings: Vec<PolicySetting>,
    /// The tag-key prefix when tag policies are enabled (e.g. `rel04d:`), else `None`.
    pub tag_prefix: Option<String>,
    /// Whether a tag may set `rel04` to an `Enforce:` value. Off by default:
    /// whoever may tag a workload could otherwise make rel04d rewrite its answer
    /// with rel04d's own credentials.
    pub tags_may_enforce: bool,
}

impl PolicySet {
    /// Calculated question-policy settings whose `Enforce:` values would be passed over:
    /// they read data a workload's owner controls and tags may not enforce.
    /// For `check-config` and the daemon's start.
    pub fn enforce_warnings(&self) -> Vec<String> {
        if self.tags_may_enforce {
            return Vec::new();
        }
        self.settings
            .iter()
            .flat_map(|s| {
                s.calculated.iter().filter_map(move |(key, calculation)| {
                    let path = calculation.owner_data.as_deref()?;
                    (!key.is_practice()).then(|| format!(
                        "{}: {key}'s template_input reads data a workload's owner controls ({path}); \
                         an Enforce: value it calculates is passed over (policies.tags.allow_enforce is false)",
                        s.origin
                    ))
                })
            })
            .collect()
    }
}

/// What the hierarchy needs to know about a workload.
#[derive(Clone, Copy, Debug)]
pub struct WorkloadFacts<'a> {
    pub account_id: &'a str,
    pub workload_id: &'a str,
    pub workload_name: &'a str,
    pub tags: &'a BTreeMap<String, String>,
}

/// A candidate value that was not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PassedOver {
    pub value: String,
    pub level: Level,
    pub origin: String,
    pub why: String,
    /// How the value was calculated, when its setting holds a calculation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Box<CalculationTrace>>,
}

/// The value a policy resolved to, with the level and setting that supplied it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedValue {
    pub value: String,
    pub level: Level,
    pub origin: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<PassedOver>,
    /// How the value was calculated, when its setting holds a calculation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculation: Option<Box<CalculationTrace>>,
}

/// The resolved policies of one control of one workload: its question policy
/// and its best-practice policies (REL 04: its five; any other question: its
/// question policy and every `<name>/<choice>` a setting or tag names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPolicies {
    control: Arc<ControlDef>,
    values: Vec<(PolicyKey, ResolvedValue)>,
}

static BUILT_IN_DEFAULT: LazyLock<ResolvedValue> = LazyLock::new(|| ResolvedValue {
    value: "Skip".to_owned(),
    level: Level::Default,
    origin: "built-in default".to_owned(),
    passed_over: Vec::new(),
    calculation: None,
});

impl ResolvedPolicies {
    /// The control these policies are of.
    pub fn control(&self) -> &Arc<ControlDef> {
        &self.control
    }

    /// The value of `key`; a policy no setting or tag names has the built-in default.
    pub fn get(&self, key: &PolicyKey) -> &ResolvedValue {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or(&BUILT_IN_DEFAULT)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PolicyKey, &ResolvedValue)> {
        self.values.iter().map(|(k, v)| (k, v))
    }
}

/// The calculations of one evaluation, by the origin of their setting and key.
#[derive(Clone, Debug, Default)]
pub struct Calculated(pub BTreeMap<(String, PolicyKey), CalculationTrace>);

/// Resolves REL 04's five policies for one workload at time `now`; calculated
/// settings show as not calculated (see [`resolve_calculated`]).
pub fn resolve(
    set: &PolicySet,
    workload: &WorkloadFacts<'_>,
    now: DateTime<Utc>,
) -> ResolvedPolicies {
    resolve_calculated(set, workload, now, &Calculated::default())
}

/// Whether a setting that expires at `expires` has lapsed at `now`: expiring
/// exactly now counts as expired. The one rule every surface uses (the sweep's
/// resolution, `explain`, GraphQL, the status page; Security Hub and OCSF show
/// what the sweep resolved), so they cannot disagree about an instant.
pub fn has_expired(expires: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    expires <= now
}

/// The settings that apply to `workload`, least specific first.
fn applicable<'a>(set: &'a PolicySet, workload: &WorkloadFacts<'_>) -> Vec<&'a PolicySetting> {
    let mut applicable: Vec<&PolicySetting> = set
        .settings
        .iter()
        .filter(|s| s.scope.applies_to(workload))
        .collect();
    applicable.sort_by_key(|s| s.scope.precedence()); // stable: config order within a level
    applicable
}

/// The calculations to run for `workload`: (origin, key, calculation) of every
/// applicable, unexpired setting that calculates a value.
pub fn calculations<'a>(
    set: &'a PolicySet,
    workload: &WorkloadFacts<'_>,
    now: DateTime<Utc>,
) -> Vec<(&'a str, PolicyKey, &'a Calculation)> {
    applicable(set, workload)
        .into_iter()
        .filter(|s| !s.expires.is_some_and(|at| has_expired(at, now)))
        .flat_map(|s| {
            s.calculated
                .iter()
                .map(move |(key, calculation)| (s.origin.as_str(), key.clone(), calculation))
        })
        .collect()
}

/// The calculations to run for `control` of `workload`: those of [`calculations`]
/// that set one of the control's policies.
pub fn calculations_of<'a>(
    control: &ControlDef,
    set: &'a PolicySet,
    workload: &WorkloadFacts<'_>,
    now: DateTime<Utc>,
) -> Vec<(&'a str, PolicyKey, &'a Calculation)> {
    let mut all = calculations(set, workload, now);
    all.retain(|(_, key, _)| control.owns(key));
    all
}

/// Resolves REL 04's five policies, taking calculated values from `calculated`.
pub fn resolve_calculated(
    set: &PolicySet,
    workload: &WorkloadFacts<'_>,
    now: DateTime<Utc>,
    calculated: &Calculated,
) -> ResolvedPolicies {
    resolve_control(&ControlDef::rel04(), set, workload, now, calculated)
}

/// The policies of `control` that apply to `workload`: REL 04's five; for any
/// other question its question policy, then every best-practice policy of it an
/// applicable setting or a tag names, in name order. (A best practice nothing
/// names is `Skip` by default.)
fn control_keys(
    control: &ControlDef,
    set: &PolicySet,
    applicable: &[&PolicySetting],
    workload: &WorkloadFacts<'_>,
) -> Vec<PolicyKey> {
    if control.is_rel04() {
        return PolicyKey::ALL.to_vec();
    }
    let mut practices: BTreeSet<PolicyKey> = applicable
        .iter()
        .flat_map(|s| s.values.keys().chain(s.calculated.keys()))
        .filter(|k| k.is_practice() && control.owns(k))
        .cloned()
        .collect();
    if let Some(prefix) = &set.tag_prefix {
        practices.extend(
            workload
                .tags
                .keys()
                .filter_map(|tag| tag.strip_prefix(prefix.as_str()))
                .map(PolicyKey::named)
                .filter(|k| k.is_practice() && control.owns(k)),
        );
    }
    std::iter::once(control.name.clone())
        .chain(practices)
        .collect()
}

/// Resolves the policies of `control` (see [`control_keys`]), taking
/// calculated values from `calculated`.
pub fn resolve_control(
    control: &Arc<ControlDef>,
    set: &PolicySet,
    workload: &WorkloadFacts<'_>,
    now: DateTime<Utc>,
    calculated: &Calculated,
) -> ResolvedPolicies {
    let applicable = applicable(set, workload);
    let keys = control_keys(control, set, &applicable, workload);
    let values = keys.into_iter().map(|key| {
        let configured = applicable.iter().filter_map(|s| {
            // A setting holds a key as a fixed value or as a calculation.
            let (value, calculation, owner_data) =
                match (s.values.get(&key), s.calculated.get(&key)) {
                    (Some(value), _) => (Cow::Borrowed(value.as_str()), None, None),
                    (None, Some(calculation)) => {
                        let trace = calculated
                            .0
                            .get(&(s.origin.clone(), key.clone()))
                            .cloned()
                            .unwrap_or_else(|| {
                                CalculationTrace::new(
                                    &calculation.template,
                                    None,
                                    Err("not calculated outside an evaluation".to_owned()),
                                )
                            });
                        (
                            Cow::Owned(trace.output.clone().unwrap_or_default()),
                            Some(Box::new(trace)),
                            calculation.owner_data.as_deref(),
                        )
                    }
                    (None, None) => return None,
                };
            Some((s, value, calculation, owner_data))
        });
        let configured = configured.map(|(s, value, calculation, owner_data)| Candidate {
            value,
            calculation,
            level: s.scope.level(),
            origin: s.origin.clone(),
            required: s.required,
            exception: s.exception,
            expires: s.expires,
            enforce_refused: owner_data.filter(|_| !set.tags_may_enforce).map(|path| {
                format!(
                    "calculated from data the workload's owner controls ({path}), it may not \
                     make rel04d write answers (policies.tags.allow_enforce is false)"
                )
            }),
        });
        let tag = set.tag_prefix.as_ref().and_then(|prefix| {
            let tag_key = format!("{prefix}{key}");
            workload.tags.get(&tag_key).map(|value| Candidate {
                value: Cow::Borrowed(value.as_str()),
                calculation: None,
                level: Level::Tag,
                origin: format!("tag {tag_key}"),
                required: false,
                exception: false,
                expires: None,
                enforce_refused: (!set.tags_may_enforce).then(|| {
                    "a tag may not make rel04d write answers (policies.tags.allow_enforce is false)"
                        .to_owned()
                }),
            })
        });
        let resolved = resolve_key(&key, configured.chain(tag), now);
        (key, resolved)
    });
    ResolvedPolicies {
        control: control.clone(),
        values: values.collect(),
    }
}

mod candidate;
mod scope;
use candidate::{Candidate, resolve_key};
pub use scope::{Level, Scope};

#[cfg(test)]
mod tests;
