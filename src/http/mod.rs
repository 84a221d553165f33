//! The REST API, as the seed document describes it.

mod auth;
mod error;
mod guard;
mod handlers;
mod history;
mod limits;
mod params;
#[cfg(test)]
mod tests;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{middleware, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use std::sync::Arc;

use crate::api_keys::KeyCache;
use crate::clock::Clock;
use crate::commands::CommandBus;
use crate::generator::Engine;
use crate::store::Db;
use crate::webhooks::WebhookConfig;

pub use error::ApiError;
pub use handlers::IDEMPOTENCY_KEY_KEPT;
pub use limits::Limits;

/// Largest request body accepted, in bytes; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub bus: CommandBus,
    pub engine: Arc<Engine>,
    pub webhooks: WebhookConfig,
    pub clock: Clock,
    /// API keys recently seen, so most requests skip the key lookup.
    pub keys: Arc<KeyCache>,
    /// Request rate per API key and queued jobs per organization.
    pub limits: Arc<Limits>,
    /// How far behind the log a subscription may be before `/readyz` says not ready.
    pub ready_max_lag: std::time::Duration,
    /// Turns true when the server is shutting down: long-lived responses end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// The routes, with each request's body to be read within `body_timeout` (a body sent slower
/// than that is answered 408, and its connection closed).
pub fn router_with_body_timeout(state: AppState, body_timeout: std::time::Duration) -> Router {
    routes(state, body_timeout)
}

/// The routes, with the default body timeout (tests in process).
pub fn router(state: AppState) -> Router {
    routes(state, std::time::Duration::from_secs(30))
}

fn routes(state: AppState, body_timeout: std::time::Duration) -> Router {
    Router::new()
        .route(
            "/api/v2/assessments/generate-ai",
            post(handlers::generate_assessment),
        )
        .route(
            "/api/v2/task-executions/status/{job_id}",
            get(handlers::task_status),
        )
        .route(
            "/api/v2/assessments/{assessment_id}/info",
            get(handlers::assessment_info),
        )
        .route(
            "/api/v2/assessments/{assessment_id}/questions",
            get(handlers::assessment_questions),
        )
        .route(
            "/api/v2/task-executions/status/{job_id}/stream",
            get(history::status_stream),
        )
        .route(
            "/api/v2/task-executions/{job_id}/events",
            get(history::job_events),
        )
        .route("/api/v2/events", get(history::feed))
        .route("/api/v2/skills", get(handlers::skills))
        .route("/api/v2/webhooks/secret", get(webhooks::secret))
        .route(
            "/api/v2/webhooks/secret/rotate",
            post(webhooks::rotate_secret),
        )
        .route(
            "/api/v2/task-executions/{job_id}/webhook-deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v2/task-executions/{job_id}/webhook-deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/health", get(handlers::health))
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .fallback(handlers::unknown_route)
        .layer(middleware::from_fn_with_state(
            body_timeout,
            guard::read_body_within,
        ))
        .layer(middleware::from_fn(guard::refuse_malformed))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::map_response(error::json_errors))
        .layer(TraceLayer::new_for_http().make_span_with(guard::request_span))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(guard::drop_unusable_request_id))
        .with_state(state)
}
