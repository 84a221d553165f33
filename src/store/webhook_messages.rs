//! The webhook outbox: `webhook_messages` (one per job event to deliver, leased by a
//! dispatcher while it is sent) and `webhook_attempts` (every try, with its answer). Claims
//! judge due times and leases by the database's clock ([`LeaseClock`]), so an instance whose
//! clock runs ahead cannot take a message early; tests pass a time instead and decide them
//! without waiting. Due times are written from the dispatcher's clock.
//!
//! A job's messages go out one at a time, in order: only its oldest pending message (its
//! head) may be sent. The head is marked `ready`, and every function here that changes a job's
//! pending messages moves the mark in the same transaction, holding the job's target row lock
//! ([`super::webhook_targets::lock`]) so two such transactions never miss each other's
//! messages; a claim then reads ready messages in due order from a partial index instead of
//! checking every pending message for an earlier one. SQL that must match a partial index names the state as a literal, not a parameter.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use std::time::Duration;

use super::time::{later_sql, now_sql, LeaseClock, StoredTime};
use super::{Db, Tx};
use crate::{with_pool, with_tx};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Due at `next_attempt_at`, or being sent under a lease.
    Pending,
    /// A 2xx answer arrived.
    Delivered,
    /// Every retry failed.
    Failed,
    /// Never to be sent: the listener answered 410 Gone for its job.
    Cancelled,
}

impl TryFrom<String> for MessageState {
    type Error = String;

    fn try_from(stored: String) -> Result<Self, String> {
        [
            MessageState::Pending,
            MessageState::Delivered,
            MessageState::Failed,
            MessageState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == stored)
        .ok_or_else(|| format!("unknown webhook message state {stored:?}"))
    }
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Delivered => "delivered",
            MessageState::Failed => "failed",
            MessageState::Cancelled => "cancelled",
        }
    }
}

/// A message the outbox subscription queues.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: &'a str,
    pub job_id: &'a str,
    pub organization_id: &'a str,
    pub sequence: i64,
    pub payload: &'a str,
    pub state: MessageState,
    /// Due at once by this clock (the database's, or a test's time).
    pub due: LeaseClock,
    pub created_at: DateTime<Utc>,
}

/// Messages per statement in [`queue_all`] (8 parameters each).
const MESSAGES_PER_STATEMENT: usize = 200;

/// Queues messages (in sequence order per job) unless ones with their ids exist, a few hundred
/// per statement; returns how many were added. A job's first pending message of the batch is
/// its head exactly when the job had no pending message before.
pub async fn queue_all(tx: &mut Tx, messages: &[NewMessage<'_>]) -> sqlx::Result<u64> {
    let mut added = 0;
    let now = tx.dialect().now;
    for chunk in messages.chunks(MESSAGES_PER_STATEMENT) {
        added += with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "WITH batch (id, job_id, organization_id, sequence, payload, state,
                             next_attempt_at, created_at) AS (",
            );
            query.push_values(chunk, |mut values, message| {
                values
                    .push_bind(message.id)
                    .push_bind(message.job_id)
                    .push_bind(message.organization_id)
                    .push_bind(message.sequence)
                    .push_bind(message.payload)
                    .push_bind(message.state.as_str())
                    .push_bind(message.due.bound())
                    .push_bind(StoredTime(message.created_at));
            });
            query.push(format!(
                ")
                 INSERT INTO webhook_messages
                     (id, job_id, organization_id, sequence, payload, state, next_attempt_at,
                      created_at, ready)
                 SELECT b.id, b.job_id, b.organization_id, b.sequence, b.payload, b.state,
                        COALESCE(b.next_attempt_at, {now}), b.created_at,
                        b.state = 'pending'
                        AND b.sequence = (SELECT MIN(c.sequence) FROM batch c
                                          WHERE c.job_id = b.job_id AND c.state = 'pending')
                        AND NOT EXISTS (SELECT 1 FROM webhook_messages w
                                        WHERE w.job_id = b.job_id AND w.state = 'pending')
                 FROM batch b WHERE TRUE
                 ON CONFLICT (id) DO NOTHING",
                now = now,
            ));
            query.build().execute(&mut *conn).await?.rows_affected()
        });
    }
    Ok(added)
}

