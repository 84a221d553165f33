//! The dispatcher: delivers outbox messages, one at a time per job and in order, many jobs at
//! once. Only a 2xx counts; redirects are not followed; failures are retried on the configured
//! schedule (with jitter, honouring `Retry-After`); `410 Gone` stops the job's deliveries. Every
//! attempt is recorded. A claim is a lease, so after a crash an unfinished delivery is made
//! again, with the same `webhook-id`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use reqwest::redirect::Policy;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

use super::signing::{signature_header, signing_secrets};
use super::ssrf::{refuse_literal, GuardedResolver};
use super::WebhookConfig;
use crate::store::Db;
use crate::with_pool;

/// Longest response body kept in the delivery log, in bytes.
pub const MAX_LOGGED_BODY: usize = 4 * 1024;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3_600);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A message this dispatcher holds the lease of.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Claimed {
    id: String,
    job_id: String,
    payload: String,
    attempts: i32,
    /// Unique to this claim: a later claim of the same message (after the lease ran out)
    /// cannot be mistaken for this one.
    lease_owner: String,
}

/// What one attempt gave.
#[derive(Debug, Default)]
struct Attempt {
    status_code: Option<u16>,
    error: Option<String>,
    body: Option<String>,
    retry_after: Option<Duration>,
}

pub struct Dispatcher {
    db: Db,
    client: reqwest::Client,
    config: WebhookConfig,
    wakeup: Arc<Notify>,
    owner: String,
    permits: Arc<Semaphore>,
}

/// Text safe to store on both backends (PostgreSQL text refuses NUL).
fn loggable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The whole text of an error and its causes.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (at - Utc::now()).to_std().unwrap_or_default()
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

