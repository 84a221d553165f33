//! The delivery log read model: a job's messages with every attempt, as
//! `GET …/webhook-deliveries` shows them, and redelivery of a settled message.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::store::time::LeaseClock;
use crate::store::webhook_messages::{self, MessageState};
use crate::store::{webhook_targets, Db};

/// Times as the delivery log shows them: RFC 3339, UTC, milliseconds.
fn shown(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One message of a job's delivery log.
#[derive(Debug, Serialize)]
pub struct DeliveryLogEntry {
    pub id: String,
    pub state: String,
    pub payload: Value,
    pub attempts: Vec<AttemptLogEntry>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AttemptLogEntry {
    pub attempted_at: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub response_body: Option<String>,
}

/// Every message of a job with its attempts, or `None` if the job has no webhook for
/// `organization_id`.
pub async fn delivery_log(
    db: &Db,
    job_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<Vec<DeliveryLogEntry>>> {
    if !webhook_targets::exists(db, job_id, organization_id).await? {
        return Ok(None);
    }
    let (messages, attempts) = webhook_messages::job_log(db, job_id).await?;
    let mut log = Vec::with_capacity(messages.len());
    for message in messages {
        let attempts = attempts
            .iter()
            .filter(|a| a.message_id == message.id)
            .map(|a| AttemptLogEntry {
                attempted_at: shown(a.attempted_at.0),
                status_code: a.status_code,
                error: a.error.clone(),
                duration_ms: a.duration_ms,
                response_body: a.response_body.clone(),
            })
            .collect();
        let next_attempt_at =
            (message.state == MessageState::Pending).then(|| shown(message.next_attempt_at.0));
        log.push(DeliveryLogEntry {
            payload: serde_json::from_str(&message.payload)?,
            id: message.id,
            state: message.state.as_str().to_owned(),
            attempts,
            created_at: shown(message.created_at.0),
            delivered_at: message.delivered_at.map(|at| shown(at.0)),
            next_attempt_at,
        });
    }
    Ok(Some(log))
}

/// What a redelivery request came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Redelivery {
    Queued,
    /// The organization has no such message.
    NotFound,
    /// The message is still on its way (pending or being sent): nothing to redeliver yet.
    InFlight,
    /// The listener answered 410 Gone for this job.
    Gone,
}

/// Queues a settled message (delivered, failed or cancelled) again, due at once by `clock`,
/// with the same `webhook-id`.
pub async fn redeliver(
    db: &Db,
    job_id: &str,
    message_id: &str,
    organization_id: &str,
    clock: LeaseClock,
) -> anyhow::Result<Redelivery> {
    match webhook_messages::find(db, job_id, message_id, organization_id).await? {
        None => return Ok(Redelivery::NotFound),
        Some(true) => return Ok(Redelivery::Gone),
        Some(false) => {}
    }
    Ok(
        if webhook_messages::requeue(db, job_id, message_id, clock).await? {
            Redelivery::Queued
        } else {
            Redelivery::InFlight
        },
    )
}
