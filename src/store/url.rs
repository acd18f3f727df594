//! Database URLs: which ones rel04d can keep state in, and how they are shown.
//!
//! A URL may carry a password in its userinfo or in any query parameter (sqlx
//! takes `password=`, and a mistyped `PassWord=` is logged by sqlx with its
//! value), so anything shown to people keeps only what is known to be harmless.

/// A database URL that cannot hold rel04d's state; the message never repeats a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error(
        "{url} {why}: every connection would get its own empty database and nothing would \
         be kept; name a file, e.g. sqlite://rel04d.db?mode=rwc"
    )]
    InMemory { url: String, why: &'static str },
    #[error("{0} is not a postgres://user:password@host:port/database URL")]
    NotPostgres(String),
    #[error(
        "unknown Postgres connect parameter {key} (names are case-sensitive; known: {})",
        POSTGRES_PARAMETERS.join(", ")
    )]
    UnknownParameter { key: String },
}

/// The query parameters sqlx understands in a Postgres URL, besides `options[...]`.
const POSTGRES_PARAMETERS: &[&str] = &[
    "sslmode",
    "ssl-mode",
    "sslrootcert",
    "ssl-root-cert",
    "ssl-ca",
    "sslcert",
    "ssl-cert",
    "sslkey",
    "ssl-key",
    "statement-cache-capacity",
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "application_name",
    "options",
];

/// Query parameters whose values are shown as they are; every other value is hidden.
const SHOWN_PARAMETERS: &[&str] = &["mode", "sslmode", "ssl-mode", "cache"];

/// Refuses URLs that would lose state (in-memory SQLite) and Postgres URLs sqlx
/// would misread (no `//`, unknown parameters, which it logs with their values).
pub fn check_url(url: &str) -> Result<(), UrlError> {
    if let Some((path, query)) = sqlite_parts(url) {
        return match in_memory(path, query) {
            Some(why) => Err(UrlError::InMemory {
                url: redact_url(url),
                why,
            }),
            None => Ok(()),
        };
    }
    if !(url.starts_with("postgres:") || url.starts_with("postgresql:")) {
        return Ok(());
    }
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| u.has_host())
        .ok_or_else(|| UrlError::NotPostgres(redact_url(url)))?;
    for (key, _) in parsed.query_pairs() {
        if !POSTGRES_PARAMETERS.contains(&&*key) && !key.starts_with("options[") {
            return Err(UrlError::UnknownParameter {
                key: shown_key(&key),
            });
        }
    }
    Ok(())
}

/// Why a SQLite URL's database would live in memory (or vanish on close), read
/// as sqlx and SQLite read it: sqlx percent-decodes the path and form-decodes the
/// query, and opens with `SQLITE_OPEN_URI`, so a decoded path `file:…` is itself
/// an SQLite URI with a query of its own. Every spelling is caught:
/// `sqlite::memory:`, `sqlite://:memory:`, `sqlite://%3Amemory%3A`,
/// `?mode=memory` (also `mode=%6Demory`), `sqlite://file::memory:`,
/// `sqlite://file:x.db%3Fmode%3Dmemory`, and an empty path.
fn in_memory(path: &str, query: &str) -> Option<&'static str> {
    let memory_mode = |query: &str| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "mode" && v == "memory")
    };
    if memory_mode(query) {
        return Some("asks for an in-memory database (mode=memory)");
    }
    let file = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let (file, file_query) = match file.strip_prefix("file:") {
        Some(uri) => uri.split_once('?').unwrap_or((uri, "")),
        None => (&*file, ""),
    };
    let file = file.strip_prefix("//").unwrap_or(file);
    if file.is_empty() || file == ":memory:" {
        Some("names no database file")
    } else if memory_mode(file_query) {
        Some("asks for an in-memory database (mode=memory)")
    } else {
        None
    }
}

/// The file path and the query of a SQLite URL (`sqlite:PATH`, `sqlite://PATH`,
/// either with `?QUERY`); `None` for any other URL.
pub(super) fn sqlite_parts(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    Some(rest.split_once('?').unwrap_or((rest, "")))
}

