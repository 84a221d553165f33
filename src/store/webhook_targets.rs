//! The `webhook_targets` table: where a job's webhooks go, and whether the listener said it is
//! gone (410).

use sqlx::QueryBuilder;

use super::{Db, Tx};
use crate::{with_pool, with_tx};

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

/// Whose a job's target is, and whether the listener said it is gone.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TargetOwner {
    pub job_id: String,
    pub organization_id: String,
    pub gone: bool,
}

/// A job's target, locked until the transaction ends: whoever changes a job's messages (the
/// outbox queueing them, a dispatcher settling one, a redelivery) holds this lock, so the
/// job's head (see [`super::webhook_messages`]) is never moved by two at once.
pub async fn lock(tx: &mut Tx, job_id: &str) -> sqlx::Result<Option<TargetOwner>> {
    Ok(lock_all(tx, &[job_id]).await?.pop())
}

/// The targets of these jobs (those that have one), each locked as by [`lock`], in job order.
pub async fn lock_all(tx: &mut Tx, job_ids: &[&str]) -> sqlx::Result<Vec<TargetOwner>> {
    let lock_row = tx.dialect().lock_row;
    let mut targets = Vec::new();
    for chunk in job_ids.chunks(500) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "SELECT job_id, organization_id, gone <> 0 AS gone FROM webhook_targets \
                 WHERE job_id IN (",
            );
            let mut ids = query.separated(", ");
            for job_id in chunk {
                ids.push_bind(*job_id);
            }
            query.push(") ORDER BY job_id").push(lock_row);
            targets.extend(query.build_query_as().fetch_all(&mut *conn).await?);
        });
    }
    Ok(targets)
}

/// Where a job's webhooks go, as the dispatcher needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Target {
    pub url: String,
    pub api_key_id: Option<String>,
    pub organization_id: String,
    /// The listener answered 410 Gone: nothing more is sent.
    pub gone: bool,
}

pub async fn for_delivery(db: &Db, job_id: &str) -> sqlx::Result<Option<Target>> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT url, api_key_id, organization_id, gone <> 0 AS gone FROM webhook_targets
             WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_optional(pool)
        .await
    })
}

/// Whether the organization's job has a webhook target.
pub async fn exists(db: &Db, job_id: &str, organization_id: &str) -> sqlx::Result<bool> {
    let found: Option<String> = with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT job_id FROM webhook_targets WHERE job_id = $1 AND organization_id = $2",
        )
        .bind(job_id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await?
    });
    Ok(found.is_some())
}
