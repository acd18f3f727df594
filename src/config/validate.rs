//! Checks that serde cannot express, each naming its key.
//!
//! Every number and duration has a bounded range: a value that passes here is one
//! the daemon can run with (no overflow in time arithmetic, no giant allocation,
//! no rate that makes a limiter divide by nearly zero).

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::ExposeSecret;
use tracing_subscriber::EnvFilter;

use super::{ConfigError, Settings};
use crate::workload::{is_account_id, is_region};

/// The accepted range of each bounded setting, and why it ends where it does.
pub mod bounds {
    use std::ops::RangeInclusive;
    use std::time::Duration;

    /// Far above what one daemon uses; Postgres' own default is 100.
    pub const MAX_CONNECTIONS: RangeInclusive<u32> = 1..=1_000;
    /// Tests sweep every few hundred milliseconds; a week is the longest a
    /// "continuous" control may go unchecked.
    pub const INTERVAL: RangeInclusive<Duration> =
        Duration::from_millis(100)..=Duration::from_secs(7 * 24 * 3600);
    /// One call per 100 s up to far beyond any published AWS API rate.
    pub const REQUESTS_PER_SECOND: RangeInclusive<f64> = 0.01..=10_000.0;
    /// Workers are tasks with a queue slot each: bounded so a typo cannot
    /// allocate gigabytes.
    pub const CONCURRENCY: RangeInclusive<usize> = 1..=1_024;
    pub const ATTEMPTS: RangeInclusive<u32> = 1..=100;
    /// SQS' own limits for WaitTimeSeconds.
    pub const SQS_WAIT: RangeInclusive<Duration> = Duration::from_secs(1)..=Duration::from_secs(20);
    pub const CALL_TIMEOUT: RangeInclusive<Duration> =
        Duration::from_millis(100)..=Duration::from_secs(15 * 60);
    /// `http.max_connections`: file descriptors are the scarce thing (the usual
    /// soft limit is 1024).
    pub const HTTP_CONNECTIONS: RangeInclusive<usize> = 1..=100_000;
    /// The `http.*_timeout` settings: above zero, and short enough that adding one
    /// to an instant cannot overflow (an hour is already generous).
    pub const HTTP_TIMEOUT: RangeInclusive<Duration> =
        Duration::from_nanos(1)..=Duration::from_secs(3600);
    /// `notify.settle`: zero (off) up to a day; a longer wait is no longer a
    /// notification anyone acts on.
    pub const SETTLE: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(24 * 3600);
    /// `notify.flapping_transitions`: 0 (off), or at least two changes (one is
    /// not flapping) and at most what one decision reads back.
    pub const FLAPPING_TRANSITIONS: RangeInclusive<usize> = 0..=100;
    /// `notify.flapping_window`: a flapping control's held state is announced
    /// this long after its last flip, so at most a day, like `notify.settle`.
    pub const FLAPPING_WINDOW: RangeInclusive<Duration> =
        Duration::from_secs(1)..=Duration::from_secs(24 * 3600);
    /// `enforce.defer_after_human_change`: zero (off) up to 30 days.
    pub const DEFER: RangeInclusive<Duration> =
        Duration::ZERO..=Duration::from_secs(30 * 24 * 3600);
}

/// Checks that `value` lies in `range`, naming the key and the range otherwise.
fn in_range<T: PartialOrd + std::fmt::Debug>(
    value: T,
    range: RangeInclusive<T>,
    key: &str,
    show: impl Fn(&T) -> String,
) -> Result<(), ConfigError> {
    check(
        range.contains(&value),
        key,
        &format!(
            "{} is out of range; allowed: {} to {}",
            show(&value),
            show(range.start()),
            show(range.end())
        ),
    )
}

fn duration(d: &Duration) -> String {
    humantime::format_duration(*d).to_string()
}

pub(super) fn check(ok: bool, key: &str, message: &str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(key, message))
    }
}

pub(super) fn check_regions(regions: &[String], key: &str) -> Result<(), ConfigError> {
    let mut seen = BTreeSet::new();
    for (i, region) in regions.iter().enumerate() {
        check(
            is_region(region),
            &format!("{key}[{i}]"),
            &format!("{region:?} is not an AWS region name"),
        )?;
        // Twice the same region would be two identical scopes sweeping the same
        // workloads.
        check(
            seen.insert(region),
            &format!("{key}[{i}]"),
            &format!("{region:?} is listed twice"),
        )?;
    }
    Ok(())
}

/// A bearer token as it travels in a header: visible ASCII only (RFC 6750's
/// b64token has no spaces), so "16 spaces" is not a secret.
pub(super) fn check_token(token: &str, key: &str) -> Result<(), ConfigError> {
    check(
        token.bytes().all(|b| b.is_ascii_graphic()),
        key,
        "must be visible ASCII characters only (no spaces or control characters)",
    )?;
    check(token.len() >= 16, key, "must be at least 16 characters")
}

