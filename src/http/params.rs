//! What the routes read from paths and query strings: ids, times, points in the log.

use chrono::{DateTime, Utc};

use super::error::ApiError;
use crate::query::AsOf;

/// The canonical (lower-case, hyphenated) form of a job or assessment id, if it is a UUID.
pub fn canonical_id(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw).ok().map(|id| id.to_string())
}

pub fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::BadRequest(format!("{name} must be an RFC 3339 time")))
}

/// `?as_of=`: a log position, or an RFC 3339 time.
pub fn parse_as_of(text: &str) -> Result<AsOf, ApiError> {
    if let Ok(position) = text.parse::<i64>() {
        return Ok(AsOf::Position(position));
    }
    parse_time("as_of", text).map(AsOf::Time).map_err(|_| {
        ApiError::BadRequest("as_of must be a log position or an RFC 3339 time".into())
    })
}
