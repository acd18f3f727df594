//! Settings, layered with the `config` crate, later wins: the shipped
//! `config/default.toml` (compiled in, so the binary runs from anywhere) → the file
//! named by `--config` or `REL04D_CONFIG` → `REL04D__SECTION__KEY` environment
//! variables. Unknown keys and invalid values are errors that name the key.

pub mod controls;
mod http;
mod organization;
mod policies;
mod rate;
mod securityhub;
mod taint;
mod validate;

use std::path::Path;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

pub use controls::{ControlEntry, Controls};
pub use http::HttpSettings;
pub use organization::{OrgTarget, OrganizationSettings};
pub use policies::{CalculatedInput, PoliciesSettings, PolicyBlock, PolicyInput, TagSettings};
pub use rate::RequestRate;
pub use securityhub::{BestPracticeFinding, SecurityHubSettings, Severity};
pub use validate::bounds;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// A configuration problem, naming the key it is about.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration key `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        let key = key.into();
        // An error above every key (e.g. an empty key name) still names a place.
        let key = if key.is_empty() || key == "." {
            "(top level)".to_owned()
        } else {
            key
        };
        ConfigError {
            key,
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub schedule: ScheduleSettings,
    pub aws: AwsSettings,
    #[serde(default)]
    pub events: EventsSettings,
    pub http: HttpSettings,
    pub notify: NotifySettings,
    #[serde(default)]
    pub securityhub: SecurityHubSettings,
    #[serde(default)]
    pub enforce: EnforceSettings,
    pub log: LogSettings,
    pub policies: PoliciesSettings,
    /// The questions governed as controls (`[[controls]]`); none: REL 04 alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<ControlEntry>,
}

impl Settings {
    /// The checked `[[controls]]`.
    pub fn controls(&self) -> Result<Controls, ConfigError> {
        Controls::check(&self.controls)
    }