impl Dispatcher {
    pub fn new(db: Db, config: WebhookConfig, wakeup: Arc<Notify>) -> anyhow::Result<Self> {
        // No proxy from the environment: a proxy would resolve and reach targets the SSRF guard
        // never sees.
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(Policy::none())
            .timeout(config.timeout)
            .user_agent(concat!(
                "assessment-service-webhooks/",
                env!("CARGO_PKG_VERSION")
            ));
        if !config.allow_private_targets {
            client = client.dns_resolver(Arc::new(GuardedResolver));
        }
        Ok(Self {
            db,
            client: client.build()?,
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            wakeup,
            owner: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// Delivers due messages for as long as the task lives.
    pub async fn run(self: Arc<Self>) {
        loop {
            let idle = self.wakeup.notified();
            let free = self.permits.available_permits();
            if free > 0 {
                match self.claim(free).await {
                    Ok(claimed) => {
                        for message in claimed {
                            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                                return;
                            };
                            let dispatcher = self.clone();
                            tokio::spawn(async move {
                                if let Err(error) = dispatcher.deliver(&message).await {
                                    tracing::error!(
                                        error = format!("{error:#}"),
                                        message_id = %message.id,
                                        "recording a webhook delivery failed"
                                    );
                                }
                                drop(permit);
                                dispatcher.wakeup.notify_one();
                            });
                        }
                    }
                    Err(error) => tracing::error!(
                        error = format!("{error:#}"),
                        "claiming webhook messages failed"
                    ),
                }
            }
            let _ = tokio::time::timeout(POLL_INTERVAL, idle).await;
        }
    }

    /// Leases up to `limit` due messages, each the oldest undelivered one of its job.
    async fn claim(&self, limit: usize) -> anyhow::Result<Vec<Claimed>> {
        let skip_locked = match self.db {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE webhook_messages SET lease_owner = $1, lease_expires_ms = $2
             WHERE id IN (
                 SELECT m.id FROM webhook_messages m
                 WHERE m.state = 'pending' AND m.next_attempt_ms <= $3
                   AND (m.lease_expires_ms IS NULL OR m.lease_expires_ms < $3)
                   AND NOT EXISTS (
                       SELECT 1 FROM webhook_messages earlier
                       WHERE earlier.job_id = m.job_id AND earlier.state = 'pending'
                         AND earlier.sequence < m.sequence)
                 ORDER BY m.next_attempt_ms, m.sequence
                 LIMIT $4{skip_locked})
             RETURNING id, job_id, payload, attempts, lease_owner"
        );
        let now = now_ms();
        // Long enough for one attempt and its bookkeeping; after a crash the message is sent
        // again once this runs out.
        let lease = (self.config.timeout + Duration::from_secs(15)).as_millis() as i64;
        let token = format!("{}/{}", self.owner, uuid::Uuid::new_v4());
        Ok(with_pool!(&self.db, |pool| {
            sqlx::query_as(&sql)
                .bind(&token)
                .bind(now + lease)
                .bind(now)
                .bind(limit as i64)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Sends one message and records the attempt and its consequence.
    async fn deliver(&self, message: &Claimed) -> anyhow::Result<()> {
        let target: Option<(String, Option<String>, String, i32)> = with_pool!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT url, api_key_id, organization_id, gone FROM webhook_targets WHERE job_id = $1",
            )
            .bind(&message.job_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((url, key_id, organization_id, gone)) = target else {
            anyhow::bail!("message {} has no target", message.id);
        };
        if gone != 0 {
            return self.finish(message, None, "cancelled", None).await;
        }
        let started_at = Utc::now();
        let clock = Instant::now();
        let attempt = self
            .send(message, &url, key_id, &organization_id)
            .await
            .unwrap_or_else(|error| Attempt {
                error: Some(format!("{error:#}")),
                ..Attempt::default()
            });
        let duration = clock.elapsed();
        let record = AttemptRecord {
            attempted_at: rfc3339(started_at),
            duration_ms: duration.as_millis() as i64,
            status_code: attempt.status_code.map(i32::from),
            error: attempt.error.clone(),
            body: attempt.body.clone(),
        };
        match attempt.status_code {
            Some(code) if (200..300).contains(&code) => {
                self.finish(message, Some(record), "delivered", None).await
            }
            Some(410) => {
                tracing::info!(job_id = %message.job_id, "webhook listener answered 410 Gone; stopping");
                self.finish(message, Some(record), "gone", None).await
            }
            _ => {
                let tried = message.attempts as usize;
                match self.config.retry_schedule.get(tried) {
                    None => self.finish(message, Some(record), "failed", None).await,
                    Some(wait) => {
                        let jitter = rand::thread_rng().gen_range(0.9..1.1);
                        let wait = wait
                            .mul_f64(jitter)
                            .max(attempt.retry_after.unwrap_or_default());
                        let next = now_ms() + wait.as_millis() as i64;
                        self.finish(message, Some(record), "pending", Some(next))
                            .await
                    }
                }
            }
        }
    }

    async fn send(
        &self,
        message: &Claimed,
        url: &str,
        key_id: Option<String>,
        organization_id: &str,
    ) -> anyhow::Result<Attempt> {
        let parsed: reqwest::Url = url.parse()?;
        if !self.config.allow_private_targets {
            if let Some(reason) = refuse_literal(&parsed) {
                return Ok(Attempt {
                    error: Some(reason),
                    ..Attempt::default()
                });
            }
        }
        let key_id = match key_id {
            Some(key_id) => key_id,
            None => with_pool!(&self.db, |pool| {
                sqlx::query_scalar(
                    "SELECT id FROM api_keys WHERE organization_id = $1 ORDER BY created_at LIMIT 1",
                )
                .bind(organization_id)
                .fetch_one(pool)
                .await?
            }),
        };
        let secrets = signing_secrets(&self.db, &key_id).await?;
        let timestamp = Utc::now().timestamp();
        let signature = signature_header(&secrets, &message.id, timestamp, &message.payload)?;
        let sent = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.payload.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(error) => {
                let reason = if error.is_timeout() {
                    format!("timed out after {:?}", self.config.timeout)
                } else {
                    describe(&error)
                };
                return Ok(Attempt {
                    error: Some(loggable(&reason)),
                    ..Attempt::default()
                });
            }
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let mut body = Vec::new();
        while body.len() < MAX_LOGGED_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(MAX_LOGGED_BODY);
        Ok(Attempt {
            status_code: Some(status.as_u16()),
            error: (status.is_redirection())
                .then(|| format!("redirects are not followed (HTTP {})", status.as_u16())),
            body: Some(loggable(&String::from_utf8_lossy(&body))),
            retry_after,
        })
    }

    /// Records the attempt and the message's new state, and gives up the lease, together.
    /// `gone` (after 410 Gone) cancels this and every later message of the job in the same
    /// transaction, so none of them can be claimed in between.
    async fn finish(
        &self,
        message: &Claimed,
        attempt: Option<AttemptRecord>,
        state: &str,
        next_attempt_ms: Option<i64>,
    ) -> anyhow::Result<()> {
        let delivered_at = (state == "delivered").then(|| rfc3339(Utc::now()));
        let attempts = message.attempts + i32::from(attempt.is_some());
        let gone = state == "gone";
        let state = if gone { "cancelled" } else { state };
        with_pool!(&self.db, |pool| {
            let mut tx = pool.begin().await?;
            if let Some(attempt) = &attempt {
                sqlx::query(
                    "INSERT INTO webhook_attempts
                         (id, message_id, attempted_at, status_code, error, duration_ms, response_body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(uuid::Uuid::new_v4().to_string())
                .bind(&message.id)
                .bind(&attempt.attempted_at)
                .bind(attempt.status_code)
                .bind(&attempt.error)
                .bind(attempt.duration_ms)
                .bind(&attempt.body)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE webhook_messages
                 SET state = $2, attempts = $3, next_attempt_ms = COALESCE($4, next_attempt_ms),
                     delivered_at = COALESCE($5, delivered_at),
                     lease_owner = NULL, lease_expires_ms = NULL
                 WHERE id = $1 AND lease_owner = $6",
            )
            .bind(&message.id)
            .bind(state)
            .bind(attempts)
            .bind(next_attempt_ms)
            .bind(delivered_at)
            .bind(&message.lease_owner)
            .execute(&mut *tx)
            .await?;
            if gone {
                sqlx::query("UPDATE webhook_targets SET gone = 1 WHERE job_id = $1")
                    .bind(&message.job_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE webhook_messages SET state = 'cancelled'
                     WHERE job_id = $1 AND state = 'pending'",
                )
                .bind(&message.job_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct AttemptRecord {
    attempted_at: String,
    duration_ms: i64,
    status_code: Option<i32>,
    error: Option<String>,
    body: Option<String>,
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

type MessageRow = (String, String, String, String, Option<String>, i64);
type AttemptRow = (
    String,
    String,
    Option<i32>,
    Option<String>,
    i64,
    Option<String>,
);

/// Every message of a job with its attempts, or `None` if the job has no webhook for
/// `organization_id`.
pub async fn delivery_log(
    db: &Db,
    job_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<Vec<DeliveryLogEntry>>> {
    let (target, messages, attempts): (Option<String>, Vec<MessageRow>, Vec<AttemptRow>) =
        with_pool!(db, |pool| {
            let target = sqlx::query_scalar(
                "SELECT job_id FROM webhook_targets WHERE job_id = $1 AND organization_id = $2",
            )
            .bind(job_id)
            .bind(organization_id)
            .fetch_optional(pool)
            .await?;
            let messages = sqlx::query_as(
                "SELECT id, state, payload, created_at, delivered_at, next_attempt_ms
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
            (target, messages, attempts)
        });
    if target.is_none() {
        return Ok(None);
    }
    let mut log = Vec::with_capacity(messages.len());
    for (id, state, payload, created_at, delivered_at, next_attempt_ms) in messages {
        let attempts = attempts
            .iter()
            .filter(|a| a.0 == id)
            .map(|a| AttemptLogEntry {
                attempted_at: a.1.clone(),
                status_code: a.2,
                error: a.3.clone(),
                duration_ms: a.4,
                response_body: a.5.clone(),
            })
            .collect();
        let next_attempt_at = (state == "pending")
            .then(|| DateTime::from_timestamp_millis(next_attempt_ms).map(rfc3339))
            .flatten();
        log.push(DeliveryLogEntry {
            payload: serde_json::from_str(&payload)?,
            id,
            state,
            attempts,
            created_at,
            delivered_at,
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

/// Queues a settled message (delivered, failed or cancelled) again, now, with the same
/// `webhook-id`.
pub async fn redeliver(
    db: &Db,
    job_id: &str,
    message_id: &str,
    organization_id: &str,
) -> anyhow::Result<Redelivery> {
    let found: Option<(String, i32)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT m.state, t.gone FROM webhook_messages m
             JOIN webhook_targets t ON t.job_id = m.job_id
             WHERE m.id = $1 AND m.job_id = $2 AND m.organization_id = $3",
        )
        .bind(message_id)
        .bind(job_id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await?
    });
    match found {
        None => return Ok(Redelivery::NotFound),
        Some((_, gone)) if gone != 0 => return Ok(Redelivery::Gone),
        Some(_) => {}
    }
    let changed = with_pool!(db, |pool| {
        sqlx::query(
            "UPDATE webhook_messages
             SET state = 'pending', attempts = 0, next_attempt_ms = $3
             WHERE id = $1 AND job_id = $2 AND state <> 'pending' AND lease_owner IS NULL",
        )
        .bind(message_id)
        .bind(job_id)
        .bind(now_ms())
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(if changed == 1 {
        Redelivery::Queued
    } else {
        Redelivery::InFlight
    })
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    use super::*;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date_and_capped() {
        assert_eq!(
            retry_after(&with_retry_after("120")),
            Some(Duration::from_secs(120))
        );
        let in_an_hour = (Utc::now() + chrono::Duration::hours(1)).to_rfc2822();
        let wait = retry_after(&with_retry_after(&in_an_hour)).unwrap();
        assert!(wait > Duration::from_secs(3_500) && wait <= Duration::from_secs(3_600));
        assert_eq!(
            retry_after(&with_retry_after("9999999")),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after(&with_retry_after("soon")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
