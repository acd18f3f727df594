//! The `[policies]` section and its translation into the core's [`PolicySet`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::controls::Controls;
use crate::control::calculated::check_template;
use crate::control::{Calculation, PolicyKey, PolicySet, PolicySetting, Scope};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PoliciesSettings {
    #[serde(default)]
    pub global: PolicyBlock,
    #[serde(default)]
    pub settings: Vec<PolicyBlock>,
    pub tags: TagSettings,
    /// Refuse an `exception = true` setting that gives no `reason`.
    #[serde(default)]
    pub require_exception_reason: bool,
}

/// The most policies one block sets (a question's choices are about a dozen).
pub const MAX_KEYS_PER_BLOCK: usize = 1_000;

/// The longest `reason`, and the longest `ticket` and `owner`, a setting may carry.
pub const MAX_REASON: usize = 1_000;
pub const MAX_LABEL: usize = 200;

/// One block of policy values: `[policies.global]` (no scope) or one
/// `[[policies.settings]]` entry (with a scope).
///
/// Policy keys are names (REL 04's `rel04`, `identify`, …; `<name>` and
/// `<name>/<choice id>` of a configured question), so they are collected rather
/// than listed as fields: every other key of the block is a policy, checked by
/// [`PoliciesSettings::to_policy_set_for`] against the configured controls.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PolicyBlock {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The policy values, by policy name.
    #[serde(flatten)]
    pub values: BTreeMap<String, PolicyInput>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub exception: bool,
    #[serde(
        default,
        deserialize_with = "rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<DateTime<Utc>>,
    /// Why the setting exists (for an exception: why it was granted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The ticket or change record that approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Who is accountable for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// An RFC 3339 time, with an error that shows the expected form.
fn rfc3339<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text = String::deserialize(deserializer)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| Some(at.with_timezone(&Utc)))
        .map_err(|e| {
            serde::de::Error::custom(format!(
                "{text:?} is not an RFC 3339 time like 2027-01-01T00:00:00Z ({e})"
            ))
        })
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TagSettings {
    pub enabled: bool,
    pub prefix: String,
    /// Whether a tag may set `rel04` to an `Enforce:` value (see [`PolicySet`]).
    #[serde(default)]
    pub allow_enforce: bool,
}

/// A policy key's setting: a fixed value, or a calculation
/// (`{ template_input = "<GraphQL query>", template = "<Jinja template>" }`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PolicyInput {
    Fixed(String),
    Calculated(CalculatedInput),
    /// A value of the wrong type (a boolean, a number, a list), kept with
    /// serde's message so checking names its key: policy keys are collected
    /// by `flatten`, which would otherwise report the error at the block.
    #[serde(skip_serializing)]
    WrongType(String),
}

/// The longest `template_input` or `template`: each evaluation stores the
/// template in the control's details.
pub const MAX_CALCULATION_TEXT_BYTES: usize = 4 * 1024;

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalculatedInput {
    pub template_input: String,
    pub template: String,
}

impl From<&str> for PolicyInput {
    fn from(value: &str) -> Self {
        PolicyInput::Fixed(value.to_owned())
    }
}

