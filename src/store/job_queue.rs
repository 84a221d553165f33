//! The `job_queue` table: jobs waiting for a worker, claimed with a lease that the worker
//! renews while the job runs. Leases are judged by the database's clock ([`LeaseClock`]), so
//! an instance whose clock runs ahead cannot take a job early; tests pass a time instead and
//! decide expiry without waiting.

use std::time::Duration;

use sqlx::QueryBuilder;

use super::time::{later_sql, now_sql, LeaseClock};
use super::{Db, Tx};
use crate::{with_pool, with_tx};

/// Where a queued job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a worker, or held by one under a lease.
    Pending,
    /// Its terminal event is recorded; nobody works on it any more.
    Done,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Done => "done",
        }
    }
}

/// A job a worker has claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub job_id: String,
    pub organization_id: String,
    /// How many times it has been claimed, this claim included.
    pub attempts: i32,
}

/// A job for the workers, as the read-model subscription queues it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedJob {
    pub job_id: String,
    pub organization_id: String,
    /// Its `JobRequested` event's log position: the queue's order.
    pub position: i64,
}

/// Queues these jobs (each kept if queued already), a few hundred per statement.
pub async fn enqueue_all(tx: &mut Tx, jobs: &[QueuedJob]) -> sqlx::Result<()> {
    for chunk in jobs.chunks(500) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO job_queue (job_id, organization_id, position, state) ",
            );
            query.push_values(chunk, |mut values, job| {
                values
                    .push_bind(&job.job_id)
                    .push_bind(&job.organization_id)
                    .push_bind(job.position)
                    .push_bind(JobState::Pending.as_str());
            });
            query.push(" ON CONFLICT (job_id) DO NOTHING");
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Marks these jobs done and frees their leases (their terminal events were recorded).
pub async fn finish_all(tx: &mut Tx, job_ids: &[&str]) -> sqlx::Result<()> {
    for chunk in job_ids.chunks(500) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "UPDATE job_queue SET lease_owner = NULL, lease_expires_at = NULL, state = ",
            );
            query.push_bind(JobState::Done.as_str());
            query.push(" WHERE job_id IN (");
            let mut ids = query.separated(", ");
            for job_id in chunk {
                ids.push_bind(*job_id);
            }
            query.push(")");
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Claims a pending job whose lease is free or ran out by `clock`, for `owner` for `lease`:
/// the oldest one of the organization whose last claim is oldest (an organization never served
/// first), so organizations take turns and one's backlog does not hold up another's job. The
/// organization's turn is recorded in the same transaction. The state is a literal in the SQL
/// so the partial index of pending jobs serves it; the order reads every claimable job, so a
/// claim costs in proportion to the backlog, not to the log.
pub async fn claim(
    db: &Db,
    owner: &str,
    clock: LeaseClock,
    lease: Duration,
) -> sqlx::Result<Option<ClaimedJob>> {
    let lock = match db {
        Db::Postgres(_) => " FOR UPDATE OF q SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE job_queue SET lease_owner = $1, lease_expires_at = {until}, attempts = attempts + 1
         WHERE job_id = (
             SELECT q.job_id FROM job_queue q
             LEFT JOIN job_queue_turns t ON t.organization_id = q.organization_id
             WHERE q.state = 'pending'
               AND (q.lease_expires_at IS NULL OR q.lease_expires_at < {now})
             ORDER BY t.last_claimed_at NULLS FIRST, q.position LIMIT 1{lock})
         RETURNING job_id, organization_id, attempts",
        until = later_sql(db, 2, 3),
        now = now_sql(db, 2),
    );
    let turn = format!(
        "INSERT INTO job_queue_turns (organization_id, last_claimed_at) VALUES ($1, {now})
         ON CONFLICT (organization_id) DO UPDATE SET last_claimed_at = excluded.last_claimed_at",
        now = now_sql(db, 2),
    );
    let mut tx = db.begin_write().await?;
    let claimed: Option<ClaimedJob> = with_tx!(&mut tx, |conn| {
        sqlx::query_as(&sql)
            .bind(owner)
            .bind(clock.bound())
            .bind(lease.as_secs_f64())
            .fetch_optional(&mut *conn)
            .await?
    });
    if let Some(job) = &claimed {
        with_tx!(&mut tx, |conn| {
            sqlx::query(&turn)
                .bind(&job.organization_id)
                .bind(clock.bound())
                .execute(&mut *conn)
                .await?;
        });
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Extends `owner`'s lease on a pending job to `lease` from now by `clock`; false if the
/// lease is lost.
pub async fn renew(
    db: &Db,
    job_id: &str,
    owner: &str,
    clock: LeaseClock,
    lease: Duration,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE job_queue SET lease_expires_at = {until}
         WHERE job_id = $1 AND lease_owner = $2 AND state = $5",
        until = later_sql(db, 3, 4),
    );
    let renewed = with_pool!(db, |pool| {
        sqlx::query(&sql)
            .bind(job_id)
            .bind(owner)
            .bind(clock.bound())
            .bind(lease.as_secs_f64())
            .bind(JobState::Pending.as_str())
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(renewed > 0)
}

/// Marks a job `owner` finished done and frees its lease.
pub async fn release_finished(db: &Db, job_id: &str, owner: &str) -> sqlx::Result<()> {
    with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE job_queue SET state = $3, lease_owner = NULL, lease_expires_at = NULL
             WHERE job_id = $1 AND lease_owner = $2",
        )
        .bind(job_id)
        .bind(owner)
        .bind(JobState::Done.as_str())
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// Frees the leases held by every worker of `instance` (owners `instance/…`) so their jobs are
/// claimed again at once; the interrupted claims do not count as attempts. Returns how many.
pub async fn release_instance(db: &Db, instance: &str) -> sqlx::Result<u64> {
    Ok(with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE job_queue SET lease_owner = NULL, lease_expires_at = NULL,
                 attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END
             WHERE state = $2 AND lease_owner LIKE $1",
        )
        .bind(format!("{instance}/%"))
        .bind(JobState::Pending.as_str())
        .execute(pool)
        .await?
        .rows_affected()
    }))
}

