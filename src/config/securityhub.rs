//! `[securityhub]`: one AWS Security Hub finding per control.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A Security Hub severity label (ASFF `SeverityLabel`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
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
}

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
        }
    }
}

impl SecurityHubSettings {
    /// `types`: 1 to 50 entries, each `namespace[/category[/classifier]]` with a
    /// namespace Security Hub knows and no empty part.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let key = "securityhub.types";
        if self.types.is_empty() || self.types.len() > MAX_TYPES {
            return Err(ConfigError::new(
                key,
                format!("needs 1 to {MAX_TYPES} types, has {}", self.types.len()),
            ));
        }
        for entry in &self.types {
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
}