/// A parameter name as it may be shown: short plain names in backquotes, anything
/// else (which could be a secret pasted in the wrong place) described only.
fn shown_key(key: &str) -> String {
    let plain = key.len() <= 40
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!("`{key}`")
    } else {
        "(a parameter whose name is not shown)".to_owned()
    }
}

/// The URL with its password and every query value hidden except a few harmless
/// ones (`mode`, `sslmode`, `cache`). A URL that does not parse, or a server URL
/// without `//` (e.g. `postgres:user:secret@host/db`), may hide a password
/// anywhere, so only its scheme is shown.
pub fn redact_url(url: &str) -> String {
    let scheme = url.split_once(':').map_or("database", |(scheme, _)| scheme);
    let hidden = || format!("{scheme}://*** (URL hidden: it does not parse as scheme://host/...)");
    let Ok(mut parsed) = url::Url::parse(url) else {
        return hidden();
    };
    if parsed.scheme() != "sqlite" && !parsed.has_host() {
        return hidden();
    }
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if SHOWN_PARAMETERS.contains(&&*k) {
                    v.into_owned()
                } else {
                    "***".to_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://rel04d:s3cret@db.internal:5432/rel04d"),
            "postgres://rel04d:***@db.internal:5432/rel04d"
        );
        assert_eq!(
            redact_url("sqlite://rel04d.db?mode=rwc"),
            "sqlite://rel04d.db?mode=rwc"
        );
        assert_eq!(
            redact_url("postgres://rel04d@db/rel04d?password=s3cret&sslmode=require"),
            "postgres://rel04d@db/rel04d?password=***&sslmode=require"
        );
        let unparsable = redact_url("postgres://rel04d:ab/cd@db/x");
        assert!(
            unparsable.starts_with("postgres://*** (URL hidden"),
            "{unparsable}"
        );
    }

    #[test]
    fn every_query_value_is_hidden_whatever_its_case() {
        for url in [
            "postgres://h:1/db?user=u&PassWord=S3CRET",
            "postgres://h:1/db?PASSWORD=S3CRET",
            "postgres://h:1/db?foo=S3CRET",
            "sqlite://x.db?mode=rwc&Password=S3CRET",
        ] {
            let shown = redact_url(url);
            assert!(!shown.contains("S3CRET"), "{url} → {shown}");
        }
    }

    #[test]
    fn server_urls_without_slashes_are_hidden_whole() {
        let shown = redact_url("postgres:u:S3CRET@h:1/db");
        assert!(!shown.contains("S3CRET"), "{shown}");
        assert_eq!(
            check_url("postgres:u:S3CRET@h:1/db"),
            Err(UrlError::NotPostgres(shown))
        );
    }

    #[test]
    fn unknown_postgres_parameters_are_refused_by_name_never_by_value() {
        let error = check_url("postgres://h:1/db?user=u&PassWord=S3CRET").unwrap_err();
        let message = error.to_string();
        assert!(message.contains("`PassWord`"), "{message}");
        assert!(!message.contains("S3CRET"), "{message}");
        assert!(check_url("postgres://u:p@h:1/db?sslmode=require&password=x").is_ok());
    }

    #[test]
    fn in_memory_sqlite_is_refused() {
        for url in [
            "sqlite::memory:",
            "sqlite:",
            "sqlite://",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
            "sqlite://?mode=rwc",
            "sqlite://%3Amemory%3A",
            "sqlite://x.db?mode=%6Demory",
            "sqlite://x.db?cache=shared&mode=memory",
            "sqlite://file::memory:",
            "sqlite://file::memory:?cache=shared",
            "sqlite:file:x.db%3Fmode%3Dmemory",
            "sqlite://file:",
        ] {
            assert!(
                matches!(check_url(url), Err(UrlError::InMemory { .. })),
                "{url}"
            );
        }
        for url in [
            "sqlite://rel04d.db?mode=rwc",
            "sqlite:rel04d.db",
            "sqlite:///tmp/x.db",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }
}
