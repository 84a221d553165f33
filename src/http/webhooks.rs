//! Webhook routes: the caller's signing secret and its rotation, a job's delivery log, and
//! redelivery. All scoped to the key's organization.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::error::{ApiError, JOB_NOT_FOUND};
use super::params::canonical_id;
use super::AppState;
use crate::api_keys::Caller;
use crate::webhooks::delivery_log::{self, Redelivery};
use crate::webhooks::signing;

/// `GET /api/v2/webhooks/secret`
pub async fn secret(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<signing::SecretInfo>, ApiError> {
    Ok(Json(
        signing::current(&state.db, &caller.key_id, state.clock.now()).await?,
    ))
}

/// `POST /api/v2/webhooks/secret/rotate`
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<signing::SecretInfo>, ApiError> {
    let grace = state.webhooks.secret_grace;
    let rotated = signing::rotate(&state.db, &caller.key_id, grace, state.clock.now()).await?;
    tracing::info!(key_id = %caller.key_id, version = rotated.version, "webhook secret rotated");
    Ok(Json(rotated))
}

/// `GET /api/v2/task-executions/{job_id}/webhook-deliveries`
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job_id = canonical_id(&job_id).ok_or(JOB_NOT_FOUND)?;
    match delivery_log::delivery_log(&state.db, &job_id, &caller.organization_id).await? {
        Some(deliveries) => Ok(Json(json!({ "job_id": job_id, "deliveries": deliveries }))),
        None => {
            // A job of the caller's without a notification_url has an empty log.
            crate::query::task_status(&state.db, &job_id, &caller.organization_id)
                .await?
                .ok_or(JOB_NOT_FOUND)?;
            Ok(Json(json!({ "job_id": job_id, "deliveries": [] })))
        }
    }
}

/// `POST /api/v2/task-executions/{job_id}/webhook-deliveries/{delivery_id}/redeliver`
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((job_id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let job_id = canonical_id(&job_id).ok_or(JOB_NOT_FOUND)?;
    let clock = state.clock.for_leases();
    let organization_id = &caller.organization_id;
    match delivery_log::redeliver(&state.db, &job_id, &delivery_id, organization_id, clock).await? {
        Redelivery::Queued => {}
        Redelivery::NotFound => return Err(ApiError::NotFound("Webhook delivery not found")),
        Redelivery::InFlight => {
            return Err(ApiError::Conflict(
                "This webhook delivery is still on its way; redeliver it once it has settled",
            ))
        }
        Redelivery::Gone => {
            return Err(ApiError::Conflict(
                "The listener answered 410 Gone for this job; nothing more is sent to it",
            ))
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "id": delivery_id,
            "job_id": job_id,
            "state": "pending",
            "message": "Webhook delivery queued again"
        })),
    ))
}
