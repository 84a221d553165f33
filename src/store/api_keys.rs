//! The `api_keys` table: keys by their SHA-256 hash, never the keys themselves.

use chrono::{DateTime, Utc};

use super::time::StoredTime;
use super::Db;
use crate::with_pool;

/// A stored key, without its hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub organization_id: String,
    /// The first characters of the key, to tell keys apart.
    pub key_prefix: String,
    pub created_at: StoredTime,
    pub revoked_at: Option<StoredTime>,
}

/// Who a key belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyOwner {
    pub id: String,
    pub organization_id: String,
}

/// Stores a key under its hash. Returns false if a key with that hash exists already.
pub async fn insert(db: &Db, row: &ApiKeyRow, key_hash: &str) -> anyhow::Result<bool> {
    let inserted = with_pool!(db, |pool| {
        sqlx::query(
            "INSERT INTO api_keys (id, name, organization_id, key_hash, key_prefix, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_hash) DO NOTHING",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(&row.organization_id)
        .bind(key_hash)
        .bind(&row.key_prefix)
        .bind(row.created_at)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(inserted == 1)
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    Ok(with_pool!(db, |pool| {
        sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(pool)
            .await?
    }))
}

/// Every key, oldest first.
pub async fn list(db: &Db) -> anyhow::Result<Vec<ApiKeyRow>> {
    Ok(with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, name, organization_id, key_prefix, created_at, revoked_at
             FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(pool)
        .await?
    }))
}

/// Marks the active key `id` revoked at `at`. Returns false if no such active key exists.
pub async fn revoke(db: &Db, id: &str, at: DateTime<Utc>) -> anyhow::Result<bool> {
    let affected = with_pool!(db, |pool| {
        sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(StoredTime(at))
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(affected == 1)
}

/// The owner of the active key with this hash.
pub async fn active_owner(db: &Db, key_hash: &str) -> anyhow::Result<Option<KeyOwner>> {
    Ok(with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT id, organization_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(pool)
        .await?
    }))
}

/// The oldest key of an organization (signs webhooks of jobs recorded without a key).
pub async fn oldest_of_organization(db: &Db, organization_id: &str) -> sqlx::Result<String> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT id FROM api_keys WHERE organization_id = $1 ORDER BY created_at LIMIT 1",
        )
        .bind(organization_id)
        .fetch_one(pool)
        .await
    })
}
