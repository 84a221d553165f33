//! The `idempotency_keys` table: the job an organization's `Idempotency-Key` stands for, and
//! the hash of the request that first used it. Times are the caller's (from its clock).

use chrono::{DateTime, Utc};

use super::time::StoredTime;
use super::Db;
use crate::with_pool;

/// What a key stands for.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reservation {
    pub job_id: String,
    pub request_hash: String,
}

/// Reserves `key` of `organization_id` for a request hashing to `request_hash` and the new job
/// `job_id`, unless the key is held by a reservation made after `expired_before`; returns the
/// reservation in force (the new one, or the one that holds the key). One statement, so two
/// requests with the same key, on any instance, get the same reservation.
pub async fn reserve(
    db: &Db,
    organization_id: &str,
    key: &str,
    request_hash: &str,
    job_id: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
) -> sqlx::Result<Reservation> {
    let inserted: Option<Reservation> = with_pool!(db, |pool| {
        sqlx::query_as(
            "INSERT INTO idempotency_keys (organization_id, key, request_hash, job_id, created_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (organization_id, key) DO UPDATE
                 SET request_hash = excluded.request_hash, job_id = excluded.job_id,
                     created_at = excluded.created_at
                 WHERE idempotency_keys.created_at < $6
             RETURNING job_id, request_hash",
        )
        .bind(organization_id)
        .bind(key)
        .bind(request_hash)
        .bind(job_id)
        .bind(StoredTime(now))
        .bind(StoredTime(expired_before))
        .fetch_optional(pool)
        .await?
    });
    if let Some(reservation) = inserted {
        return Ok(reservation);
    }
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT job_id, request_hash FROM idempotency_keys
             WHERE organization_id = $1 AND key = $2",
        )
        .bind(organization_id)
        .bind(key)
        .fetch_one(pool)
        .await
    })
}

/// Gives up the reservation of `key` for `job_id` (its request was refused before the job was
/// created), so that a retry is judged afresh.
pub async fn release(db: &Db, organization_id: &str, key: &str, job_id: &str) -> sqlx::Result<()> {
    with_pool!(db, |pool| {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE organization_id = $1 AND key = $2 AND job_id = $3",
        )
        .bind(organization_id)
        .bind(key)
        .bind(job_id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// Forgets the keys reserved before `expired_before`; returns how many.
pub async fn purge(db: &Db, expired_before: DateTime<Utc>) -> sqlx::Result<u64> {
    Ok(with_pool!(db, |pool| {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(StoredTime(expired_before))
            .execute(pool)
            .await?
            .rows_affected()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_keeps_its_first_job_until_it_expires() {
        let (db, _folder) = crate::store::scratch_database().await;
        let at = |seconds: i64| DateTime::from_timestamp(1_000_000 + seconds, 0).unwrap();
        let day = 86_400;
        let first = reserve(&db, "acme", "k1", "h1", "job-1", at(0), at(-day))
            .await
            .unwrap();
        assert_eq!(first.job_id, "job-1");
        // A retry, with the same or another body: the first reservation holds.
        for hash in ["h1", "h2"] {
            let again = reserve(&db, "acme", "k1", hash, "job-2", at(60), at(60 - day))
                .await
                .unwrap();
            assert_eq!(again, first);
        }
        // Another organization's key of the same name is its own.
        let other = reserve(&db, "globex", "k1", "h1", "job-3", at(60), at(60 - day))
            .await
            .unwrap();
        assert_eq!(other.job_id, "job-3");
        // After a day the key may stand for a new job.
        let later = reserve(&db, "acme", "k1", "h2", "job-4", at(day + 1), at(1))
            .await
            .unwrap();
        assert_eq!(later.job_id, "job-4");
        assert_eq!(purge(&db, at(day)).await.unwrap(), 1, "globex's");
    }
}
