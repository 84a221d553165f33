//! The `webhook_secrets` table: each API key's signing secrets by version, with the time a
//! rotated-out one stops signing. Times are the caller's (from its clock).

use chrono::{DateTime, Utc};

use super::time::StoredTime;
use super::Db;
use crate::with_pool;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SecretRow {
    pub secret: String,
    pub version: i32,
    pub created_at: StoredTime,
    pub expires_at: Option<StoredTime>,
}

/// Adds version `version` of a key's secret, unless that version exists.
pub async fn insert(
    db: &Db,
    key_id: &str,
    version: i32,
    secret: &str,
    created_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO webhook_secrets (api_key_id, version, secret, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (api_key_id, version) DO NOTHING",
        )
        .bind(key_id)
        .bind(version)
        .bind(secret)
        .bind(StoredTime(created_at))
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// The key's two newest secrets, newest first.
pub async fn newest_two(db: &Db, key_id: &str) -> anyhow::Result<Vec<SecretRow>> {
    Ok(with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT secret, version, created_at, expires_at FROM webhook_secrets
             WHERE api_key_id = $1 ORDER BY version DESC LIMIT 2",
        )
        .bind(key_id)
        .fetch_all(pool)
        .await?
    }))
}

/// Every secret of the key older than `version` still in force at `now` stops signing then.
pub async fn retire_before(
    db: &Db,
    key_id: &str,
    version: i32,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $3
             WHERE api_key_id = $1 AND version < $2 AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(key_id)
        .bind(version)
        .bind(StoredTime(now))
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// Every secret of the key still in force at `until` stops signing then.
pub async fn expire_at(db: &Db, key_id: &str, until: DateTime<Utc>) -> anyhow::Result<()> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE webhook_secrets SET expires_at = $2
             WHERE api_key_id = $1 AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(key_id)
        .bind(StoredTime(until))
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// The key's secrets in force at `now`, newest first.
pub async fn in_force(db: &Db, key_id: &str, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    Ok(with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT secret FROM webhook_secrets
             WHERE api_key_id = $1 AND (expires_at IS NULL OR expires_at > $2)
             ORDER BY version DESC",
        )
        .bind(key_id)
        .bind(StoredTime(now))
        .fetch_all(pool)
        .await?
    }))
}
