//! Who may reach the data endpoints: a web page in the operator's browser must
//! not. Browsers send a POST cross-site without asking first only when its content
//! type is form-like or text/plain, always send `Origin` with it, and send the
//! page's own name in `Host` even after rebinding that name to 127.0.0.1. So
//! `POST /graphql` (readable without a token on loopback) takes only JSON, only
//! under a known Host, and only from listed origins; `POST /events` (behind a
//! token) refuses foreign origins and non-JSON content types. Health, readiness
//! and metrics stay open to any Host so orchestrators can probe by IP.

use std::net::SocketAddr;

use axum::http::{HeaderMap, StatusCode, header};

use crate::config::HttpSettings;

/// The Host names and Origins the listener accepts, lowercased; `*` accepts any.
#[derive(Clone, Debug)]
pub struct Access {
    hosts: Vec<String>,
    origins: Vec<String>,
}

/// A refused request: its status and a message naming what was wrong.
pub type Refusal = (StatusCode, String);

impl Access {
    /// The configured names plus the address the listener is bound to.
    pub fn new(settings: &HttpSettings, listening_on: SocketAddr) -> Access {
        let bound = match listening_on {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let hosts = settings
            .allowed_hosts
            .iter()
            .map(|h| normalise(h))
            .chain([bound])
            .collect();
        let origins = settings
            .allowed_origins
            .iter()
            .map(|o| o.to_ascii_lowercase())
            .collect();
        Access { hosts, origins }
    }

    /// `Host` must name this listener: a DNS-rebinding page sends its own name.
    pub fn check_host(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        if self.hosts.iter().any(|h| h == "*") {
            return Ok(());
        }
        let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
            return Err((StatusCode::BAD_REQUEST, "no Host header".to_owned()));
        };
        let name = normalise(host_without_port(host));
        if self.hosts.contains(&name) {
            Ok(())
        } else {
            Err((
                StatusCode::MISDIRECTED_REQUEST,
                format!("Host {name:?} is not one of this listener's names (http.allowed_hosts)"),
            ))
        }
    }

    /// An `Origin` header means a browser sent this on behalf of a page: refused
    /// unless the page's origin is listed.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        let origin = origin.to_str().unwrap_or("").to_ascii_lowercase();
        if self.origins.iter().any(|o| o == "*" || *o == origin) {
            Ok(())
        } else {
            Err((
                StatusCode::FORBIDDEN,
                format!("requests from web pages at {origin:?} are refused (http.allowed_origins)"),
            ))
        }
    }
}

/// `Content-Type: application/json`, with parameters such as a charset allowed.
/// `required = false` lets a request without a content type through.
pub fn check_json(headers: &HeaderMap, required: bool) -> Result<(), Refusal> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return if required {
            Err(unsupported("none"))
        } else {
            Ok(())
        };
    };
    let text = value.to_str().unwrap_or("");
    let essence = text.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(unsupported(text))
    }
}

fn unsupported(given: &str) -> Refusal {
    (
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!("Content-Type must be application/json (got {given:?})"),
    )
}

/// `example.com:9404` → `example.com`, `[::1]:9404` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), v.parse().unwrap()))
            .collect()
    }

    fn access(hosts: &[&str], origins: &[&str], bound: &str) -> Access {
        let mut settings = crate::config::Settings::load_with(None, Some(Default::default()))
            .unwrap()
            .http;
        settings.allowed_hosts = hosts.iter().map(|s| s.to_string()).collect();
        settings.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
        Access::new(&settings, bound.parse().unwrap())
    }

    #[test]
    fn hosts_are_matched_by_name_whatever_the_port_and_case() {
        let a = access(&["localhost", "[::1]"], &[], "127.0.0.1:9404");
        for host in [
            "localhost",
            "LOCALHOST:9404",
            "localhost.",
            "127.0.0.1:1",
            "[::1]:9404",
        ] {
            assert!(
                a.check_host(&headers(&[(header::HOST, host)])).is_ok(),
                "{host}"
            );
        }
        for host in [
            "evil.example",
            "evil.example:9404",
            "localhost.evil.example",
            "[::2]",
        ] {
            let (status, _) = a.check_host(&headers(&[(header::HOST, host)])).unwrap_err();
            assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        }
        assert!(a.check_host(&HeaderMap::new()).is_err());
        let any = access(&["*"], &[], "0.0.0.0:9404");
        assert!(any.check_host(&headers(&[(header::HOST, "x")])).is_ok());
    }

    #[test]
    fn only_listed_origins_pass() {
        let a = access(&[], &["https://console.example.com"], "127.0.0.1:9404");
        assert!(a.check_origin(&HeaderMap::new()).is_ok());
        let listed = headers(&[(header::ORIGIN, "https://Console.example.com")]);
        assert!(a.check_origin(&listed).is_ok());
        for origin in ["https://evil.example", "null", "http://127.0.0.1:9404"] {
            let refused = a.check_origin(&headers(&[(header::ORIGIN, origin)]));
            assert_eq!(refused.unwrap_err().0, StatusCode::FORBIDDEN, "{origin}");
        }
    }

    #[test]
    fn only_json_content_types_pass() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert!(check_json(&headers(&[(header::CONTENT_TYPE, ok)]), true).is_ok());
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let refused = check_json(&headers(&[(header::CONTENT_TYPE, bad)]), false);
            assert_eq!(refused.unwrap_err().0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        assert!(check_json(&HeaderMap::new(), true).is_err());
        assert!(check_json(&HeaderMap::new(), false).is_ok());
    }
}
