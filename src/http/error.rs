//! The HTTP layer's one error type. Every error leaves the service as JSON `{"error": "..."}`;
//! unexpected failures are logged with their cause and answered with a generic message.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use assessment_domain::RequestError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Invalid API key")]
    InvalidApiKey,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{0}")]
    Unprocessable(&'static str),
    /// 429, with `Retry-After` and the `RateLimit-*` headers.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        /// The limit that was reached (a burst of requests, or a number of queued jobs).
        limit: u32,
        retry_after: std::time::Duration,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub const JOB_NOT_FOUND: ApiError = ApiError::NotFound("Task execution not found");

/// A refused command is the client's conflict with the job's state (or with a concurrent
/// writer), not a server failure; only storage and decoding failures are 500s.
impl From<crate::commands::CommandError> for ApiError {
    fn from(error: crate::commands::CommandError) -> Self {
        use assessment_domain::TaskExecutionError;
        use cqrs_es::AggregateError;
        match error {
            AggregateError::UserError(TaskExecutionError::NotRequested) => JOB_NOT_FOUND,
            AggregateError::UserError(TaskExecutionError::AlreadyRequested) => {
                ApiError::Conflict("This job was requested already")
            }
            AggregateError::UserError(TaskExecutionError::AlreadyEnded) => {
                ApiError::Conflict("This job has ended already")
            }
            AggregateError::UserError(TaskExecutionError::NotStarted) => {
                ApiError::Conflict("This job has not started processing")
            }
            AggregateError::AggregateConflict => {
                ApiError::Conflict("Another request changed this job at the same time; try again")
            }
            other => ApiError::Internal(anyhow::anyhow!("command failed: {other}")),
        }
    }
}

impl From<RequestError> for ApiError {
    fn from(error: RequestError) -> Self {
        ApiError::BadRequest(error.to_string())
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidApiKey => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            ApiError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                "Internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = error_response(self.status(), &message);
        if let ApiError::TooManyRequests {
            limit, retry_after, ..
        } = &self
        {
            // Whole seconds, rounded up: a client that waits that long is let in.
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            let headers = response.headers_mut();
            for (name, value) in [
                ("retry-after", seconds.max(1).to_string()),
                ("ratelimit-limit", limit.to_string()),
                ("ratelimit-remaining", "0".to_owned()),
                ("ratelimit-reset", seconds.max(1).to_string()),
            ] {
                headers.insert(name, HeaderValue::from_str(&value).expect("digits"));
            }
        }
        response
    }
}

pub fn error_response(status: StatusCode, message: &str) -> Response {
    let mut response = Response::new(Body::from(json!({ "error": message }).to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Longest plain-text error body carried over into the JSON error.
const MAX_CARRIED_MESSAGE: usize = 512;

/// Rewrites any error response that is not JSON (axum's own rejections, 405s, layer errors)
/// into the service's `{"error": ...}` shape, keeping a short plain-text message.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_CARRIED_MESSAGE * 4)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty() && text.len() <= MAX_CARRIED_MESSAGE);
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "Request body is too large (limit {} bytes)",
            super::MAX_BODY_BYTES
        ),
        _ => text.unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_owned()),
    };
    let mut rewritten = error_response(status, &message);
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use assessment_domain::TaskExecutionError;
    use cqrs_es::AggregateError;

    use super::*;

    #[test]
    fn refused_commands_are_client_errors_and_failures_are_500() {
        let status = |error| ApiError::from(error).status();
        assert_eq!(
            status(AggregateError::UserError(
                TaskExecutionError::AlreadyRequested
            )),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(AggregateError::UserError(TaskExecutionError::AlreadyEnded)),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(AggregateError::UserError(TaskExecutionError::NotRequested)),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(AggregateError::AggregateConflict),
            StatusCode::CONFLICT
        );
        assert_eq!(
            status(AggregateError::UnexpectedError("disk full".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
