//! The `[http]` section: the listener, its tokens, who may call it, and the
//! limits that keep one client from holding the daemon.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::validate::{bounds, check, check_token};
use super::{ConfigError, list_or_commas, redacted_option};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub listen: SocketAddr,
    #[serde(default, serialize_with = "redacted_option")]
    pub events_token: Option<SecretString>,
    /// When set, `POST /graphql` requires `Authorization: Bearer <token>`. Unset on a
    /// listener that is not loopback, GraphQL is off.
    #[serde(default, serialize_with = "redacted_option")]
    pub graphql_token: Option<SecretString>,
    /// Host names (no port) that `POST /graphql` answers to, besides the listen
    /// address; `*` allows any. Defends against DNS rebinding.
    #[serde(deserialize_with = "list_or_commas")]
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`https://host[:port]`) allowed to call `POST /graphql` and
    /// `POST /events`; a request with any other `Origin` is refused.
    #[serde(deserialize_with = "list_or_commas")]
    pub allowed_origins: Vec<String>,
    /// Open connections at most; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// Time for a client to send a request's headers (also how long an idle
    /// keep-alive connection is kept).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Time for a client to send a request's whole body.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Time one GraphQL request may run.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// After a stop signal, time open connections get to finish before they are dropped.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl HttpSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let tokens = [
            ("http.events_token", &self.events_token),
            ("http.graphql_token", &self.graphql_token),
        ];
        for (key, token) in tokens {
            if let Some(token) = token {
                check_token(token.expose_secret(), key)?;
            }
        }
        for (i, host) in self.allowed_hosts.iter().enumerate() {
            check(
                host == "*" || is_host_name(host),
                &format!("http.allowed_hosts[{i}]"),
                &format!(
                    "{host:?} is not a host name or IP address without a port (or \"*\" for any)"
                ),
            )?;
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            check(
                origin == "*" || is_origin(origin),
                &format!("http.allowed_origins[{i}]"),
                &format!(
                    "{origin:?} is not an origin like https://console.example.com[:port] (or \"*\" for any)"
                ),
            )?;
        }
        let connections = bounds::HTTP_CONNECTIONS;
        check(
            connections.contains(&self.max_connections),
            "http.max_connections",
            &format!(
                "must be from {} to {}",
                connections.start(),
                connections.end()
            ),
        )?;
        let durations = [
            ("http.header_read_timeout", self.header_read_timeout),
            ("http.body_read_timeout", self.body_read_timeout),
            ("http.request_timeout", self.request_timeout),
            ("http.shutdown_timeout", self.shutdown_timeout),
        ];
        for (key, duration) in durations {
            check(
                bounds::HTTP_TIMEOUT.contains(&duration),
                key,
                "must be longer than zero and at most 1h",
            )?;
        }
        Ok(())
    }
}

/// A DNS name or an IP address (IPv6 in brackets), without a port.
fn is_host_name(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `scheme://host[:port]` and nothing more, as browsers send in `Origin`.
fn is_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && port.parse::<u16>().is_ok() => host,
        _ => rest,
    };
    matches!(scheme, "http" | "https") && is_host_name(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(key: &str, value: &str) -> ConfigError {
        let env = [(
            format!("REL04D__{}", key.replace('.', "__").to_uppercase()),
            value.to_owned(),
        )];
        super::super::Settings::load_with(None, Some(env.into_iter().collect()))
            .expect_err("the value should be refused")
    }

    #[test]
    fn bad_http_settings_are_refused_by_key() {
        for (key, value, named, message) in [
            (
                "http.max_connections",
                "0",
                "http.max_connections",
                "from 1 to",
            ),
            (
                "http.header_read_timeout",
                "0s",
                "http.header_read_timeout",
                "longer than zero",
            ),
            (
                "http.body_read_timeout",
                "2h",
                "http.body_read_timeout",
                "at most 1h",
            ),
            (
                "http.request_timeout",
                "0s",
                "http.request_timeout",
                "longer than zero",
            ),
            (
                "http.shutdown_timeout",
                "100000000y",
                "http.shutdown_timeout",
                "at most 1h",
            ),
            (
                "http.allowed_hosts",
                "localhost,evil:80",
                "http.allowed_hosts[1]",
                "without a port",
            ),
            (
                "http.allowed_origins",
                "console.example.com",
                "http.allowed_origins[0]",
                "is not an origin",
            ),
            (
                "http.graphql_token",
                "short",
                "http.graphql_token",
                "at least 16",
            ),
        ] {
            let error = refused(key, value);
            assert_eq!(error.key, named, "{key}={value}: {error}");
            assert!(error.message.contains(message), "{key}={value}: {error}");
        }
    }

    #[test]
    fn host_names_and_origins_are_recognised() {
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "rel04d.internal.example.com",
        ] {
            assert!(is_host_name(host), "{host}");
        }
        for host in ["", "localhost:9404", "[::1]:9404", "a b", "http://x", "::1"] {
            assert!(!is_host_name(host), "{host}");
        }
        for origin in [
            "https://console.example.com",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert!(is_origin(origin), "{origin}");
        }
        for origin in [
            "console.example.com",
            "https://x/",
            "ftp://x",
            "https://x:port",
            "null",
        ] {
            assert!(!is_origin(origin), "{origin}");
        }
    }
}
