//! Who may see the status page: the rule of `/graphql`, which reads the same data.
//! `Host` must name the listener (a DNS-rebinding page sends its own name); with
//! `http.graphql_token` set, requests carry it as a bearer token or in the
//! `rel04d_token` cookie that `POST /login` sets (HttpOnly, SameSite=Strict, so
//! scripts cannot read it and other sites' pages never send it); without a token
//! the pages are served on a loopback listener only.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::super::access::Access;
use super::super::{bearer_matches, body, client_ip};
use super::layout;
use super::throttle::LoginThrottle;

pub const COOKIE: &str = "rel04d_token";
/// A login form holds one token: anything longer is not one.
const MAX_LOGIN_BYTES: usize = 4096;

/// Who may see the pages on one listener.
pub struct Gate {
    pub access: Access,
    pub token: Option<SecretString>,
    /// Why the pages are off (a non-loopback listener without a token).
    pub off: Option<String>,
    /// How long a login form's body may take to arrive.
    pub body_read_timeout: std::time::Duration,
    /// Failed logins, per client and in all.
    pub throttle: LoginThrottle,
}

/// Lets a request through to the pages, or answers it with why not.
pub async fn require(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    if let Err((status, message)) = gate.access.check_host(headers) {
        return layout::message_page(status, "Refused", &message);
    }
    if let Some(why) = &gate.off {
        return layout::message_page(StatusCode::NOT_FOUND, "Status page off", why);
    }
    if let Some(token) = &gate.token
        && !bearer_matches(headers, token)
        && !cookie_matches(headers, token)
    {
        if request.uri().path() == "/live" {
            return (StatusCode::UNAUTHORIZED, "missing or wrong token\n").into_response();
        }
        let next = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        return login_page(StatusCode::UNAUTHORIZED, &next, None);
    }
    let mut response = next.run(request).await;
    security_headers(response.headers_mut());
    response
}

/// Headers every page carries: nothing is cached, framed or loaded from elsewhere.
pub fn security_headers(headers: &mut HeaderMap) {
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in set {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
}

/// Whether the `rel04d_token` cookie holds the token, compared in constant time.
fn cookie_matches(headers: &HeaderMap, token: &SecretString) -> bool {
    let presented = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| percent_decode_str(value).decode_utf8_lossy().into_owned())
        .unwrap_or_default();
    presented
        .as_bytes()
        .ct_eq(token.expose_secret().as_bytes())
        .into()
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_form(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Err((status, message)) = gate.access.check_host(&headers) {
        return layout::message_page(status, "Refused", &message);
    }
    login_page(StatusCode::OK, &safe_next(q.next.as_deref()), None)
}

/// `POST /login` with a form field `token` (and `next`, where to go after): sets
/// the cookie when the token is right.
pub async fn login(State(gate): State<Arc<Gate>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let checks = gate
        .access
        .check_host(&parts.headers)
        .and_then(|()| same_origin(&parts.headers));
    if let Err((status, message)) = checks {
        return layout::message_page(status, "Refused", &message);
    }
    let Some(token) = &gate.token else {
        return layout::message_page(
            StatusCode::NOT_FOUND,
            "No login needed",
            "http.graphql_token is not set: the pages are open on this loopback listener.",
        );
    };
    let client = client_ip(&parts.extensions);
    if let Err(wait) = gate.throttle.check(client, tokio::time::Instant::now()) {
        return too_many_logins(wait);
    }
    let form = match body::read(body, MAX_LOGIN_BYTES, gate.body_read_timeout).await {
        Ok(bytes) => bytes,
        Err((status, message)) => return layout::message_page(status, "Bad login", &message),
    };
    let mut given = String::new();
    let mut next = None;
    for (key, value) in url::form_urlencoded::parse(&form) {
        match &*key {
            "token" => given = value.into_owned(),
            "next" => next = Some(value.into_owned()),
            _ => {}
        }
    }
    let next = safe_next(next.as_deref());
    if !bool::from(given.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
        if let Some(line) = gate.throttle.failed(client, tokio::time::Instant::now()) {
            tracing::warn!(
                client = %line.client,
                unlogged_since_last = line.unlogged,
                "failed login to the status page: wrong token"
            );
        }
        return login_page(StatusCode::UNAUTHORIZED, &next, Some("wrong token"));
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
        utf8_percent_encode(&given, NON_ALPHANUMERIC)
    );
    let mut response = (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, next.as_str()),
            (header::SET_COOKIE, &cookie),
        ],
    )
        .into_response();
    security_headers(response.headers_mut());
    response
}

