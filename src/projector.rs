//! The durable subscription that keeps the read models (task status, assessment info) and the
//! job queue. It reads the log in commit order from its checkpoint and writes the views and the
//! new checkpoint in one transaction: a crash at any point leaves the views exactly as they were
//! before the batch or exactly after it, never a half-applied or twice-applied event.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use tokio::sync::{watch, Notify};

use crate::event_log::DecodedEvent;
use crate::read_models::{self, ReadModelChanges};
use crate::store::leadership::Leadership;
use crate::store::parked::{self, ParkedEvent};
use crate::store::{checkpoints, event_log, Db};
use crate::wakeups::{Announcer, Wake};

/// The checkpoint name of the read-model subscription.
pub const READ_MODELS: &str = "read_models";
/// Events a subscription applies in one transaction.
pub const BATCH_SIZE: i64 = 500;
/// How often the log is checked when no commit has woken the runner (other instances write too).
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Pause after a failed batch (database down, an event that cannot be read) before retrying.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// Tries of a failing event alone after which it is parked, if the failure is the event's.
const PARK_AFTER: u32 = 3;

/// Whether a failure is the event's own (it cannot be decoded or applied) rather than the
/// database's (unreachable, a timeout, a refused statement), which is retried for as long as
/// it lasts.
fn events_fault(error: &anyhow::Error) -> bool {
    !error
        .chain()
        .any(|cause| cause.downcast_ref::<sqlx::Error>().is_some())
}

/// How often a standby instance tries to take the lead of a subscription.
const STANDBY_RETRY: Duration = Duration::from_secs(1);

/// First pause before reading again when a commit woke the runner but nothing was readable.
const RECHECK_AFTER: Duration = Duration::from_millis(2);

/// Runs `step` (one catch-up batch of a subscription, returning how many events it took) for
/// as long as the task lives, while this instance leads the subscription (see
/// [`Leadership`]; a standby tries again every second): again at once while it finds events,
/// else after the next commit or the poll interval. Errors are logged and retried.
///
/// On PostgreSQL a commit can be unreadable for a moment: the log is read only below the
/// oldest transaction still appending events, and another append may still hold that horizon
/// back. So when a commit woke the runner and it
/// found nothing, it looks again soon (2 ms, then doubling) rather than at the poll interval.
pub async fn follow<F, Fut>(
    db: &Db,
    name: &'static str,
    mut commits: watch::Receiver<u64>,
    mut step: F,
) where
    F: FnMut(i64) -> Fut,
    Fut: Future<Output = anyhow::Result<usize>>,
{
    let mut leadership = Leadership::new(db.clone(), name);
    let mut recheck: Option<Duration> = None;
    let mut failures = 0u32;
    loop {
        if !leadership.lead().await {
            tokio::time::sleep(STANDBY_RETRY).await;
            continue;
        }
        // After a failure the batch is one event, so an event at fault is found alone.
        let limit = if failures > 0 { 1 } else { BATCH_SIZE };
        match step(limit).await {
            Ok(0) => failures = 0,
            Ok(_) => {
                failures = 0;
                recheck = None;
                continue;
            }
            Err(error) => {
                failures += 1;
                let at_fault = events_fault(&error);
                let error = format!("{error:#}");
                if failures > PARK_AFTER && at_fault {
                    match park_next(db, name, &error).await {
                        Ok(Some(event)) => {
                            tracing::error!(
                                subscription = name,
                                position = event.position,
                                job_id = %event.job_id,
                                event_type = %event.event_type,
                                %error,
                                "an event the subscription cannot read was parked and the \
                                 subscription moves on; see `assessment-service parked list`"
                            );
                            failures = 0;
                            continue;
                        }
                        Ok(None) => {}
                        Err(error) => tracing::error!(
                            subscription = name,
                            error = format!("{error:#}"),
                            "cannot park the event at fault"
                        ),
                    }
                }
                tracing::error!(
                    subscription = name,
                    %error,
                    "subscription batch failed; retrying"
                );
                tokio::time::sleep(RETRY_DELAY).await;
            }
        }
        let wait = recheck.unwrap_or(POLL_INTERVAL).min(POLL_INTERVAL);
        match tokio::time::timeout(wait, commits.changed()).await {
            Ok(Ok(())) => recheck = Some(RECHECK_AFTER),
            Err(_) => {
                recheck = recheck
                    .map(|pause| pause * 2)
                    .filter(|p| *p < POLL_INTERVAL)
            }
            // A closed channel (the bus is gone) must not turn this into a busy loop.
            Ok(Err(_)) => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Parks the event after `name`'s checkpoint and moves past it, in one transaction; the read
/// models also mark its job failed (a rebuild does the same, see `replay`).
async fn park_next(db: &Db, name: &str, error: &str) -> anyhow::Result<Option<ParkedEvent>> {
    let mut tx = db.begin_write().await?;
    let Some((event, record)) = parked::park_next(&mut tx, name, error).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    if name == READ_MODELS {
        let mut changes = ReadModelChanges::default();
        for status in read_models::load_statuses(&mut tx, &[event.job_id.as_str()]).await? {
            changes.statuses.insert(status.view.id.clone(), status);
        }
        changes.unreadable(&event);
        read_models::save_changes(&mut tx, &changes).await?;
    }
    tx.commit().await?;
    Ok(Some(record))
}

/// Keeps the read models, waking the workers (this instance's, and by announcement the
/// others') when jobs were queued.
pub async fn run(
    db: Db,
    commits: watch::Receiver<u64>,
    jobs_queued: Arc<Notify>,
    announcer: Announcer,
) {
    follow(&db, READ_MODELS, commits, |limit| {
        let db = db.clone();
        let jobs_queued = jobs_queued.clone();
        let announcer = announcer.clone();
        async move {
            let outcome = apply_next_batch(&db, limit).await?;
            if outcome.queued_jobs > 0 {
                jobs_queued.notify_waiters();
                announcer.announce(Wake::Jobs);
            }
            Ok(outcome.events)
        }
    })
    .await
}

/// What one catch-up step did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub events: usize,
    pub queued_jobs: usize,
}

/// Applies the events after the checkpoint (up to a batch) and moves the checkpoint, in one
/// transaction. Returns how many events it applied.
pub async fn apply_next_batch(db: &Db, limit: i64) -> anyhow::Result<BatchOutcome> {
    let mut tx = db.begin_write().await?;
    let checkpoint = checkpoints::lock(&mut tx, READ_MODELS).await?;
    let stored = event_log::read_after(&mut tx, checkpoint, limit).await?;
    let Some(last) = stored.last().map(|event| event.cursor()) else {
        tx.rollback().await?;
        return Ok(BatchOutcome::default());
    };
    let events = stored
        .into_iter()
        .map(DecodedEvent::decode)
        .collect::<anyhow::Result<Vec<_>>>()?;

    let mut changes = ReadModelChanges::default();
    let jobs: BTreeSet<&str> = events.iter().map(|e| e.stored.job_id.as_str()).collect();
    let jobs: Vec<&str> = jobs.into_iter().collect();
    for status in read_models::load_statuses(&mut tx, &jobs).await? {
        changes.statuses.insert(status.view.id.clone(), status);
    }
    for event in &events {
        changes.apply(event);
    }
    read_models::save_changes(&mut tx, &changes).await?;
    checkpoints::save(&mut tx, READ_MODELS, last).await?;
    tx.commit().await?;
    Ok(BatchOutcome {
        events: events.len(),
        queued_jobs: changes.queued.len(),
    })
}
