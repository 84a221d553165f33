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
use crate::store::webhook_messages::{self, AttemptRow, ClaimedMessage, MessageState, Settlement};
use crate::store::{api_keys, webhook_targets, Db};

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

/// How a delivery turn ends for a message.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Delivered,
    /// Failed; tried again at this time (milliseconds since the epoch).
    Retry(i64),
    /// Failed for the last time.
    Failed,
    /// The listener answered 410 Gone: this and every later message of the job are cancelled.
    Gone,
    /// The job's target was gone already.
    Cancelled,
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
    async fn claim(&self, limit: usize) -> anyhow::Result<Vec<ClaimedMessage>> {
        let now = now_ms();
        // Long enough for one attempt and its bookkeeping; after a crash the message is sent
        // again once this runs out.
        let lease = (self.config.timeout + Duration::from_secs(15)).as_millis() as i64;
        let token = format!("{}/{}", self.owner, uuid::Uuid::new_v4());
        Ok(webhook_messages::claim_due(&self.db, &token, now, now + lease, limit as i64).await?)
    }

    /// Sends one message and records the attempt and its consequence.
    async fn deliver(&self, message: &ClaimedMessage) -> anyhow::Result<()> {
        let Some(target) = webhook_targets::for_delivery(&self.db, &message.job_id).await? else {
            anyhow::bail!("message {} has no target", message.id);
        };
        if target.gone != 0 {
            return self.finish(message, None, Outcome::Cancelled).await;
        }
        let started_at = Utc::now();
        let clock = Instant::now();
        let attempt = self
            .send(
                message,
                &target.url,
                target.api_key_id,
                &target.organization_id,
            )
            .await
            .unwrap_or_else(|error| Attempt {
                error: Some(format!("{error:#}")),
                ..Attempt::default()
            });
        let duration = clock.elapsed();
        let record = AttemptRow {
            message_id: message.id.clone(),
            attempted_at: rfc3339(started_at),
            duration_ms: duration.as_millis() as i64,
            status_code: attempt.status_code.map(i32::from),
            error: attempt.error.clone(),
            response_body: attempt.body.clone(),
        };
        match attempt.status_code {
            Some(code) if (200..300).contains(&code) => {
                self.finish(message, Some(record), Outcome::Delivered).await
            }
            Some(410) => {
                tracing::info!(job_id = %message.job_id, "webhook listener answered 410 Gone; stopping");
                self.finish(message, Some(record), Outcome::Gone).await
            }
            _ => {
                let tried = message.attempts as usize;
                match self.config.retry_schedule.get(tried) {
                    None => self.finish(message, Some(record), Outcome::Failed).await,
                    Some(wait) => {
                        let jitter = rand::thread_rng().gen_range(0.9..1.1);
                        let wait = wait
                            .mul_f64(jitter)
                            .max(attempt.retry_after.unwrap_or_default());
                        let next = now_ms() + wait.as_millis() as i64;
                        self.finish(message, Some(record), Outcome::Retry(next))
                            .await
                    }
                }
            }
        }
    }

    async fn send(
        &self,
        message: &ClaimedMessage,
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
            None => api_keys::oldest_of_organization(&self.db, organization_id).await?,
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
    async fn finish(
        &self,
        message: &ClaimedMessage,
        attempt: Option<AttemptRow>,
        outcome: Outcome,
    ) -> anyhow::Result<()> {
        let (state, next_attempt_ms) = match outcome {
            Outcome::Delivered => (MessageState::Delivered, None),
            Outcome::Retry(at) => (MessageState::Pending, Some(at)),
            Outcome::Failed => (MessageState::Failed, None),
            Outcome::Gone | Outcome::Cancelled => (MessageState::Cancelled, None),
        };
        let settlement = Settlement {
            message,
            attempts: message.attempts + i32::from(attempt.is_some()),
            attempt,
            state,
            next_attempt_ms,
            delivered_at: (outcome == Outcome::Delivered).then(|| rfc3339(Utc::now())),
            gone: outcome == Outcome::Gone,
        };
        webhook_messages::settle(&self.db, &settlement).await?;
        Ok(())
    }
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
                attempted_at: a.attempted_at.clone(),
                status_code: a.status_code,
                error: a.error.clone(),
                duration_ms: a.duration_ms,
                response_body: a.response_body.clone(),
            })
            .collect();
        let next_attempt_at = (message.state == MessageState::Pending.as_str())
            .then(|| DateTime::from_timestamp_millis(message.next_attempt_ms).map(rfc3339))
            .flatten();
        log.push(DeliveryLogEntry {
            payload: serde_json::from_str(&message.payload)?,
            id: message.id,
            state: message.state,
            attempts,
            created_at: message.created_at,
            delivered_at: message.delivered_at,
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
    match webhook_messages::find(db, job_id, message_id, organization_id).await? {
        None => return Ok(Redelivery::NotFound),
        Some((_, true)) => return Ok(Redelivery::Gone),
        Some(_) => {}
    }
    Ok(
        if webhook_messages::requeue(db, job_id, message_id, now_ms()).await? {
            Redelivery::Queued
        } else {
            Redelivery::InFlight
        },
    )
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