/// By hand rather than `untagged`, so a malformed table gets its own error
/// (e.g. a missing `template`) instead of "did not match any variant".
impl<'de> Deserialize<'de> for PolicyInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PolicyInput;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a policy value, or a table { template_input, template }")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<PolicyInput, E> {
                Ok(PolicyInput::from(value))
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<PolicyInput, E> {
                Ok(wrong(serde::de::Unexpected::Bool(value)))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<PolicyInput, E> {
                Ok(wrong(serde::de::Unexpected::Signed(value)))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<PolicyInput, E> {
                Ok(wrong(serde::de::Unexpected::Unsigned(value)))
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<PolicyInput, E> {
                Ok(wrong(serde::de::Unexpected::Float(value)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PolicyInput, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(wrong(serde::de::Unexpected::Seq))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<PolicyInput, A::Error> {
                CalculatedInput::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(PolicyInput::Calculated)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// serde's own wording for a value of the wrong type.
fn wrong(unexpected: serde::de::Unexpected<'_>) -> PolicyInput {
    use serde::de::Error;
    let error = serde::de::value::Error::invalid_type(
        unexpected,
        &"a policy value, or a table { template_input, template }",
    );
    PolicyInput::WrongType(error.to_string())
}

impl PolicyBlock {
    /// The block's policies, each a name `controls` allows.
    fn values<'a>(
        &'a self,
        at: &str,
        controls: &Controls,
    ) -> Result<Vec<(PolicyKey, &'a PolicyInput)>, ConfigError> {
        if self.values.len() > MAX_KEYS_PER_BLOCK {
            return Err(ConfigError::new(
                at,
                format!(
                    "sets {} policies; a block sets at most {MAX_KEYS_PER_BLOCK}",
                    self.values.len()
                ),
            ));
        }
        self.values
            .iter()
            .map(|(name, value)| {
                if controls.allows(name) {
                    Ok((PolicyKey::named(name.as_str()), value))
                } else {
                    Err(ConfigError::new(
                        format!("{at}.{name}"),
                        format!(
                            "unknown field `{name}`: not a policy of a configured control; allowed: {}",
                            controls.allowed_names()
                        ),
                    ))
                }
            })
            .collect()
    }

    /// `reason`, `ticket` and `owner`: text, not blank, bounded, no control
    /// characters (they are shown on pages, in logs and in findings); and a
    /// reason on every exception when `require_reason`.
    fn check_accountability(&self, at: &str, require_reason: bool) -> Result<(), ConfigError> {
        for (name, value, max) in [
            ("reason", &self.reason, MAX_REASON),
            ("ticket", &self.ticket, MAX_LABEL),
            ("owner", &self.owner, MAX_LABEL),
        ] {
            let Some(text) = value else { continue };
            let problem = if text.trim().is_empty() {
                Some("must not be blank".to_owned())
            } else if text.chars().count() > max {
                Some(format!("is longer than {max} characters"))
            } else if text.chars().any(char::is_control) {
                Some("must not hold control characters (line breaks, tabs…)".to_owned())
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(ConfigError::new(format!("{at}.{name}"), problem));
            }
        }
        if require_reason && self.exception && self.reason.is_none() {
            return Err(ConfigError::new(
                format!("{at}.reason"),
                "this setting is an exception and policies.require_exception_reason is true: say why it was granted",
            ));
        }
        Ok(())
    }

    /// Checks the block; `at` is its key, e.g. `policies.settings[2]`.
    fn to_setting(&self, at: &str, controls: &Controls) -> Result<PolicySetting, ConfigError> {
        let scope = match (&self.scope, at == "policies.global") {
            (None, true) => Scope::Global,
            (Some(_), true) => {
                return Err(ConfigError::new(
                    "policies.global.scope",
                    "the global block applies everywhere and takes no scope",
                ));
            }
            (None, false) => return Err(ConfigError::new(format!("{at}.scope"), "missing scope")),
            (Some(text), false) => {
                Scope::parse(text).map_err(|m| ConfigError::new(format!("{at}.scope"), m))?
            }
        };
        let (mut values, mut calculated) = (BTreeMap::new(), BTreeMap::new());
        for (key, value) in self.values(at, controls)? {
            match value {
                PolicyInput::Fixed(value) => {
                    key.validate(value)
                        .map_err(|e| ConfigError::new(format!("{at}.{key}"), e.to_string()))?;
                    values.insert(key, value.clone());
                }
                PolicyInput::WrongType(message) => {
                    return Err(ConfigError::new(format!("{at}.{key}"), message.clone()));
                }
                PolicyInput::Calculated(input) => {
                    let checked = input.check(&format!("{at}.{key}"))?;
                    calculated.insert(key, checked);
                }
            }
        }
        let origin = match &scope {
            Scope::Global => at.to_owned(),
            scope => format!("{at} ({scope})"),
        };
        Ok(PolicySetting {
            scope,
            values,
            calculated,
            required: self.required,
            exception: self.exception,
            expires: self.expires,
            origin,
            accountability: crate::control::hierarchy::Accountability {
                reason: self.reason.clone(),
                ticket: self.ticket.clone(),
                owner: self.owner.clone(),
            },
        })
    }
}

impl CalculatedInput {
    /// A calculation whose query parses and whose template compiles; `at` is
    /// its key, e.g. `policies.settings[0].idempotent`. Whether the query fits
    /// the schema shows at the first evaluation (the control is `invalid`).
    fn check(&self, at: &str) -> Result<Calculation, ConfigError> {
        use async_graphql::parser::types::OperationType;
        for (field, text) in [
            ("template_input", &self.template_input),
            ("template", &self.template),
        ] {
            if text.len() > MAX_CALCULATION_TEXT_BYTES {
                return Err(ConfigError::new(
                    format!("{at}.{field}"),
                    format!(
                        "is {} bytes; a calculation's {field} is at most {} KiB",
                        text.len(),
                        MAX_CALCULATION_TEXT_BYTES / 1024
                    ),
                ));
            }
        }
        let document = async_graphql::parser::parse_query(&self.template_input).map_err(|e| {
            ConfigError::new(
                format!("{at}.template_input"),
                format!("not a GraphQL query: {e}"),
            )
        })?;
        // Evaluations read; a calculation must not mute or run controls.
        if document
            .operations
            .iter()
            .any(|(_, op)| op.node.ty != OperationType::Query)
        {
            return Err(ConfigError::new(
                format!("{at}.template_input"),
                "must be a query (a calculation cannot run mutations)",
            ));
        }
        check_template(&self.template).map_err(|e| {
            ConfigError::new(
                format!("{at}.template"),
                format!("not a valid template: {e}"),
            )
        })?;
        Ok(Calculation {
            template_input: self.template_input.clone(),
            template: self.template.clone(),
            owner_data: super::taint::owner_data(&self.template_input),
        })
    }
}

impl PoliciesSettings {
    /// The validated policy set of REL 04 alone (no `[[controls]]`).
    pub fn to_policy_set(&self) -> Result<PolicySet, ConfigError> {
        self.to_policy_set_for(&Controls::default())
    }

    /// The validated policy set the evaluator resolves against: every policy
    /// key names a policy of `controls`.
    pub fn to_policy_set_for(&self, controls: &Controls) -> Result<PolicySet, ConfigError> {
        let require = self.require_exception_reason;
        self.global
            .check_accountability("policies.global", require)?;
        let mut settings = vec![self.global.to_setting("policies.global", controls)?];
        for (index, block) in self.settings.iter().enumerate() {
            let at = format!("policies.settings[{index}]");
            block.check_accountability(&at, require)?;
            settings.push(block.to_setting(&at, controls)?);
        }
        if self.tags.enabled && self.tags.prefix.is_empty() {
            return Err(ConfigError::new(
                "policies.tags.prefix",
                "must not be empty when tags are enabled",
            ));
        }
        Ok(PolicySet {
            settings,
            tag_prefix: self.tags.enabled.then(|| self.tags.prefix.clone()),
            tags_may_enforce: self.tags.allow_enforce,
        })
    }
}
