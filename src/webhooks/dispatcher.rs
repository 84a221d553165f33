//! The dispatcher: delivers outbox messages, one at a time per job and in order, many jobs at
//! once; a job's burst of messages goes out under one claim, each recorded before the next.
//! Only a 2xx counts; failures are retried on the configured schedule (with jitter,
//! honouring `Retry-After`); `410 Gone` stops the job's deliveries. Every attempt is recorded.
//! A claim is a lease, so after a crash an unfinished delivery is made again, with the same
//! `webhook-id`. Due times and leases are read from the injected clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{Notify, Semaphore};

use super::sender::{Attempt, Outgoing, Sender};
use super::signing::signing_secrets;
use super::WebhookConfig;
use crate::clock::Clock;
use crate::recent::Recent;
use crate::store::time::StoredTime;
use crate::store::webhook_messages::{self, AttemptRow, ClaimedMessage, MessageState, Settlement};
use crate::store::{api_keys, webhook_targets, Db};

const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Time kept in hand on a lease for recording an attempt.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How long the secrets of a key are used without reading them again: a rotation starts
/// signing, and an ended grace period stops, within this time.
const SECRETS_TTL: Duration = Duration::from_secs(1);

/// How a delivery turn ends for a message.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Delivered,
    /// Failed; tried again at this time.
    Retry(DateTime<Utc>),
    /// Failed for the last time.
    Failed,
    /// The listener answered 410 Gone: this and every later message of the job are cancelled.
    Gone,
    /// The job's target was gone already.
    Cancelled,
}

/// When a message that failed `tried` times (this attempt included) is tried again: after the
/// schedule's wait for it, scaled by `jitter` (about 0.9–1.1, so that listeners back from an
/// outage are not hit by every retry at once), or later if the listener asked to wait longer.
/// `None` once the schedule is spent.
pub fn next_attempt(
    schedule: &[Duration],
    tried: usize,
    retry_after: Option<Duration>,
    jitter: f64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let wait = schedule.get(tried.checked_sub(1)?)?;
    Some(now + wait.mul_f64(jitter).max(retry_after.unwrap_or_default()))
}

/// Claimed messages grouped by job, each group in sequence order (as claimed).
fn by_job(claimed: Vec<ClaimedMessage>) -> Vec<Vec<ClaimedMessage>> {
    let mut chains: Vec<Vec<ClaimedMessage>> = Vec::new();
    for message in claimed {
        match chains.last_mut() {
            Some(chain) if chain[0].job_id == message.job_id => chain.push(message),
            _ => chains.push(vec![message]),
        }
    }
    chains
}

pub struct Dispatcher {
    db: Db,
    sender: Sender,
    config: WebhookConfig,
    clock: Clock,
    wakeup: Arc<Notify>,
    owner: String,
    permits: Arc<Semaphore>,
    /// The secrets that sign for each key (or organization, for jobs recorded without a
    /// key), as read at an instant.
    secrets: Recent<Arc<Vec<String>>>,
}

