//! `[securityhub]`: one AWS Security Hub finding per control.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A Security Hub severity label (ASFF `SeverityLabel`), least severe first.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// The ASFF finding type namespaces (the first part of each `Types` entry).
const TYPE_NAMESPACES: [&str; 5] = [
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];

/// Security Hub takes at most 50 types per finding.
pub const MAX_TYPES: usize = 50;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityHubSettings {
    /// Import one finding per control (BatchImportFindings, each account's own
    /// credentials and region).
    #[serde(default)]
    pub enabled: bool,
    /// The severity of a FAILED finding (alarm); a WARNING one (error) is LOW,
    /// the others INFORMATIONAL.
    #[serde(default = "default_severity")]
    pub failed_severity: Severity,
    /// The finding's `Types` (`namespace/category/classifier`).
    #[serde(default = "default_types")]
    pub types: Vec<String>,
    /// `[securityhub.best_practices.<policy>]` (`identify`, `loosely_coupled`,
    /// `idempotent`, `constant_work`): what a FAILED finding says when that best
    /// practice is among those the control failed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub best_practices: BTreeMap<String, BestPracticeFinding>,
}

/// A FAILED finding's severity and extra `Types` when one best practice failed.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BestPracticeFinding {
    /// Unset: `securityhub.failed_severity`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_severity: Option<Severity>,
    /// Added after `securityhub.types`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// The policies `[securityhub.best_practices]` may name: one per best practice.
const BEST_PRACTICE_POLICIES: [&str; 4] =
    ["identify", "loosely_coupled", "idempotent", "constant_work"];

fn default_severity() -> Severity {
    Severity::Medium
}

fn default_types() -> Vec<String> {
    vec!["Software and Configuration Checks/AWS Security Best Practices".to_owned()]
}

impl Default for SecurityHubSettings {
    fn default() -> Self {
        SecurityHubSettings {
            enabled: false,
            failed_severity: default_severity(),
            types: default_types(),
            best_practices: BTreeMap::new(),
        }
    }
}

impl SecurityHubSettings {
    /// `types`: 1 to 50 entries, each `namespace[/category[/classifier]]` with a
    /// namespace Security Hub knows and no empty part.
    /// `best_practices`: keyed by a best practice's policy, its types valid
    /// too, and all the types together at most 50.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let key = "securityhub.types";
        if self.types.is_empty() || self.types.len() > MAX_TYPES {
            return Err(ConfigError::new(
                key,
                format!("needs 1 to {MAX_TYPES} types, has {}", self.types.len()),
            ));
        }
        check_types(key, &self.types)?;
        let mut total = self.types.len();
        for (policy, finding) in &self.best_practices {
            let key = format!("securityhub.best_practices.{policy:.40}");
            if !BEST_PRACTICE_POLICIES.contains(&policy.as_str()) {
                return Err(ConfigError::new(
                    key.as_str(),
                    format!(
                        "is not a best practice's policy; one of {}",
                        BEST_PRACTICE_POLICIES.join(", ")
                    ),
                ));
            }
            check_types(&format!("{key}.types"), &finding.types)?;
            total += finding.types.len();
        }
        if total > MAX_TYPES {
            return Err(ConfigError::new(
                "securityhub.best_practices",
                format!(
                    "securityhub.types and the best practices' types together exceed {MAX_TYPES} ({total})"
                ),
            ));
        }
        Ok(())
    }
}

/// Each entry `namespace[/category[/classifier]]` with a namespace Security Hub
/// knows and no empty part.
fn check_types(key: &str, types: &[String]) -> Result<(), ConfigError> {
    for entry in types {
        let parts: Vec<&str> = entry.split('/').collect();
        let known = TYPE_NAMESPACES.contains(&parts[0]);
        if !known || parts.len() > 3 || parts.iter().any(|p| p.trim().is_empty()) {
            return Err(ConfigError::new(
                key,
                format!(
                    "`{entry:.80}` is not namespace/category/classifier with a namespace among {}",
                    TYPE_NAMESPACES.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_types(types: &[&str]) -> SecurityHubSettings {
        SecurityHubSettings {
            types: types.iter().map(|t| (*t).to_owned()).collect(),
            ..SecurityHubSettings::default()
        }
    }

    #[test]
    fn the_default_types_are_valid() {
        SecurityHubSettings::default().validate().unwrap();
        with_types(&["TTPs", "Effects/Data Exposure"])
            .validate()
            .unwrap();
    }

    #[test]
    fn types_outside_the_asff_taxonomy_are_refused_naming_the_key() {
        for bad in [
            vec![],
            vec!["Nonsense/Category"],
            vec!["TTPs/a/b/c"],
            vec!["TTPs//x"],
        ] {
            let err = with_types(&bad).validate().unwrap_err();
            assert_eq!(err.key, "securityhub.types", "{bad:?}");
        }
        let many = vec!["TTPs"; MAX_TYPES + 1];
        assert!(with_types(&many).validate().is_err());
    }

    #[test]
    fn best_practices_are_keyed_by_their_policy_and_their_types_checked() {
        let mut settings = SecurityHubSettings::default();
        settings.best_practices.insert(
            "idempotent".into(),
            BestPracticeFinding {
                failed_severity: Some(Severity::High),
                types: vec!["Effects/Data Exposure".into()],
            },
        );
        settings.validate().unwrap();
        let mut wrong = settings.clone();
        wrong
            .best_practices
            .insert("rel04".into(), BestPracticeFinding::default());
        let err = wrong.validate().unwrap_err();
        assert_eq!(err.key, "securityhub.best_practices.rel04");
        let mut bad_type = settings.clone();
        bad_type.best_practices.get_mut("idempotent").unwrap().types = vec!["Nonsense".into()];
        let err = bad_type.validate().unwrap_err();
        assert_eq!(err.key, "securityhub.best_practices.idempotent.types");
        let mut many = settings;
        many.best_practices.get_mut("idempotent").unwrap().types = vec!["TTPs".into(); MAX_TYPES];
        let err = many.validate().unwrap_err();
        assert_eq!(err.key, "securityhub.best_practices");
    }
}
