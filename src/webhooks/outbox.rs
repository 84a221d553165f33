//! The webhook subscription: each event of a job that has a `notification_url` becomes an
//! outbox message, written in the transaction that moves the subscription's checkpoint. The
//! message id (`webhook-id`) comes from the job and the event's sequence, so it is the same
//! however often the log is read.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use assessment_domain::TaskExecutionEvent;
use assessment_projections::webhook_payload;
use tokio::sync::{watch, Notify};

use crate::clock::Clock;
use crate::event_log::DecodedEvent;
use crate::projector::follow;
use crate::store::webhook_messages::{self, MessageState, NewMessage};
use crate::store::webhook_targets::{self, TargetOwner};
use crate::store::{checkpoints, event_log, parked, Db, Tx};
use crate::wakeups::{Announcer, Wake};

/// The checkpoint name of the webhook subscription.
pub const WEBHOOKS: &str = "webhooks";

/// The webhook-id of the message for event `sequence` of job `job_id`.
pub fn message_id(job_id: &str, sequence: i64) -> String {
    format!("msg_{}_{sequence}", job_id.replace('-', ""))
}

/// Turns the events after the checkpoint into messages, due at once; returns how many events
/// it read and how many messages it queued.
pub async fn apply_next_batch(
    db: &Db,
    clock: &Clock,
    limit: i64,
) -> anyhow::Result<(usize, usize)> {
    let mut tx = db.begin_write().await?;
    let checkpoint = checkpoints::lock(&mut tx, WEBHOOKS).await?;
    let stored = event_log::read_after(&mut tx, checkpoint, limit).await?;
    let Some(last) = stored.last().map(|event| event.cursor()) else {
        tx.rollback().await?;
        return Ok((0, 0));
    };
    let read = stored.len();
    let events = stored
        .into_iter()
        .map(DecodedEvent::decode)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let queued = queue_messages(&mut tx, &events, clock).await?;
    checkpoints::save(&mut tx, WEBHOOKS, last).await?;
    tx.commit().await?;
    Ok((read, queued))
}

/// Queues the messages of these events (each kept if queued already), taking up the targets
/// their requests name; returns how many were added.
async fn queue_messages(
    tx: &mut Tx,
    events: &[DecodedEvent],
    clock: &Clock,
) -> anyhow::Result<usize> {
    let now = clock.now();
    for decoded in events {
        if let TaskExecutionEvent::JobRequested(requested) = &decoded.event {
            if let Some(url) = &requested.notification_url {
                webhook_targets::add(
                    tx,
                    &decoded.stored.job_id,
                    &requested.organization_id,
                    requested.api_key_id.as_deref(),
                    url,
                )
                .await?;
            }
        }
    }
    // The targets of the batch's jobs, read and locked in one query.
    let jobs: BTreeSet<&str> = events.iter().map(|e| e.stored.job_id.as_str()).collect();
    let jobs: Vec<&str> = jobs.into_iter().collect();
    let targets: HashMap<String, TargetOwner> = webhook_targets::lock_all(tx, &jobs)
        .await?
        .into_iter()
        .map(|target| (target.job_id.clone(), target))
        .collect();
    // Each event of a job with a target, with its message's id and payload.
    let owned: Vec<(&DecodedEvent, &TargetOwner, String, String)> = events
        .iter()
        .filter_map(|decoded| {
            let job_id = &decoded.stored.job_id;
            let target = targets.get(job_id)?;
            let id = message_id(job_id, decoded.stored.sequence);
            let payload = webhook_payload(job_id, &decoded.event).to_string();
            Some((decoded, target, id, payload))
        })
        .collect();
    let messages: Vec<NewMessage> = owned
        .iter()
        .map(|(decoded, target, id, payload)| NewMessage {
            id,
            job_id: &decoded.stored.job_id,
            organization_id: &target.organization_id,
            sequence: decoded.stored.sequence,
            payload,
            state: if target.gone {
                MessageState::Cancelled
            } else {
                MessageState::Pending
            },
            due: clock.for_leases(),
            created_at: now,
        })
        .collect();
    Ok(webhook_messages::queue_all(tx, &messages).await? as usize)
}

/// Retries a parked event: queues its message now (after later ones of its job, if any went
/// out) and unparks it, in one transaction holding the subscription's checkpoint.
/// Fails, changing nothing, if it still cannot be read.
pub async fn retry_parked(db: &Db, clock: &Clock, position: i64) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let checkpoint = checkpoints::lock(&mut tx, WEBHOOKS).await?;
    let Some(event) = parked::unresolved_event(&mut tx, WEBHOOKS, position, checkpoint).await?
    else {
        tx.rollback().await?;
        return Ok(false);
    };
    let decoded = DecodedEvent::decode(event)?;
    queue_messages(&mut tx, &[decoded], clock).await?;
    parked::unpark_in(&mut tx, WEBHOOKS, position).await?;
    tx.commit().await?;
    Ok(true)
}

/// Follows the log into the outbox, waking the dispatcher when messages were queued.
pub async fn run(
    db: Db,
    clock: Clock,
    commits: watch::Receiver<u64>,
    queued: Arc<Notify>,
    announcer: Announcer,
) {
    follow(&db, WEBHOOKS, commits, |limit| {
        let db = db.clone();
        let clock = clock.clone();
        let queued = queued.clone();
        let announcer = announcer.clone();
        async move {
            let (read, added) = apply_next_batch(&db, &clock, limit).await?;
            if added > 0 {
                queued.notify_one();
                announcer.announce(Wake::Messages);
            }
            Ok(read)
        }
    })
    .await
}
