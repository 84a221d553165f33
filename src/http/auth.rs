//! API-key authentication. The key may come in `apiKey` (the original service's header),
//! `X-API-Key`, or `Authorization: Bearer`. The key is never logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::error::ApiError;
use super::AppState;
use crate::api_keys::Caller;

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let direct = ["apikey", "x-api-key"]
        .into_iter()
        .find_map(|name| headers.get(name))
        .and_then(|v| v.to_str().ok());
    let bearer = || {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(token)
            })
    };
    direct
        .or_else(bearer)
        .map(str::trim)
        .filter(|k| !k.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = presented_key(&parts.headers).ok_or(ApiError::InvalidApiKey)?;
        state
            .keys
            .authenticate(&state.db, key)
            .await?
            .ok_or(ApiError::InvalidApiKey)
    }
}
