//! Checks that serde cannot express, each naming its key.

use secrecy::ExposeSecret;
use tracing_subscriber::EnvFilter;

use super::{ConfigError, Settings};

fn check(ok: bool, key: &str, message: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(key, message))
    }
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn check_regions(regions: &[String], key: &str) -> Result<(), ConfigError> {
    for (i, region) in regions.iter().enumerate() {
        check(
            is_region(region),
            &format!("{key}[{i}]"),
            &format!("{region:?} is not an AWS region name"),
        )?;
    }
    Ok(())
}

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let url = self.database.url.expose_secret();
        check(
            ["sqlite:", "postgres:", "postgresql:"]
                .iter()
                .any(|p| url.starts_with(p)),
            "database.url",
            "must start with sqlite: or postgres:",
        )?;
        check(
            self.database.max_connections >= 1,
            "database.max_connections",
            "must be at least 1",
        )?;
        check(
            !self.schedule.interval.is_zero(),
            "schedule.interval",
            "must be longer than zero",
        )?;
        check(
            self.schedule.jitter < self.schedule.interval,
            "schedule.jitter",
            "must be shorter than schedule.interval",
        )?;
        check_regions(&self.aws.regions, "aws.regions")?;
        let rate = self.aws.max_requests_per_second;
        check(
            rate.is_finite() && rate > 0.0,
            "aws.max_requests_per_second",
            "must be a number above zero",
        )?;
        check(
            self.aws.max_concurrency >= 1,
            "aws.max_concurrency",
            "must be at least 1",
        )?;
        check(
            self.aws.max_attempts >= 1,
            "aws.max_attempts",
            "must be at least 1",
        )?;
        check(
            !self.aws.call_timeout.is_zero(),
            "aws.call_timeout",
            "must be longer than zero",
        )?;
        for (i, account) in self.aws.accounts.iter().enumerate() {
            let at = format!("aws.accounts[{i}]");
            check(
                account.id.len() == 12 && account.id.bytes().all(|b| b.is_ascii_digit()),
                &format!("{at}.id"),
                "must be a 12-digit account id",
            )?;
            check(
                account.role_arn.starts_with("arn:") && account.role_arn.contains(":role/"),
                &format!("{at}.role_arn"),
                "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
            )?;
            check(
                !account.regions.is_empty(),
                &format!("{at}.regions"),
                "must name at least one region",
            )?;
            check_regions(&account.regions, &format!("{at}.regions"))?;
        }
        if let Some(url) = &self.events.sqs.queue_url {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                "events.sqs.queue_url",
                "must be an http(s) queue URL",
            )?;
        }
        self.http.validate()?;
        if let Some(bus) = &self.notify.event_bus {
            check(!bus.is_empty(), "notify.event_bus", "must not be empty")?;
        }
        check(
            !self.notify.source.is_empty(),
            "notify.source",
            "must not be empty",
        )?;
        // A bare word would parse as a target name and silently log nothing useful,
        // so accept level names, or directives that say `target=level`.
        let level = self.log.level.as_str();
        let is_level = ["trace", "debug", "info", "warn", "error", "off"].contains(&level);
        check(
            (is_level || level.contains('=')) && EnvFilter::try_new(level).is_ok(),
            "log.level",
            &format!(
                "{level:?} is not a log level (trace, debug, info, warn, error, off) or a target=level filter"
            ),
        )?;
        self.policies.to_policy_set()?;
        Ok(())
    }
}
