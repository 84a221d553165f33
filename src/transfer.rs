//! `events export` and `events import`: the log as JSON lines, one event per line with its
//! position and record time, so a history can move between SQLite and PostgreSQL and be
//! replayed there to the same read models.

use std::io::{BufRead, Write};

use assessment_domain::TaskExecutionEvent;

use crate::event_log::{self, Cursor, StoredEvent};
use crate::store::{self, checkpoints, webhook_targets, Db, Tx};
use crate::webhooks::outbox::WEBHOOKS;

const PAGE: i64 = 1_000;

pub use crate::store::event_log::ExportedEvent;

impl TryFrom<StoredEvent> for ExportedEvent {
    type Error = serde_json::Error;

    fn try_from(stored: StoredEvent) -> Result<Self, Self::Error> {
        Ok(Self {
            position: stored.position,
            aggregate_type: "TaskExecution".to_owned(),
            aggregate_id: stored.job_id,
            sequence: stored.sequence,
            event_type: stored.event_type,
            event_version: stored.event_version,
            payload: serde_json::from_str(stored.payload.get())?,
            metadata: stored.metadata,
            recorded_at: stored.recorded_at,
        })
    }
}

/// Writes the log (or one job's events) as JSON lines, in commit order. Returns the count.
pub async fn export(db: &Db, job: Option<&str>, out: &mut impl Write) -> anyhow::Result<usize> {
    let mut written = 0;
    if let Some(job_id) = job {
        // Exported as stored: an export never depends on the events being readable.
        for stored in store::event_log::job_events(db, job_id).await? {
            serde_json::to_writer(&mut *out, &ExportedEvent::try_from(stored)?)?;
            out.write_all(b"\n")?;
            written += 1;
        }
        return Ok(written);
    }
    event_log::wait_until_readable(db, std::time::Duration::from_secs(60)).await?;
    let mut cursor = Cursor::default();
    loop {
        let mut tx = db.begin_read().await?;
        let page = store::event_log::read_after(&mut tx, cursor, PAGE).await?;
        tx.rollback().await?;
        let Some(last) = page.last().map(StoredEvent::cursor) else {
            return Ok(written);
        };
        for stored in page {
            serde_json::to_writer(&mut *out, &ExportedEvent::try_from(stored)?)?;
            out.write_all(b"\n")?;
            written += 1;
        }
        cursor = last;
    }
}

/// Loads exported events into an empty store, keeping positions and record times, in one
/// transaction. The imported history's webhooks are not sent again.
pub async fn import(db: &Db, input: impl BufRead) -> anyhow::Result<usize> {
    let mut events = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let event: ExportedEvent = serde_json::from_str(&line)
            .map_err(|error| anyhow::anyhow!("line {}: {error}", number + 1))?;
        events.push(event);
    }
    events.sort_by_key(|e| e.position);
    let count = events.len();
    let mut tx = db.begin_write().await?;
    let existing = store::event_log::count(&mut tx).await?;
    anyhow::ensure!(
        existing == 0,
        "the event store is not empty ({existing} events)"
    );
    let end = store::event_log::import(&mut tx, &events).await?;
    skip_webhooks(&mut tx, &events, end).await?;
    tx.commit().await?;
    Ok(count)
}

/// Moves the webhook subscription past the imported history (`end`, read inside the importing
/// transaction): its listeners were told already. Jobs that have a `notification_url` keep
/// their target, so updates of a job that resumes here still reach its listener.
async fn skip_webhooks(tx: &mut Tx, events: &[ExportedEvent], end: Cursor) -> anyhow::Result<()> {
    for event in events.iter().filter(|e| e.event_type == "JobRequested") {
        // Read through the upcasters, as every other reader of the log does.
        let TaskExecutionEvent::JobRequested(requested) = event.decode()? else {
            continue;
        };
        let Some(url) = &requested.notification_url else {
            continue;
        };
        webhook_targets::add(
            tx,
            &event.aggregate_id,
            &requested.organization_id,
            requested.api_key_id.as_deref(),
            url,
        )
        .await?;
    }
    checkpoints::lock(tx, WEBHOOKS).await?;
    checkpoints::save(tx, WEBHOOKS, end).await?;
    Ok(())
}
