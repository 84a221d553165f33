//! Where a job's webhooks go (`webhook_targets`) and the outbox messages the webhook
//! subscription writes (`webhook_messages`).

use super::Tx;
use crate::with_tx;

/// Records where a job's webhooks go (kept if already there).
pub async fn add(
    tx: &mut Tx,
    job_id: &str,
    organization_id: &str,
    api_key_id: Option<&str>,
    url: &str,
) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO webhook_targets (job_id, organization_id, api_key_id, url)
             VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(job_id)
        .bind(organization_id)
        .bind(api_key_id)
        .bind(url)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}

/// A job's target: its organization, and whether the target is gone (its key revoked).
pub async fn find(tx: &mut Tx, job_id: &str) -> sqlx::Result<Option<(String, bool)>> {
    let row: Option<(String, i32)> = with_tx!(tx, |conn| {
        sqlx::query_as("SELECT organization_id, gone FROM webhook_targets WHERE job_id = $1")
            .bind(job_id)
            .fetch_optional(&mut *conn)
            .await?
    });
    Ok(row.map(|(organization_id, gone)| (organization_id, gone != 0)))
}

/// A message the outbox subscription queues.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub job_id: &'a str,
    pub organization_id: &'a str,
    pub sequence: i64,
    pub payload: &'a str,
    pub state: &'a str,
    pub next_attempt_ms: i64,
    pub created_at: &'a str,
}

/// Queues a message unless one with its id exists; returns whether it was added.
pub async fn queue_message(tx: &mut Tx, message: &NewMessage<'_>) -> sqlx::Result<bool> {
    let added = with_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO webhook_messages
                 (id, job_id, organization_id, sequence, payload, state, next_attempt_ms, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(message.id)
        .bind(message.job_id)
        .bind(message.organization_id)
        .bind(message.sequence)
        .bind(message.payload)
        .bind(message.state)
        .bind(message.next_attempt_ms)
        .bind(message.created_at)
        .execute(&mut *conn)
        .await?
        .rows_affected()
    });
    Ok(added == 1)
}