/// A message a dispatcher holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedMessage {
    pub id: String,
    pub job_id: String,
    pub sequence: i64,
    pub payload: String,
    pub attempts: i32,
    /// Unique to this claim: a later claim of the same message (after the lease ran out)
    /// cannot be mistaken for this one.
    pub lease_owner: String,
}

/// Leases to `token` for `lease` up to `limit` jobs' heads due by `clock` (each the oldest
/// undelivered message of its job) and, with each head, the due messages that follow it, so
/// one dispatcher sends a burst of a job's messages back to back, in order. A follower is not
/// a head, so no other claim can take it while the head's lease holds. Returned by job, each
/// job's messages in sequence order.
pub async fn claim_due(
    db: &Db,
    token: &str,
    clock: LeaseClock,
    lease: Duration,
    limit: i64,
) -> sqlx::Result<Vec<ClaimedMessage>> {
    claim(db, token, clock, lease, limit, None).await
}

/// [`claim_due`] for one job: what a dispatcher that has just sent its messages finds queued
/// for it since.
pub async fn claim_due_of_job(
    db: &Db,
    token: &str,
    clock: LeaseClock,
    lease: Duration,
    job_id: &str,
) -> sqlx::Result<Vec<ClaimedMessage>> {
    claim(db, token, clock, lease, 1, Some(job_id)).await
}

async fn claim(
    db: &Db,
    token: &str,
    clock: LeaseClock,
    lease: Duration,
    limit: i64,
    job_id: Option<&str>,
) -> sqlx::Result<Vec<ClaimedMessage>> {
    // One job's head is found through the job's pending messages, every job's through the
    // ready ones.
    let of_job = match job_id {
        Some(_) => "AND job_id = $5 AND state = 'pending'",
        None => "",
    };
    let (now, until) = (now_sql(db, 2), later_sql(db, 2, 3));
    let heads = format!(
        "UPDATE webhook_messages SET lease_owner = $1, lease_expires_at = {until}
         WHERE id IN (
             SELECT id FROM webhook_messages
             WHERE ready AND next_attempt_at <= {now}
               AND (lease_expires_at IS NULL OR lease_expires_at < {now}) {of_job}
             ORDER BY next_attempt_at, sequence
             LIMIT $4{})
         RETURNING id, job_id, sequence, payload, attempts, lease_owner",
        db.dialect().skip_locked
    );
    // A head's followers, up to the first message after it that is not due yet (none is,
    // unless redelivered) or still leased: the burst never overtakes a message that must
    // wait.
    let followers = format!(
        "UPDATE webhook_messages SET lease_owner = $1, lease_expires_at = {until}
         WHERE id IN (
             SELECT m.id FROM webhook_messages m
             WHERE m.job_id = $4 AND m.state = 'pending' AND m.sequence > $5
               AND m.next_attempt_at <= {now}
               AND (m.lease_expires_at IS NULL OR m.lease_expires_at < {now})
               AND NOT EXISTS (
                   SELECT 1 FROM webhook_messages w
                   WHERE w.job_id = $4 AND w.state = 'pending'
                     AND w.sequence > $5 AND w.sequence < m.sequence
                     AND (w.next_attempt_at > {now} OR w.lease_expires_at >= {now})))
         RETURNING id, job_id, sequence, payload, attempts, lease_owner"
    );
    let mut tx = db.begin_write().await?;
    let mut claimed: Vec<ClaimedMessage> = with_tx!(&mut tx, |conn| {
        let mut query = sqlx::query_as(&heads)
            .bind(token)
            .bind(clock.bound())
            .bind(lease.as_secs_f64())
            .bind(limit);
        if let Some(job_id) = job_id {
            query = query.bind(job_id);
        }
        let heads: Vec<ClaimedMessage> = query.fetch_all(&mut *conn).await?;
        let mut all = Vec::with_capacity(heads.len());
        for head in heads {
            let following: Vec<ClaimedMessage> = sqlx::query_as(&followers)
                .bind(token)
                .bind(clock.bound())
                .bind(lease.as_secs_f64())
                .bind(&head.job_id)
                .bind(head.sequence)
                .fetch_all(&mut *conn)
                .await?;
            all.push(head);
            all.extend(following);
        }
        Ok::<_, sqlx::Error>(all)
    })?;
    tx.commit().await?;
    claimed.sort_by(|a, b| a.job_id.cmp(&b.job_id).then(a.sequence.cmp(&b.sequence)));
    Ok(claimed)
}