impl Dispatcher {
    pub fn new(
        db: Db,
        config: WebhookConfig,
        clock: Clock,
        wakeup: Arc<Notify>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            db,
            sender: Sender::new(config.timeout, config.allow_private_targets)?,
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            clock,
            wakeup,
            owner: uuid::Uuid::new_v4().to_string(),
            secrets: Recent::new(SECRETS_TTL),
        })
    }

    /// Delivers due messages for as long as the task lives: each claimed job's burst of
    /// messages by one task, in order, so a job's later messages need not wait for a claim
    /// each.
    pub async fn run(self: Arc<Self>) {
        loop {
            let idle = self.wakeup.notified();
            let free = self.permits.available_permits();
            if free > 0 {
                match self.claim(None, free).await {
                    Ok((until, claimed)) => {
                        for chain in by_job(claimed) {
                            let Ok(permit) = self.permits.clone().acquire_owned().await else {
                                return;
                            };
                            let dispatcher = self.clone();
                            tokio::spawn(async move {
                                let job_id = chain[0].job_id.clone();
                                if let Err(error) = dispatcher.deliver(chain, until).await {
                                    tracing::error!(
                                        error = format!("{error:#}"),
                                        %job_id,
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

    /// Leases up to `limit` jobs' due heads (or `job`'s) with the due messages behind them;
    /// returns the lease's end and the messages.
    async fn claim(
        &self,
        job: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<(DateTime<Utc>, Vec<ClaimedMessage>)> {
        // Long enough for a burst's attempts and their bookkeeping; after a crash the messages
        // are sent again once this runs out. The database times the lease; this dispatcher
        // keeps its own end of it by its clock, taken before the claim so it is never later.
        let lease = self.config.timeout + LEASE_MARGIN * 3;
        let until = self.clock.now() + lease;
        let clock = self.clock.for_leases();
        let token = format!("{}/{}", self.owner, uuid::Uuid::new_v4());
        let claimed = match job {
            None => {
                webhook_messages::claim_due(&self.db, &token, clock, lease, limit as i64).await?
            }
            Some(job) => {
                webhook_messages::claim_due_of_job(&self.db, &token, clock, lease, job).await?
            }
        };
        Ok((until, claimed))
    }

    /// Sends one job's claimed messages in order, each recorded before the next goes out,
    /// until one is not delivered or the lease has too little time left for another attempt
    /// (the rest are handed back); then takes up what was queued for the job meanwhile.
    async fn deliver(
        &self,
        mut chain: Vec<ClaimedMessage>,
        mut until: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let job_id = chain[0].job_id.clone();
        let Some(target) = webhook_targets::for_delivery(&self.db, &job_id).await? else {
            anyhow::bail!("job {job_id} has webhook messages but no target");
        };
        loop {
            let token = chain[0].lease_owner.clone();
            for (index, message) in chain.iter().enumerate() {
                if self.clock.now() + self.config.timeout + LEASE_MARGIN > until {
                    webhook_messages::settle_and_release(&self.db, &job_id, &token, None).await?;
                    return Ok(());
                }
                let (record, outcome) = if target.gone {
                    (None, Outcome::Cancelled)
                } else {
                    self.attempt(message, &target).await
                };
                let sent = matches!(outcome, Outcome::Delivered | Outcome::Cancelled);
                // Each message is recorded before the next goes out, so a crash repeats at
                // most the one in flight; the last record also hands back the rest.
                let settlement = self.settlement(message, record, outcome);
                if sent && index + 1 < chain.len() {
                    webhook_messages::settle(&self.db, &settlement).await?;
                } else {
                    let last = Some(&settlement);
                    webhook_messages::settle_and_release(&self.db, &job_id, &token, last).await?;
                }
                if !sent {
                    return Ok(());
                }
            }
            // The job's messages queued while these went out follow them at once.
            let (next_until, next) = self.claim(Some(&job_id), 1).await?;
            if next.is_empty() {
                return Ok(());
            }
            (chain, until) = (next, next_until);
        }
    }

    /// Sends one message; returns the attempt to record and what follows from it.
    async fn attempt(
        &self,
        message: &ClaimedMessage,
        target: &webhook_targets::Target,
    ) -> (Option<AttemptRow>, Outcome) {
        let started_at = self.clock.now();
        let timer = Instant::now();
        let attempt = match self.sender.target(&target.url) {
            Err(refused) => refused,
            Ok(url) => match self
                .secrets(
                    target.api_key_id.clone(),
                    &target.organization_id,
                    started_at,
                )
                .await
            {
                Ok(secrets) => {
                    let outgoing = Outgoing {
                        id: &message.id,
                        url: &url,
                        payload: &message.payload,
                        secrets: &secrets,
                    };
                    self.sender.send(outgoing, started_at).await
                }
                Err(error) => Attempt::failed(format!("{error:#}")),
            },
        };
        let record = AttemptRow {
            message_id: message.id.clone(),
            attempted_at: StoredTime(started_at),
            duration_ms: timer.elapsed().as_millis() as i64,
            status_code: attempt.status_code.map(i32::from),
            error: attempt.error.clone(),
            response_body: attempt.body.clone(),
        };
        let outcome = if attempt.succeeded() {
            Outcome::Delivered
        } else if attempt.refused {
            tracing::info!(job_id = %message.job_id, "webhook target refused by the SSRF guard; the message fails");
            Outcome::Failed
        } else if attempt.status_code == Some(410) {
            tracing::info!(job_id = %message.job_id, "webhook listener answered 410 Gone; stopping");
            Outcome::Gone
        } else {
            let tried = message.attempts as usize + 1;
            let jitter = rand::thread_rng().gen_range(0.9..1.1);
            let now = self.clock.now();
            match next_attempt(
                &self.config.retry_schedule,
                tried,
                attempt.retry_after,
                jitter,
                now,
            ) {
                Some(at) => Outcome::Retry(at),
                None => Outcome::Failed,
            }
        };
        (Some(record), outcome)
    }

    /// The secrets that sign for the job's key (or, for a job recorded without one, the
    /// organization's oldest key) at `now`.
    async fn secrets(
        &self,
        key_id: Option<String>,
        organization_id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Arc<Vec<String>>> {
        let cache_key = match &key_id {
            Some(key_id) => format!("key:{key_id}"),
            None => format!("organization:{organization_id}"),
        };
        if let Some(secrets) = self.secrets.get(&cache_key) {
            return Ok(secrets);
        }
        let key_id = match key_id {
            Some(key_id) => key_id,
            None => api_keys::oldest_of_organization(&self.db, organization_id).await?,
        };
        let secrets = Arc::new(signing_secrets(&self.db, &key_id, now).await?);
        self.secrets.put(cache_key, secrets.clone());
        Ok(secrets)
    }

    /// How a message's turn is recorded: the attempt, its new state, and the lease given up.
    fn settlement<'m>(
        &self,
        message: &'m ClaimedMessage,
        attempt: Option<AttemptRow>,
        outcome: Outcome,
    ) -> Settlement<'m> {
        // A retry is due after its delay by the database's clock (this instance's clock only
        // measures the delay).
        let now = self.clock.now();
        let retry_after = |at: DateTime<Utc>| webhook_messages::Retry {
            clock: self.clock.for_leases(),
            after: (at - now).to_std().unwrap_or_default(),
        };
        let (state, retry) = match outcome {
            Outcome::Delivered => (MessageState::Delivered, None),
            Outcome::Retry(at) => (MessageState::Pending, Some(retry_after(at))),
            Outcome::Failed => (MessageState::Failed, None),
            Outcome::Gone | Outcome::Cancelled => (MessageState::Cancelled, None),
        };
        Settlement {
            message,
            attempts: message.attempts + i32::from(attempt.is_some()),
            attempt,
            state,
            retry,
            delivered_at: (outcome == Outcome::Delivered).then_some(now),
            gone: outcome == Outcome::Gone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_message_waits_its_turn_of_the_schedule_or_longer_if_asked_and_then_gives_up() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let schedule = [Duration::from_secs(5), Duration::from_secs(300)];
        let after = |tried, retry_after, jitter| {
            next_attempt(&schedule, tried, retry_after, jitter, now).map(|at| (at - now).to_std())
        };
        assert_eq!(after(1, None, 1.0), Some(Ok(Duration::from_secs(5))));
        assert_eq!(after(2, None, 1.0), Some(Ok(Duration::from_secs(300))));
        assert_eq!(after(2, None, 0.9), Some(Ok(Duration::from_secs(270))));
        assert_eq!(
            after(1, Some(Duration::from_secs(60)), 1.1),
            Some(Ok(Duration::from_secs(60)))
        );
        assert_eq!(
            after(2, Some(Duration::from_secs(60)), 1.0),
            Some(Ok(Duration::from_secs(300)))
        );
        assert_eq!(after(3, None, 1.0), None, "the schedule is spent");
    }
}
