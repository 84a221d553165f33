//! Checks every request passes before any route sees it, each answered in the service's JSON
//! error shape: a URL or header block too long, an encoded NUL in the path or query, a body
//! not sent in time.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{error_response, ApiError};
use super::MAX_BODY_BYTES;

/// Longest path and query accepted, in bytes (the server itself refuses, without a body, far
/// longer ones).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest header block accepted, in bytes (names and values).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses a URL longer than [`MAX_URI_BYTES`] (414), a header block larger than
/// [`MAX_HEADER_BYTES`] (431), and a path or query string holding an encoded NUL (`%00`, 400:
/// no id, name or filter contains one, and PostgreSQL cannot store one in text).
pub async fn refuse_malformed(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if target > MAX_URI_BYTES {
        return error_response(
            StatusCode::URI_TOO_LONG,
            &format!("The URL is too long (limit {MAX_URI_BYTES} bytes)"),
        );
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers > MAX_HEADER_BYTES {
        return error_response(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &format!("The request headers are too large (limit {MAX_HEADER_BYTES} bytes)"),
        );
    }
    let holds_nul = |text: &str| {
        text.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    };
    if holds_nul(uri.path()) || uri.query().is_some_and(holds_nul) {
        return ApiError::BadRequest(
            "Path and query parameters must not contain NUL characters (%00)".into(),
        )
        .into_response();
    }
    next.run(request).await
}

/// Reads the whole body (at most [`MAX_BODY_BYTES`] of it) within `timeout` before the route
/// runs: a client that sends it slower gets 408 and its connection is closed, one that sends
/// more gets 413. Every route that takes a body reads all of it anyway.
pub async fn read_body_within(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let bytes = match tokio::time::timeout(timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return closing(error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request body is too large (limit {MAX_BODY_BYTES} bytes)"),
            ))
        }
        Err(_) => {
            return closing(error_response(
                StatusCode::REQUEST_TIMEOUT,
                &format!(
                    "The request body was not received within {} s",
                    timeout.as_secs()
                ),
            ))
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// `response`, asking the server to close the connection after it (what is left of the
/// request on it cannot be trusted).
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Longest `x-request-id` taken from a client; a longer one, or one with other than visible
/// ASCII, is replaced by a new id.
pub const MAX_REQUEST_ID: usize = 128;

/// Removes a client's `x-request-id` that is too long or not visible ASCII, so that the
/// request gets an id of the service's own.
pub async fn drop_unusable_request_id(mut request: Request, next: Next) -> Response {
    let usable = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID && bytes.iter().all(u8::is_ascii_graphic)
    };
    if request
        .headers()
        .get(REQUEST_ID)
        .is_some_and(|value| !usable(value))
    {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

const REQUEST_ID: &str = "x-request-id";

/// The span every log line of a request is written in: method, path and request id.
pub fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}
