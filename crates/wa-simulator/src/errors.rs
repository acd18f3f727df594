//! REST-JSON error responses, shaped like the botocore model's error structures.
//!
//! The SDK reads the error code from the `X-Amzn-Errortype` header first, then from
//! `code`/`__type` in the body (see `json_errors.rs` in the generated SDK); we send the
//! header and `__type`. Members use the model's casing: `Message`, `ResourceId`,
//! `ResourceType`, `Reason`, `Fields`, `QuotaCode`, `ServiceCode`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::edit::EditError;
use super::stats::Outcome;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// Status 400; `reason` is the model's ValidationExceptionReason; `field` names the
    /// offending input member when there is one.
    Validation {
        message: String,
        reason: &'static str,
        field: Option<&'static str>,
    },
    /// Status 403.
    AccessDenied(String),
    /// Status 404; `resource_type` is one of WORKLOAD, LENS_REVIEW, QUESTION, MILESTONE.
    NotFound {
        message: String,
        resource_id: String,
        resource_type: &'static str,
    },
    /// Status 409 (UpdateAnswer only, injected).
    Conflict {
        message: String,
        resource_id: String,
    },
    /// Status 402: a quota (100 milestones per workload).
    QuotaExceeded(String),
    /// Status 429, from the rate limit or the throttle probability.
    Throttling(String),
    /// Status 500.
    Internal(String),
    /// Status 404: the method and path match no operation the simulator implements
    /// (the REST-JSON routing error of Smithy's servers; never counted).
    UnknownOperation(String),
}

impl ApiError {
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            reason: "FIELD_VALIDATION_FAILED",
            field: Some(field),
        }
    }

    /// An operation of the service the simulator does not implement: the
    /// service's own ValidationException (reason UNKNOWN_OPERATION), which every such
    /// operation's model lists, with a message naming it.
    pub fn unsupported(operation: &str) -> Self {
        Self::Validation {
            message: format!(
                "The Well-Architected Tool simulator does not implement {operation} \
                 (see the simulator's README for what it implements)"
            ),
            reason: "UNKNOWN_OPERATION",
            field: None,
        }
    }

    pub fn cannot_parse(message: impl Into<String>) -> Self {
        Self::Validation {
            message: message.into(),
            reason: "CANNOT_PARSE",
            field: None,
        }
    }

    pub fn not_found(resource_type: &'static str, resource_id: &str, message: String) -> Self {
        Self::NotFound {
            message,
            resource_id: resource_id.to_string(),
            resource_type,
        }
    }

    /// The error shape name, used for both the header and `__type`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "ValidationException",
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::NotFound { .. } => "ResourceNotFoundException",
            Self::Conflict { .. } => "ConflictException",
            Self::QuotaExceeded(_) => "ServiceQuotaExceededException",
            Self::Throttling(_) => "ThrottlingException",
            Self::Internal(_) => "InternalServerException",
            Self::UnknownOperation(_) => "UnknownOperationException",
        }
    }

    /// The model's `httpStatusCode` for the shape.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation { .. } => StatusCode::BAD_REQUEST,
            Self::AccessDenied(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } | Self::UnknownOperation(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::QuotaExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Throttling(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Validation { .. } => Outcome::Validation,
            Self::AccessDenied(_) => Outcome::Denied,
            Self::NotFound { .. } | Self::UnknownOperation(_) => Outcome::NotFound,
            Self::Conflict { .. } => Outcome::Conflict,
            Self::Throttling(_) => Outcome::Throttled,
            Self::QuotaExceeded(_) => Outcome::Validation,
            Self::Internal(_) => Outcome::Error,
        }
    }

    pub fn body(&self) -> Value {
        let code = self.code();
        match self {
            Self::Validation {
                message,
                reason,
                field,
            } => {
                let mut body = json!({"__type": code, "Message": message, "Reason": reason});
                if let Some(name) = field {
                    body["Fields"] = json!([{"Name": name, "Message": message}]);
                }
                body
            }
            Self::NotFound {
                message,
                resource_id,
                resource_type,
            } => json!({
                "__type": code, "Message": message,
                "ResourceId": resource_id, "ResourceType": resource_type,
            }),
            Self::Conflict {
                message,
                resource_id,
            } => json!({
                "__type": code, "Message": message,
                "ResourceId": resource_id, "ResourceType": "WORKLOAD",
            }),
            Self::Throttling(message) => json!({
                "__type": code, "Message": message,
                // Service Quotas identifiers; the Tool publishes no rate quota code,
                // so these are the simulator's own.
                "QuotaCode": "sim-api-rate", "ServiceCode": "wellarchitected",
            }),
            Self::QuotaExceeded(message) => json!({
                "__type": code, "Message": message,
                "QuotaCode": "sim-milestones-per-workload", "ServiceCode": "wellarchitected",
            }),
            Self::AccessDenied(message)
            | Self::Internal(message)
            | Self::UnknownOperation(message) => {
                json!({"__type": code, "Message": message})
            }
        }
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        let message = e.to_string();
        match e {
            EditError::NoWorkload(id) => Self::not_found(
                "WORKLOAD",
                &id,
                format!("[ResourceNotFound] No workload with ID {id}"),
            ),
            EditError::Invalid { field, .. } => Self::field(field, message),
            EditError::NameTaken { other, .. } => Self::Conflict {
                message,
                resource_id: other,
            },
        }
    }
}
