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
use std::fmt;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::calculated::{Calculation, CalculationTrace};
use super::glob;
use super::policy::PolicyKey;
use super::question::ControlDef;

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
    fn precedence(&self) -> (Level, u8) {
        (self.level(), matches!(self, Scope::Workload(_)) as u8)
    }

    fn applies_to(&self, workload: &WorkloadFacts<'_>) -> bool {
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

struct Candidate<'a> {
    value: Cow<'a, str>,
    calculation: Option<Box<CalculationTrace>>,
    level: Level,
    origin: String,
    required: bool,
    exception: bool,
    expires: Option<DateTime<Utc>>,
    /// Why this candidate may not make the control write answers, if it may
    /// not: a tag, or a value calculated from what a workload's owner controls,
    /// unless the operator allows tags to (`policies.tags.allow_enforce`).
    enforce_refused: Option<String>,
}

impl Candidate<'_> {
    fn passed_over(&self, why: String) -> PassedOver {
        PassedOver {
            value: self.value.to_string(),
            level: self.level,
            origin: self.origin.clone(),
            why,
            calculation: self.calculation.clone(),
        }
    }
}

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

fn resolve_key<'a>(
    key: &PolicyKey,
    candidates: impl Iterator<Item = Candidate<'a>>,
    now: DateTime<Utc>,
) -> ResolvedValue {
    let mut current = ResolvedValue {
        value: key.default_value().to_owned(),
        level: Level::Default,
        origin: "built-in default".to_owned(),
        passed_over: Vec::new(),
        calculation: None,
    };
    let mut passed_over = Vec::new();
    // The most senior `required` setting in force, if any: (its origin, its level).
    let mut held_by: Option<(String, Level)> = None;
    for candidate in candidates {
        if let Some(expires) = candidate.expires.filter(|at| has_expired(*at, now)) {
            passed_over.push(candidate.passed_over(format!("expired at {}", expires.to_rfc3339())));
            continue;
        }
        if !key.is_practice()
            && is_enforce(&candidate.value)
            && let Some(why) = &candidate.enforce_refused
        {
            passed_over.push(candidate.passed_over(why.clone()));
            continue;
        }
        if let Some((holder, level)) = &held_by
            && candidate.level > *level
            && !candidate.exception
        {
            passed_over.push(candidate.passed_over(format!(
                "{holder} is required and this setting is not an exception"
            )));
            continue;
        }
        passed_over.push(PassedOver {
            value: std::mem::take(&mut current.value),
            level: current.level,
            origin: std::mem::take(&mut current.origin),
            why: format!("overridden by {}", candidate.origin),
            calculation: current.calculation.take(),
        });
        if candidate.required && held_by.is_none() {
            held_by = Some((candidate.origin.clone(), candidate.level));
        }
        current.value = candidate.value.into_owned();
        current.level = candidate.level;
        current.origin = candidate.origin;
        current.calculation = candidate.calculation;
    }
    current.passed_over = passed_over;
    current
}

/// Whether a question policy's value makes rel04d write answers.
fn is_enforce(value: &str) -> bool {
    value.starts_with("Enforce:")
}

#[cfg(test)]
mod tests;