/// 429 for a client (or all clients) past the failed-login bound.
fn too_many_logins(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = layout::message_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed logins",
        &format!(
            "Too many wrong tokens were tried from your address or in all; \
             try again in {seconds} s."
        ),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// A form post from a page must come from this listener's own pages: its
/// `Origin`, when sent, names the same host as `Host`.
fn same_origin(headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err((
            StatusCode::FORBIDDEN,
            format!(
                "a login from a page at {origin:?} is refused: log in from this listener's own page"
            ),
        ))
    }
}

/// Where to go after logging in: a path on this listener, never another site.
/// Anything else is dropped for `/`, so a correct login with a bad `next` still
/// logs in. A path must start with one `/` (not `//` or `/\`, which browsers read
/// as another host), be plain visible ASCII as a URI is, and hold no control
/// character once percent-decoded: browsers strip tabs and newlines from URLs, so
/// `/%09/evil.example/` would become `//evil.example/`, and a CR or LF cannot be
/// put in a `Location` header at all.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(path: &str) -> bool {
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let one_slash = |p: &str| p.starts_with('/') && !p.starts_with("//");
    one_slash(path)
        && one_slash(&decoded)
        && path.bytes().all(|b| b.is_ascii_graphic())
        && !decoded.contains('\\')
        && !decoded.chars().any(char::is_control)
}

fn login_page(status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let body = html! {
        h1 { "Log in" }
        p { "This daemon's pages need its token (" code { "http.graphql_token" } "). It is kept in a cookie for this browser session." }
        @if let Some(problem) = problem {
            p.problem role="alert" { "✖ " (problem) }
        }
        form method="post" action="/login" {
            input type="hidden" name="next" value=(next);
            label for="token" { "Token" }
            input #token type="password" name="token" autocomplete="current-password" required;
            button type="submit" { "Log in" }
        }
    };
    let mut response = (status, layout::page("Log in", body, None)).into_response();
    security_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_listener() {
        for good in [
            "/",
            "/?q=state:alarm",
            "/controls/abc?x=%2Fy",
            "/?q=caf%C3%A9",
        ] {
            assert_eq!(safe_next(Some(good)), good, "{good}");
        }
        let hostile = [
            "/%09/evil.example/",
            "/\t/evil.example/",
            "//evil.example/",
            "///evil.example/",
            "/\\evil.example",
            "/%5Cevil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "evil.example",
            "/\r\nSet-Cookie: x=y",
            "/%0d%0aSet-Cookie:%20x=y",
            "/%0a/evil.example",
            "/%00",
            "/%7f",
            "/%C2%85",
            "/ space",
            "/caf\u{e9}",
            " /x",
            "",
        ];
        for bad in hostile {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_cookie_is_read_among_others_and_compared_whole() {
        let token = SecretString::from("s3cret;=x");
        let value = utf8_percent_encode("s3cret;=x", NON_ALPHANUMERIC).to_string();
        let mut headers = HeaderMap::new();
        let cookie = format!("a=1; {COOKIE}={value}; b=2");
        headers.insert(header::COOKIE, cookie.parse().unwrap());
        assert!(cookie_matches(&headers, &token));
        headers.insert(header::COOKIE, format!("{COOKIE}=s3cret").parse().unwrap());
        assert!(!cookie_matches(&headers, &token));
        assert!(!cookie_matches(&HeaderMap::new(), &token));
    }
}