    /// The validated policy set, its keys checked against `[[controls]]`.
    pub fn policy_set(&self) -> Result<crate::control::PolicySet, ConfigError> {
        self.policies.to_policy_set_for(&self.controls()?)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    #[serde(serialize_with = "redacted_url")]
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    #[serde(deserialize_with = "list_or_commas")]
    pub regions: Vec<String>,
    pub max_requests_per_second: RequestRate,
    /// The most an `auto` rate may reach (an account shared with other tools).
    #[serde(default)]
    pub max_requests_per_second_ceiling: Option<f64>,
    pub max_concurrency: usize,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub call_timeout: Duration,
    pub accounts: Vec<AccountSettings>,
    /// Accounts discovered from AWS Organizations, besides `accounts`.
    #[serde(default)]
    pub organization: Option<OrganizationSettings>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    pub id: String,
    pub role_arn: String,
    #[serde(default, serialize_with = "redacted_option")]
    pub external_id: Option<SecretString>,
    #[serde(deserialize_with = "list_or_commas")]
    pub regions: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSettings {
    #[serde(default)]
    pub sqs: SqsSettings,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SqsSettings {
    pub queue_url: Option<String>,
    /// How long one ReceiveMessage long poll waits for a message (SQS allows 1–20 s).
    #[serde(default = "default_sqs_wait", with = "humantime_serde")]
    pub wait_time: Duration,
}

fn default_sqs_wait() -> Duration {
    Duration::from_secs(20)
}

impl Default for SqsSettings {
    fn default() -> Self {
        SqsSettings {
            queue_url: None,
            wait_time: default_sqs_wait(),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    pub event_bus: Option<String>,
    pub source: String,
    /// Announce a transition only once the control has held its new state this
    /// long; flips inside the window collapse. Zero (the default) announces at once.
    #[serde(default, with = "humantime_serde")]
    pub settle: Duration,
    /// A control changing state this many times within `flapping_window` while
    /// the answer and tags it read stayed the same is flapping; 0 turns it off.
    #[serde(default = "default_flapping_transitions")]
    pub flapping_transitions: usize,
    #[serde(default = "default_flapping_window", with = "humantime_serde")]
    pub flapping_window: Duration,
    /// Announce an `Exception Expiring` event, once per control and setting and
    /// expiry, when an exception the control uses will expire within this
    /// window. Unset (the default): off.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub exception_expiry_warning: Option<Duration>,
}

fn default_flapping_transitions() -> usize {
    4
}

fn default_flapping_window() -> Duration {
    Duration::from_secs(3600)
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnforceSettings {
    /// Enforce leaves an answer alone this long after someone other than rel04d
    /// changed it (the control is `alarm` meanwhile). Zero (the default): never waits.
    #[serde(default, with = "humantime_serde")]
    pub defer_after_human_change: Duration,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

impl Settings {
    /// Loads the layered configuration from the process environment.
    pub fn load(extra_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let from_env = std::env::var_os("REL04D_CONFIG").map(std::path::PathBuf::from);
        let file = extra_file.map(Path::to_path_buf).or(from_env);
        Settings::load_with(file.as_deref(), None)
    }

    /// Loads with an explicit environment (`None` = the process's), for tests.
    pub fn load_with(
        extra_file: Option<&Path>,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Settings, ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = extra_file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "--config",
                    format!("{} is not a readable file", path.display()),
                ));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        // No `try_parsing`: it would turn the policy value "True" into a boolean and
        // back into "true". Numbers still parse from strings; lists take commas.
        let environment = Environment::with_prefix("REL04D")
            .separator("__")
            .source(env);
        let layered = builder
            .add_source(environment)
            .build()
            .map_err(|e| ConfigError::new(error_key(&e, extra_file), one_line(&e.to_string())))?;
        let settings: Settings = serde_path_to_error::deserialize(layered).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::new(key, one_line(&e.into_inner().to_string()))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// The resolved settings as JSON with every secret redacted, for `check-config`.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("settings serialize")
    }

    /// Replaces `database.url` with the `--database-url` flag's value, checked
    /// as the key is: a flag is no way around the refusal of in-memory databases.
    pub fn override_database_url(&mut self, url: String) -> Result<(), ConfigError> {
        validate::check_database_url(&url, "--database-url")?;
        self.database.url = url.into();
        Ok(())
    }

    pub fn database_url(&self) -> &str {
        self.database.url.expose_secret()
    }
}

fn error_key(error: &config::ConfigError, file: Option<&Path>) -> String {
    match error {
        config::ConfigError::Type { key: Some(key), .. } => key.clone(),
        config::ConfigError::NotFound(key) => key.clone(),
        config::ConfigError::FileParse { .. } => match file {
            Some(file) => file.display().to_string(),
            None => "config/default.toml".to_owned(),
        },
        _ => "(configuration)".to_owned(),
    }
}

/// One line of message: the config crate appends its own (sometimes garbled)
/// `for key …`, and TOML parse errors draw a multi-line snippet; keep the words.
fn one_line(message: &str) -> String {
    let message = match message.rfind(" for key `") {
        Some(at) if message.ends_with('`') => &message[..at],
        _ => message,
    };
    message
        .lines()
        .map(str::trim)
        .filter(|line| {
            let snippet = line.starts_with('|')
                || line
                    .split_once(" |")
                    .is_some_and(|(n, _)| n.trim().parse::<u32>().is_ok());
            !line.is_empty() && !snippet
        })
        // TOML errors end with ` in <file>`, which the key already says.
        .filter(|line| !line.starts_with("in "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A list, or a comma-separated string (how lists arrive from the environment).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    struct ListOrCommas;

    impl<'de> serde::de::Visitor<'de> for ListOrCommas {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of names or a comma-separated string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut names = Vec::new();
            while let Some(name) = seq.next_element::<String>()? {
                names.push(name);
            }
            Ok(names)
        }
    }

    deserializer.deserialize_any(ListOrCommas)
}

fn redacted_url<S: Serializer>(url: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::store::redact_url(url.expose_secret()))
}

fn redacted_option<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(_) => serializer.serialize_str("***redacted***"),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests;

/// Parses a humantime duration (`8h`, `30s`) for command-line flags.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| e.to_string())
}