/// A database URL rel04d can keep its state in: SQLite or Postgres, never in
/// memory; `key` is where it came from (`database.url`, `--database-url`).
pub(super) fn check_database_url(url: &str, key: &str) -> Result<(), ConfigError> {
    check(
        ["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|p| url.starts_with(p)),
        key,
        "must start with sqlite: or postgres:",
    )?;
    crate::store::check_url(url).map_err(|e| ConfigError::new(key, e.to_string()))
}

impl Settings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        check_database_url(self.database.url.expose_secret(), "database.url")?;
        in_range(
            self.database.max_connections,
            bounds::MAX_CONNECTIONS,
            "database.max_connections",
            u32::to_string,
        )?;
        in_range(
            self.schedule.interval,
            bounds::INTERVAL,
            "schedule.interval",
            duration,
        )?;
        check(
            self.schedule.jitter < self.schedule.interval,
            "schedule.jitter",
            "must be shorter than schedule.interval",
        )?;
        check_regions(&self.aws.regions, "aws.regions")?;
        // NaN is in no range, so it is refused too.
        if let super::RequestRate::Fixed(rate) = self.aws.max_requests_per_second {
            in_range(
                rate,
                bounds::REQUESTS_PER_SECOND,
                "aws.max_requests_per_second",
                f64::to_string,
            )?;
        }
        if let Some(ceiling) = self.aws.max_requests_per_second_ceiling {
            in_range(
                ceiling,
                bounds::REQUESTS_PER_SECOND,
                "aws.max_requests_per_second_ceiling",
                f64::to_string,
            )?;
        }
        in_range(
            self.aws.max_concurrency,
            bounds::CONCURRENCY,
            "aws.max_concurrency",
            usize::to_string,
        )?;
        in_range(
            self.aws.max_attempts,
            bounds::ATTEMPTS,
            "aws.max_attempts",
            u32::to_string,
        )?;
        in_range(
            self.aws.call_timeout,
            bounds::CALL_TIMEOUT,
            "aws.call_timeout",
            duration,
        )?;
        let mut accounts = BTreeSet::new();
        for (i, account) in self.aws.accounts.iter().enumerate() {
            let at = format!("aws.accounts[{i}]");
            check(
                is_account_id(&account.id),
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
            check(
                accounts.insert(&account.id),
                &format!("{at}.id"),
                &format!("account {} is listed twice", account.id),
            )?;
        }
        if let Some(organization) = &self.aws.organization {
            organization.validate()?;
        }
        in_range(
            self.events.sqs.wait_time,
            bounds::SQS_WAIT,
            "events.sqs.wait_time",
            duration,
        )?;
        check(
            self.events.sqs.wait_time.subsec_nanos() == 0,
            "events.sqs.wait_time",
            "must be whole seconds (SQS takes WaitTimeSeconds)",
        )?;
        if let Some(url) = &self.events.sqs.queue_url {
            check(
                url.starts_with("http://") || url.starts_with("https://"),
                "events.sqs.queue_url",
                "must be an http(s) queue URL",
            )?;
        }
        self.http.validate()?;
        self.securityhub.validate()?;
        if let Some(bus) = &self.notify.event_bus {
            check(!bus.is_empty(), "notify.event_bus", "must not be empty")?;
        }
        if let Some(window) = self.notify.exception_expiry_warning {
            check(
                self.notify.event_bus.is_some(),
                "notify.exception_expiry_warning",
                "needs notify.event_bus: the warning is an EventBridge event",
            )?;
            check(
                !window.is_zero(),
                "notify.exception_expiry_warning",
                "must be longer than 0s (leave it unset to turn warnings off)",
            )?;
        }
        check(
            !self.notify.source.is_empty(),
            "notify.source",
            "must not be empty",
        )?;
        in_range(
            self.notify.settle,
            bounds::SETTLE,
            "notify.settle",
            duration,
        )?;
        in_range(
            self.notify.flapping_transitions,
            bounds::FLAPPING_TRANSITIONS,
            "notify.flapping_transitions",
            |n| n.to_string(),
        )?;
        check(
            self.notify.flapping_transitions != 1,
            "notify.flapping_transitions",
            "must be 0 (off) or at least 2: one change is not flapping",
        )?;
        in_range(
            self.notify.flapping_window,
            bounds::FLAPPING_WINDOW,
            "notify.flapping_window",
            duration,
        )?;
        in_range(
            self.enforce.defer_after_human_change,
            bounds::DEFER,
            "enforce.defer_after_human_change",
            duration,
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
        self.policy_set()?;
        Ok(())
    }
}
