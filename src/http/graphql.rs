//! `POST /graphql`: who may ask (see [`super::access`]), and what one request may
//! cost. Mutations (mute, unmute, run a control) change state, so they are taken
//! only with a bearer token (`http.graphql_token`) configured and presented. The schema bounds rows and regexes per request; here each request gets a
//! deadline, at most [`MAX_CONCURRENT`] run at once, and a response over
//! [`MAX_RESPONSE_BYTES`] is refused instead of sent — so memory stays bounded
//! whatever the queries.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::json;

use super::access::{self, Access};
use super::admission::{Admission, Refused};
use super::{MAX_QUERY_BYTES, body, client_ip, token_matches};
use crate::graphql::budget::RowBudget;
use crate::graphql::limits::{self, Capped, RegexBudget};
use crate::graphql::{Actor, Caller, Rel04Schema};

/// GraphQL requests executing at once; others wait (within their deadline).
/// Each may hold a response tree of up to the complexity limit in memory.
pub const MAX_CONCURRENT: usize = 4;
/// Largest response sent; larger ones are refused with an error.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

pub struct Endpoint {
    pub schema: Rel04Schema,
    pub access: Access,
    pub token: Option<SecretString>,
    /// Why GraphQL is off, when it is.
    pub off: Option<String>,
    pub body_read_timeout: Duration,
    /// At most [`MAX_CONCURRENT`] at once, each within `http.request_timeout`.
    pub admission: Admission,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "errors": [{ "message": message.into(), "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

fn refused((status, message): access::Refusal) -> Response {
    error(status, "REFUSED", message)
}

/// Runs one GraphQL request; every refusal is GraphQL-shaped so clients show it.
pub async fn graphql(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let checks = endpoint
        .access
        .check_host(&parts.headers)
        .and_then(|()| endpoint.access.check_origin(&parts.headers));
    if let Err(refusal) = checks {
        return refused(refusal);
    }
    if let Some(why) = &endpoint.off {
        return error(StatusCode::NOT_FOUND, "OFF", why.clone());
    }
    if let Some(token) = &endpoint.token
        && !token_matches(&parts.headers, token)
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "missing or wrong bearer token",
        );
    }
    if let Err(refusal) = access::check_json(&parts.headers, true) {
        return refused(refusal);
    }
    let body = match body::read(body, MAX_QUERY_BYTES, endpoint.body_read_timeout).await {
        Ok(body) => body,
        Err(refusal) => return refused(refusal),
    };
    let request = match parse(&body) {
        Ok(request) => request
            .data(RegexBudget::default())
            .data(RowBudget::default())
            .data(Actor("graphql (HTTP)".to_owned()))
            .data(Caller(client_ip(&parts.extensions).to_string())),
        Err(message) => return error(StatusCode::BAD_REQUEST, "BAD_REQUEST", message),
    };
    if endpoint.token.is_none() && is_mutation(&request) {
        return error(
            StatusCode::FORBIDDEN,
            "MUTATIONS_OFF",
            "mutations need a bearer token: set http.graphql_token (and send it)",
        );
    }
    let run = crate::graphql::execute(&endpoint.schema, request);
    match endpoint.admission.run(run).await {
        Ok(response) => capped_json(&response),
        Err(busy @ Refused::Busy { .. }) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "BUSY",
            busy.message("GraphQL requests"),
        ),
        Err(slow @ Refused::Slow { .. }) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "TIMEOUT",
            format!(
                "{}: a smaller limit:, fewer aliases, value terms instead of regexes",
                slow.message("GraphQL requests")
            ),
        ),
    }
}

/// Whether the operation `request` runs is a mutation. A document that does not
/// parse is not: execution reports its syntax error.
fn is_mutation(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    match limits::operation(&document, request.operation_name.as_deref()) {
        Some(op) => op.ty == OperationType::Mutation,
        // Ambiguous without a name: refused by execution unless there is one.
        None => match &document.operations {
            DocumentOperations::Multiple(ops) => {
                ops.values().any(|op| op.node.ty == OperationType::Mutation)
            }
            DocumentOperations::Single(_) => false,
        },
    }
}

/// One `{"query": ...}` object; a batch (a JSON array) is named as such.
fn parse(body: &[u8]) -> Result<async_graphql::Request, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        return Err(
            "batched requests (a JSON array) are not supported; send one {\"query\": ...} object per request"
                .to_owned(),
        );
    }
    serde_json::from_slice(body)
        .map_err(|e| format!("the body is not a GraphQL request ({{\"query\": ...}}): {e}"))
}

/// Serialises `response`, stopping at [`MAX_RESPONSE_BYTES`].
fn capped_json(response: &async_graphql::Response) -> Response {
    let mut out = Capped::new(MAX_RESPONSE_BYTES);
    match serde_json::to_writer(&mut out, response) {
        Ok(()) => (
            [(header::CONTENT_TYPE, "application/json")],
            out.into_inner(),
        )
            .into_response(),
        Err(_) => error(
            StatusCode::BAD_REQUEST,
            "RESPONSE_TOO_LARGE",
            format!(
                "the response would be over {} MiB; ask for fewer items (limit:, after:) or fields",
                MAX_RESPONSE_BYTES / (1024 * 1024)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_non_objects_get_errors_that_say_so() {
        assert!(
            parse(b" [{\"query\": \"{ __typename }\"}]")
                .unwrap_err()
                .contains("batched requests")
        );
        assert!(
            parse(b"\"x\"")
                .unwrap_err()
                .starts_with("the body is not a GraphQL request")
        );
        assert!(parse(b"{\"query\": \"{ __typename }\"}").is_ok());
    }

    #[test]
    fn responses_over_the_cap_are_refused_not_sent() {
        let small = async_graphql::Response::new(async_graphql::Value::from("x".repeat(1000)));
        assert_eq!(capped_json(&small).status(), StatusCode::OK);
        let huge = "x".repeat(MAX_RESPONSE_BYTES);
        let huge = async_graphql::Response::new(async_graphql::Value::from(huge));
        assert_eq!(capped_json(&huge).status(), StatusCode::BAD_REQUEST);
    }
}
