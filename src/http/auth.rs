//! API-key authentication. The key may come in `apiKey` (the original service's header),
//! `X-API-Key`, or `Authorization: Bearer`. The key is never logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::error::ApiError;
use super::AppState;
use crate::api_keys::Caller;

/// The key the request presents: the first of `apiKey`, `X-API-Key` and `Authorization:
/// Bearer` that holds one (an empty or blank header hides none of the others).
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let direct = ["apikey", "x-api-key"]
        .into_iter()
        .flat_map(|name| headers.get_all(name))
        .filter_map(|v| v.to_str().ok());
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        });
    direct.chain(bearer).map(str::trim).find(|k| !k.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = presented_key(&parts.headers).ok_or(ApiError::InvalidApiKey)?;
        let caller = state
            .keys
            .authenticate(&state.db, key)
            .await?
            .ok_or(ApiError::InvalidApiKey)?;
        state.limits.take(&caller.key_id)?;
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::presented_key;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_first_header_holding_a_key_wins() {
        let key = |pairs| presented_key(&headers(pairs)).map(str::to_owned);
        assert_eq!(
            key(&[("apikey", "a"), ("x-api-key", "b")]),
            Some("a".into())
        );
        assert_eq!(key(&[("apikey", ""), ("x-api-key", "b")]), Some("b".into()));
        assert_eq!(
            key(&[("apikey", "  "), ("authorization", "Bearer c")]),
            Some("c".into())
        );
        assert_eq!(
            key(&[("x-api-key", ""), ("x-api-key", " d ")]),
            Some("d".into())
        );
        assert_eq!(key(&[("authorization", "Basic e")]), None);
        assert_eq!(key(&[("apikey", ""), ("authorization", "Bearer ")]), None);
    }
}
