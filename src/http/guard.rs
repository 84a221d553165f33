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