/// One delivery attempt as recorded.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub message_id: String,
    pub attempted_at: StoredTime,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub response_body: Option<String>,
}

/// When a retry is due: `after` from now by `clock` (the database's, so an instance whose
/// clock is off neither hurries nor delays it; or a test's time).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub clock: LeaseClock,
    pub after: Duration,
}

/// How a claimed message ends its turn.
#[derive(Debug, Clone)]
pub struct Settlement<'a> {
    pub message: &'a ClaimedMessage,
    pub attempt: Option<AttemptRow>,
    pub state: MessageState,
    pub attempts: i32,
    /// For a retry: when it is due.
    pub retry: Option<Retry>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The listener answered 410 Gone: its target is marked gone and every pending message of
    /// the job cancelled in the same transaction, so none of them can be claimed in between.
    pub gone: bool,
}

/// Records the attempt and the message's new state, and gives up the lease, together.
pub async fn settle(db: &Db, settlement: &Settlement<'_>) -> sqlx::Result<()> {
    let job_id = &settlement.message.job_id;
    if let Db::Postgres(pool) = db {
        let token = &settlement.message.lease_owner;
        return settle_in_one_statement(pool, job_id, token, Some(settlement), false).await;
    }
    let mut tx = db.begin_write().await?;
    super::webhook_targets::lock(&mut tx, job_id).await?;
    record(&mut tx, settlement).await?;
    move_head(&mut tx, job_id).await?;
    tx.commit().await
}

/// Ends a claim of a job's messages under `token`: settles the last one sent, if any (see
/// [`settle`]), and hands back the leases of those it did not get to, in one transaction.
pub async fn settle_and_release(
    db: &Db,
    job_id: &str,
    token: &str,
    last: Option<&Settlement<'_>>,
) -> sqlx::Result<()> {
    debug_assert!(last.is_none_or(|s| s.message.job_id == job_id));
    if let Db::Postgres(pool) = db {
        return settle_in_one_statement(pool, job_id, token, last, true).await;
    }
    let mut tx = db.begin_write().await?;
    super::webhook_targets::lock(&mut tx, job_id).await?;
    if let Some(settlement) = last {
        record(&mut tx, settlement).await?;
    }
    with_tx!(&mut tx, |conn| {
        sqlx::query(
            "UPDATE webhook_messages SET lease_owner = NULL, lease_expires_at = NULL
             WHERE job_id = $1 AND lease_owner = $2 AND state = 'pending'",
        )
        .bind(job_id)
        .bind(token)
        .execute(&mut *conn)
        .await
        .map(drop)
    })?;
    move_head(&mut tx, job_id).await?;
    tx.commit().await
}

