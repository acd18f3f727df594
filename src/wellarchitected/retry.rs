//! Error classes and retries for calls to the Tool.
//!
//! Throttling, 5xx, timeouts and connection failures are transient: retried with
//! exponential backoff and full jitter, and the caller sees them only when every
//! attempt failed. Everything else is permanent and returned at once.

use std::fmt;
use std::time::Duration;

use aws_sdk_wellarchitected::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Why a call failed, coarse enough for metrics labels and retry decisions.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ErrorKind {
    Throttled,
    ServerError,
    Timeout,
    Network,
    /// 409: a concurrent update; worth another try.
    Conflict,
    NotFound,
    AccessDenied,
    Validation,
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Throttled,
        ErrorKind::ServerError,
        ErrorKind::Timeout,
        ErrorKind::Network,
        ErrorKind::Conflict,
        ErrorKind::NotFound,
        ErrorKind::AccessDenied,
        ErrorKind::Validation,
        ErrorKind::Other,
    ];

    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::ServerError
                | ErrorKind::Timeout
                | ErrorKind::Network
                | ErrorKind::Conflict
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Throttled => "throttled",
            ErrorKind::ServerError => "server_error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::Conflict => "conflict",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Validation => "validation",
            ErrorKind::Other => "other",
        }
    }
}

/// A failed call to the Tool, after retries where they apply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct WaError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    pub message: String,
    pub attempts: u32,
}

impl fmt::Display for WaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Classifies an SDK error.
pub fn classify<E>(error: &SdkError<E, HttpResponse>) -> (ErrorKind, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match error {
        SdkError::TimeoutError(_) => (ErrorKind::Timeout, "the call timed out".to_owned()),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Network
            };
            (
                kind,
                format!(
                    "could not reach the service: {:?}",
                    failure.as_connector_error()
                ),
            )
        }
        // An unparseable response is usually a proxy or an overloaded front end.
        SdkError::ResponseError(_) => (ErrorKind::ServerError, "unreadable response".to_owned()),
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let err = context.err();
            let code = err.code().unwrap_or("");
            let kind = match (code, status) {
                ("ThrottlingException", _) | (_, 429) => ErrorKind::Throttled,
                // Only the service's own code proves absence: a bare 404 (a proxy, a wrong
                // endpoint) must not remove controls.
                ("ResourceNotFoundException", _) => ErrorKind::NotFound,
                ("AccessDeniedException", _) | (_, 403) => ErrorKind::AccessDenied,
                ("ConflictException", _) | (_, 409) => ErrorKind::Conflict,
                ("ValidationException", _) => ErrorKind::Validation,
                (_, 500..=599) => ErrorKind::ServerError,
                _ => ErrorKind::Other,
            };
            let code = if code.is_empty() {
                format!("HTTP {status}")
            } else {
                code.to_owned()
            };
            (
                kind,
                format!("{code}: {}", err.message().unwrap_or("no message")),
            )
        }
        other => (ErrorKind::Other, other.to_string()),
    }
}

/// Backoff before retry number `retry` (1-based): full jitter over an exponential
/// ceiling, `base * 2^(retry-1)` capped at `cap`.
pub fn backoff(retry: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base
        .saturating_mul(1 << retry.saturating_sub(1).min(16))
        .min(cap);
    ceiling.mul_f64(rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_kinds_are_exactly_the_retryable_ones() {
        let transient = [
            ErrorKind::Throttled,
            ErrorKind::ServerError,
            ErrorKind::Timeout,
            ErrorKind::Network,
            ErrorKind::Conflict,
        ];
        for kind in transient {
            assert!(kind.is_transient(), "{kind:?}");
        }
        for kind in [
            ErrorKind::NotFound,
            ErrorKind::AccessDenied,
            ErrorKind::Validation,
            ErrorKind::Other,
        ] {
            assert!(!kind.is_transient(), "{kind:?}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_under_a_cap_with_jitter() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        for retry in 1..30 {
            let ceiling = (base * 2u32.pow((retry - 1).min(16))).min(cap);
            for _ in 0..20 {
                assert!(backoff(retry, base, cap) <= ceiling);
            }
        }
        let samples: Vec<Duration> = (0..50).map(|_| backoff(4, base, cap)).collect();
        assert!(samples.iter().any(|d| *d != samples[0]), "jittered");
    }

    #[test]
    fn errors_read_as_sentences() {
        let e = WaError {
            operation: "GetAnswer",
            kind: ErrorKind::Throttled,
            message: "ThrottlingException: slow down".into(),
            attempts: 10,
        };
        assert_eq!(
            e.to_string(),
            "GetAnswer failed after 10 attempts: ThrottlingException: slow down"
        );
    }
}