/// How many of the organization's jobs are unfinished (waiting or running), counting no
/// further than `up_to`.
pub async fn unfinished_of(db: &Db, organization_id: &str, up_to: i64) -> sqlx::Result<i64> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT 1 FROM job_queue
             WHERE organization_id = $1 AND state = 'pending' LIMIT $2) AS unfinished",
        )
        .bind(organization_id)
        .bind(up_to)
        .fetch_one(pool)
        .await
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    const LEASE: Duration = Duration::from_secs(30);

    fn ms(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    /// Queues `job-1` of `acme`.
    async fn queue_one_job(db: &Db) {
        let mut tx = db.begin_write().await.unwrap();
        let job = QueuedJob {
            job_id: "job-1".to_owned(),
            organization_id: "acme".to_owned(),
            position: 1,
        };
        enqueue_all(&mut tx, &[job]).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn queue_with_one_job() -> (Db, tempfile::TempDir) {
        let (db, folder) = crate::store::scratch_database().await;
        queue_one_job(&db).await;
        (db, folder)
    }

    /// Lease expiry is decided by the times the caller passes, so it is tested without
    /// waiting for a lease to run out.
    #[tokio::test]
    async fn a_lease_holds_until_it_runs_out_and_then_the_job_is_claimed_again() {
        let (db, _folder) = queue_with_one_job().await;
        let first = claim(&db, "a/1", LeaseClock::At(ms(1_000)), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((first.job_id.as_str(), first.attempts), ("job-1", 1));
        assert!(claim(&db, "b/1", LeaseClock::At(ms(30_999)), LEASE)
            .await
            .unwrap()
            .is_none());
        assert!(
            renew(&db, "job-1", "a/1", LeaseClock::At(ms(31_000)), LEASE)
                .await
                .unwrap()
        );
        assert!(claim(&db, "b/1", LeaseClock::At(ms(61_000)), LEASE)
            .await
            .unwrap()
            .is_none());
        let second = claim(&db, "b/1", LeaseClock::At(ms(61_001)), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.attempts, 2);
        assert!(
            !renew(&db, "job-1", "a/1", LeaseClock::At(ms(65_000)), LEASE)
                .await
                .unwrap(),
            "a/1 lost it"
        );
        release_finished(&db, "job-1", "b/1").await.unwrap();
        assert!(claim(&db, "c/1", LeaseClock::At(ms(10_000_000)), LEASE)
            .await
            .unwrap()
            .is_none());
    }

    /// By the database's clock, a lease holds for its length whatever the claimer's own
    /// clock says, and then the job can be claimed again; both backends compute the time.
    #[tokio::test]
    async fn the_database_clock_decides_when_a_lease_runs_out() {
        let (db, _folder) = queue_with_one_job().await;
        database_clock(&db).await;
        let (db, _guard) = crate::store::scratch_postgres().await;
        queue_one_job(&db).await;
        database_clock(&db).await;
    }

    async fn database_clock(db: &Db) {
        let lease = Duration::from_millis(1_500);
        let first = claim(db, "a/1", LeaseClock::Database, lease).await.unwrap();
        assert_eq!(first.map(|j| j.attempts), Some(1));
        assert!(claim(db, "b/1", LeaseClock::Database, lease)
            .await
            .unwrap()
            .is_none());
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(renew(db, "job-1", "a/1", LeaseClock::Database, lease)
            .await
            .unwrap());
        // Past the first lease's end, within the renewed one.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(
            claim(db, "b/1", LeaseClock::Database, lease)
                .await
                .unwrap()
                .is_none(),
            "renewed, the lease still holds"
        );
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let second = claim(db, "b/1", LeaseClock::Database, lease).await.unwrap();
        assert_eq!(second.map(|j| j.attempts), Some(2));
        assert!(!renew(db, "job-1", "a/1", LeaseClock::Database, lease)
            .await
            .unwrap());
    }

    /// Organizations take turns: after one's job, another's waiting job goes first, however
    /// many the first has queued before it. PostgreSQL's claim locks differently, so both run.
    #[tokio::test]
    async fn organizations_take_turns_whatever_their_backlog() {
        let (db, _folder) = crate::store::scratch_database().await;
        turns(&db).await;
        let (db, _guard) = crate::store::scratch_postgres().await;
        turns(&db).await;
    }

    async fn turns(db: &Db) {
        let queued = |job_id: &str, organization_id: &str, position: i64| QueuedJob {
            job_id: job_id.to_owned(),
            organization_id: organization_id.to_owned(),
            position,
        };
        let mut tx = db.begin_write().await.unwrap();
        let mut jobs: Vec<QueuedJob> = (1..=5)
            .map(|n| queued(&format!("acme-{n}"), "acme", n))
            .collect();
        jobs.push(queued("globex-1", "globex", 6));
        enqueue_all(&mut tx, &jobs).await.unwrap();
        tx.commit().await.unwrap();

        let mut order = Vec::new();
        for (n, at) in [1_000, 2_000, 3_000].into_iter().enumerate() {
            let job = claim(db, &format!("w/{n}"), LeaseClock::At(ms(at)), LEASE)
                .await
                .unwrap()
                .unwrap();
            release_finished(db, &job.job_id, &format!("w/{n}"))
                .await
                .unwrap();
            order.push(job.job_id);
        }
        assert_eq!(order, ["acme-1", "globex-1", "acme-2"]);

        // An organization that arrives now goes before acme's backlog, once.
        let mut tx = db.begin_write().await.unwrap();
        enqueue_all(&mut tx, &[queued("initech-1", "initech", 7)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let next = claim(db, "w/9", LeaseClock::At(ms(4_000)), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.job_id, "initech-1");
        let after = claim(db, "w/10", LeaseClock::At(ms(5_000)), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.job_id, "acme-3", "the claimed initech-1 is leased");
    }

    #[tokio::test]
    async fn an_instance_gives_up_its_leases_without_spending_attempts() {
        let (db, _folder) = queue_with_one_job().await;
        claim(&db, "host-a/1", LeaseClock::At(ms(1_000)), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(release_instance(&db, "host-a").await.unwrap(), 1);
        let again = claim(&db, "host-b/1", LeaseClock::At(ms(1_001)), LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.attempts, 1, "the interrupted claim did not count");
    }
}