/// [`settle`] and [`settle_and_release`] on PostgreSQL: the same steps, in the same order, in
/// one statement (the `webhook_settle` function), so one round trip and one commit. Every
/// later message of the job waits for this record, so its cost is on their path.
async fn settle_in_one_statement(
    pool: &sqlx::PgPool,
    job_id: &str,
    token: &str,
    settlement: Option<&Settlement<'_>>,
    release: bool,
) -> sqlx::Result<()> {
    let attempt = settlement.and_then(|s| s.attempt.as_ref());
    let retry = settlement.and_then(|s| s.retry);
    // The retry's due time is computed here, on the database's clock unless a test gives one;
    // no retry makes it NULL (an interval of NULL seconds).
    sqlx::query(
        "SELECT webhook_settle($1, $2, $3, $4, $5,
             COALESCE($6, now()) + make_interval(secs => $16),
             $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(job_id)
    .bind(token)
    .bind(settlement.map(|s| &s.message.id))
    .bind(settlement.map(|s| s.state.as_str()))
    .bind(settlement.map(|s| s.attempts))
    .bind(retry.and_then(|r| r.clock.bound()))
    .bind(settlement.and_then(|s| s.delivered_at).map(StoredTime))
    .bind(settlement.is_some_and(|s| s.gone))
    .bind(attempt.map(|_| uuid::Uuid::new_v4().to_string()))
    .bind(attempt.map(|a| a.attempted_at))
    .bind(attempt.and_then(|a| a.status_code))
    .bind(attempt.and_then(|a| a.error.as_deref()))
    .bind(attempt.map(|a| a.duration_ms))
    .bind(attempt.and_then(|a| a.response_body.as_deref()))
    .bind(release)
    .bind(retry.map(|r| r.after.as_secs_f64()))
    .execute(pool)
    .await
    .map(drop)
}

/// One message's part of a settlement, on SQLite (PostgreSQL's is one statement).
async fn record(tx: &mut Tx, settlement: &Settlement<'_>) -> sqlx::Result<()> {
    let message = settlement.message;
    with_tx!(tx, |conn| {
        if let Some(attempt) = &settlement.attempt {
            sqlx::query(
                "INSERT INTO webhook_attempts
                     (id, message_id, attempted_at, status_code, error, duration_ms, response_body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&attempt.message_id)
            .bind(attempt.attempted_at)
            .bind(attempt.status_code)
            .bind(&attempt.error)
            .bind(attempt.duration_ms)
            .bind(&attempt.response_body)
            .execute(&mut *conn)
            .await?;
        }
        // No retry: `$7` is NULL, and so is the due time computed from it.
        sqlx::query(
            "UPDATE webhook_messages
             SET state = $2, attempts = $3,
                 next_attempt_at = COALESCE(
                     strftime('%Y-%m-%dT%H:%M:%fZ', COALESCE($4, 'now'), '+' || $7 || ' seconds'),
                     next_attempt_at),
                 delivered_at = COALESCE($5, delivered_at),
                 lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $1 AND lease_owner = $6",
        )
        .bind(&message.id)
        .bind(settlement.state.as_str())
        .bind(settlement.attempts)
        .bind(settlement.retry.and_then(|r| r.clock.bound()))
        .bind(settlement.delivered_at.map(StoredTime))
        .bind(&message.lease_owner)
        .bind(settlement.retry.map(|r| r.after.as_secs_f64()))
        .execute(&mut *conn)
        .await?;
        if settlement.gone {
            sqlx::query("UPDATE webhook_targets SET gone = 1 WHERE job_id = $1")
                .bind(&message.job_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("UPDATE webhook_messages SET state = $2 WHERE job_id = $1 AND state = $3")
                .bind(&message.job_id)
                .bind(MessageState::Cancelled.as_str())
                .bind(MessageState::Pending.as_str())
                .execute(&mut *conn)
                .await?;
        }
        Ok::<(), sqlx::Error>(())
    })
}

/// Marks the job's oldest pending message, and only it, ready (no message, if none is
/// pending). Touches at most the old head and the new one.
async fn move_head(tx: &mut Tx, job_id: &str) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE webhook_messages SET ready = NOT ready
             WHERE job_id = $1
               AND (ready OR sequence = (SELECT MIN(sequence) FROM webhook_messages
                                         WHERE job_id = $1 AND state = 'pending'))
               AND ready <> COALESCE(
                   state = 'pending' AND sequence = (SELECT MIN(sequence) FROM webhook_messages
                                                     WHERE job_id = $1 AND state = 'pending'),
                   FALSE)",
        )
        .bind(job_id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}

/// One message of a job's delivery log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    #[sqlx(try_from = "String")]
    pub state: MessageState,
    pub payload: String,
    pub created_at: StoredTime,
    pub delivered_at: Option<StoredTime>,
    pub next_attempt_at: StoredTime,
}

/// A job's messages in order, with every attempt (oldest first).
pub async fn job_log(db: &Db, job_id: &str) -> sqlx::Result<(Vec<MessageRow>, Vec<AttemptRow>)> {
    with_pool!(db, |pool| {
        let messages = sqlx::query_as(
            "SELECT id, state, payload, created_at, delivered_at, next_attempt_at
             FROM webhook_messages WHERE job_id = $1 ORDER BY sequence",
        )
        .bind(job_id)
        .fetch_all(pool)
        .await?;
        let attempts = sqlx::query_as(
            "SELECT a.message_id, a.attempted_at, a.status_code, a.error, a.duration_ms,
                    a.response_body
             FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id
             WHERE m.job_id = $1 ORDER BY a.attempted_at",
        )
        .bind(job_id)
        .fetch_all(pool)
        .await?;
        Ok((messages, attempts))
    })
}

/// For a message of the organization's job, whether the job's listener answered 410 Gone;
/// `None` if the organization has no such message.
pub async fn find(
    db: &Db,
    job_id: &str,
    message_id: &str,
    organization_id: &str,
) -> sqlx::Result<Option<bool>> {
    with_pool!(db, |pool| {
        sqlx::query_scalar(
            "SELECT t.gone <> 0 FROM webhook_messages m
             JOIN webhook_targets t ON t.job_id = m.job_id
             WHERE m.id = $1 AND m.job_id = $2 AND m.organization_id = $3",
        )
        .bind(message_id)
        .bind(job_id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await
    })
}

/// Makes a settled, unleased message due again at once by `clock` with its attempts reset;
/// false if it is still pending or leased.
pub async fn requeue(
    db: &Db,
    job_id: &str,
    message_id: &str,
    clock: LeaseClock,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE webhook_messages
         SET state = $4, attempts = 0, next_attempt_at = {now}
         WHERE id = $1 AND job_id = $2 AND state <> $4 AND lease_owner IS NULL",
        now = now_sql(db, 3),
    );
    let mut tx = db.begin_write().await?;
    super::webhook_targets::lock(&mut tx, job_id).await?;
    let changed = with_tx!(&mut tx, |conn| {
        sqlx::query(&sql)
            .bind(message_id)
            .bind(job_id)
            .bind(clock.bound())
            .bind(MessageState::Pending.as_str())
            .execute(&mut *conn)
            .await?
            .rows_affected()
    });
    if changed == 1 {
        move_head(&mut tx, job_id).await?;
    }
    tx.commit().await?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    fn message<'a>(id: &'a str, sequence: i64, due_ms: i64) -> NewMessage<'a> {
        NewMessage {
            id,
            job_id: "job-1",
            organization_id: "acme",
            sequence,
            payload: "{}",
            state: MessageState::Pending,
            due: LeaseClock::At(ms(due_ms)),
            created_at: ms(0),
        }
    }

    /// Due times and leases are decided by the times the caller passes, so retries are tested
    /// without waiting for them. PostgreSQL settles through its own function, so both run.
    #[tokio::test]
    async fn messages_are_claimed_when_due_head_first_per_job_and_again_after_a_lost_lease() {
        let (db, _folder) = crate::store::scratch_database().await;
        claims_and_settlements(&db).await;
        let (db, _guard) = crate::store::scratch_postgres().await;
        claims_and_settlements(&db).await;
    }

    async fn claims_and_settlements(db: &Db) {
        let mut tx = db.begin_write().await.unwrap();
        let batch = [message("m1", 1, 5_000), message("m2", 2, 0)];
        assert_eq!(queue_all(&mut tx, &batch).await.unwrap(), 2);
        assert_eq!(
            queue_all(&mut tx, &[message("m1", 1, 0)]).await.unwrap(),
            0,
            "same id"
        );
        tx.commit().await.unwrap();

        // m2 is due but waits behind m1, which is not due yet.
        assert!(claim_due(
            db,
            "d/1",
            LeaseClock::At(ms(4_999)),
            Duration::from_millis(15_001),
            10
        )
        .await
        .unwrap()
        .is_empty());
        let claimed = claim_due(
            db,
            "d/1",
            LeaseClock::At(ms(5_000)),
            Duration::from_secs(15),
            10,
        )
        .await
        .unwrap();
        let ids = |claimed: &[ClaimedMessage]| -> Vec<String> {
            claimed.iter().map(|m| m.id.clone()).collect()
        };
        // The head, and behind it, in order, the due message that follows it.
        assert_eq!(ids(&claimed), ["m1", "m2"]);
        // Leased: nobody else gets it until the lease runs out.
        assert!(claim_due(
            db,
            "d/2",
            LeaseClock::At(ms(19_999)),
            Duration::from_millis(20_001),
            10
        )
        .await
        .unwrap()
        .is_empty());
        let again = claim_due(
            db,
            "d/2",
            LeaseClock::At(ms(20_001)),
            Duration::from_millis(19_999),
            10,
        )
        .await
        .unwrap();
        assert_eq!(ids(&again), ["m1", "m2"]);
        assert!(again.iter().all(|m| m.lease_owner == "d/2"));
        // The first dispatcher's late answer cannot settle the second one's claim.
        let late = Settlement {
            message: &claimed[0],
            attempt: None,
            state: MessageState::Delivered,
            attempts: 1,
            retry: None,
            delivered_at: None,
            gone: false,
        };
        settle(db, &late).await.unwrap();
        let retry = Settlement {
            message: &again[0],
            attempt: None,
            state: MessageState::Pending,
            attempts: 1,
            retry: Some(Retry {
                clock: LeaseClock::At(ms(60_000)),
                after: Duration::ZERO,
            }),
            delivered_at: None,
            gone: false,
        };
        settle(db, &retry).await.unwrap();
        assert!(claim_due(
            db,
            "d/3",
            LeaseClock::At(ms(59_999)),
            Duration::from_millis(20_001),
            10
        )
        .await
        .unwrap()
        .is_empty());
        let third = claim_due(
            db,
            "d/3",
            LeaseClock::At(ms(60_000)),
            Duration::from_secs(20),
            10,
        )
        .await
        .unwrap();
        assert_eq!(ids(&third), ["m1", "m2"], "m2 still goes behind m1");

        // Delivered: m2 is the job's head now.
        let delivered = Settlement {
            message: &third[0],
            attempt: None,
            state: MessageState::Delivered,
            attempts: 2,
            retry: None,
            delivered_at: Some(ms(60_100)),
            gone: false,
        };
        settle(db, &delivered).await.unwrap();
        // m2 is the head now but still d/3's, which sends it next; handed back, anyone may.
        assert!(claim_due(
            db,
            "d/4",
            LeaseClock::At(ms(60_200)),
            Duration::from_millis(29_800),
            10
        )
        .await
        .unwrap()
        .is_empty());
        settle_and_release(db, "job-1", "d/3", None).await.unwrap();
        let fourth = claim_due(
            db,
            "d/4",
            LeaseClock::At(ms(60_200)),
            Duration::from_millis(29_800),
            10,
        )
        .await
        .unwrap();
        assert_eq!(ids(&fourth), ["m2"]);
        let m2_delivered = Settlement {
            message: &fourth[0],
            delivered_at: Some(ms(60_300)),
            ..delivered.clone()
        };
        settle(db, &m2_delivered).await.unwrap();
        assert!(claim_due(
            db,
            "d/5",
            LeaseClock::At(ms(70_000)),
            Duration::from_secs(20),
            10
        )
        .await
        .unwrap()
        .is_empty());

        // A redelivered message is its job's head again, once.
        assert!(requeue(db, "job-1", "m1", LeaseClock::At(ms(70_000)))
            .await
            .unwrap());
        assert!(!requeue(db, "job-1", "m1", LeaseClock::At(ms(70_000)))
            .await
            .unwrap());
        // A message queued meanwhile follows it in the same claim, after it.
        let mut tx = db.begin_write().await.unwrap();
        assert_eq!(queue_all(&mut tx, &[message("m3", 3, 0)]).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let again = claim_due(
            db,
            "d/6",
            LeaseClock::At(ms(70_000)),
            Duration::from_secs(20),
            10,
        )
        .await
        .unwrap();
        assert_eq!(ids(&again), ["m1", "m3"]);
        // Ended with m1 failing: m3 is handed back and waits behind m1's retry.
        let failed = Settlement {
            message: &again[0],
            attempts: 3,
            retry: Some(Retry {
                clock: LeaseClock::At(ms(95_000)),
                after: Duration::ZERO,
            }),
            ..retry.clone()
        };
        settle_and_release(db, "job-1", "d/6", Some(&failed))
            .await
            .unwrap();
        assert!(claim_due(
            db,
            "d/7",
            LeaseClock::At(ms(94_999)),
            Duration::from_millis(25_001),
            10
        )
        .await
        .unwrap()
        .is_empty());
        let later = claim_due(
            db,
            "d/7",
            LeaseClock::At(ms(95_000)),
            Duration::from_secs(25),
            10,
        )
        .await
        .unwrap();
        assert_eq!(ids(&later), ["m1", "m3"]);
    }
}
