//! `events export` and `events import`: the log as JSON lines, one event per line with its
//! position and record time, so a history can move between SQLite and PostgreSQL and be
//! replayed there to the same read models.

use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event_log::{self, Cursor, LogConnection, StoredEvent, WritePool};
use crate::store::Db;
use crate::webhooks::outbox::WEBHOOKS;
use crate::with_pool;

const PAGE: i64 = 1_000;

/// One exported event.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportedEvent {
    pub position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

impl From<StoredEvent> for ExportedEvent {
    fn from(stored: StoredEvent) -> Self {
        Self {
            position: stored.position,
            aggregate_type: "TaskExecution".to_owned(),
            aggregate_id: stored.job_id,
            sequence: stored.sequence,
            event_type: stored.event_type,
            event_version: stored.event_version,
            payload: stored.payload,
            metadata: stored.metadata,
            recorded_at: stored.recorded_at,
        }
    }
}

/// Writes the log (or one job's events) as JSON lines, in commit order. Returns the count.
pub async fn export(db: &Db, job: Option<&str>, out: &mut impl Write) -> anyhow::Result<usize> {
    let mut written = 0;
    if let Some(job_id) = job {
        for decoded in event_log::load_job(db, job_id).await? {
            serde_json::to_writer(&mut *out, &ExportedEvent::from(decoded.stored))?;
            out.write_all(b"\n")?;
            written += 1;
        }
        return Ok(written);
    }
    event_log::wait_until_readable(db, std::time::Duration::from_secs(60)).await?;
    let mut cursor = Cursor::default();
    loop {
        let page = with_pool!(db, |pool| {
            let mut conn = pool.acquire().await?;
            conn.events_after(cursor, PAGE).await?
        });
        let Some(last) = page.last().map(StoredEvent::cursor) else {
            return Ok(written);
        };
        for stored in page {
            serde_json::to_writer(&mut *out, &ExportedEvent::from(stored))?;
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
    match db {
        Db::Postgres(pool) => {
            let mut tx = pool.begin_write().await?;
            let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
                .fetch_one(&mut *tx)
                .await?;
            anyhow::ensure!(
                existing == 0,
                "the event store is not empty ({existing} events)"
            );
            for event in &events {
                sqlx::query(
                    "INSERT INTO events (position, aggregate_type, aggregate_id, sequence,
                         event_type, event_version, payload, metadata, recorded_at)
                     OVERRIDING SYSTEM VALUE
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(event.position)
                .bind(&event.aggregate_type)
                .bind(&event.aggregate_id)
                .bind(event.sequence)
                .bind(&event.event_type)
                .bind(&event.event_version)
                .bind(&event.payload)
                .bind(&event.metadata)
                .bind(event.recorded_at)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('events', 'position'),
                               GREATEST((SELECT MAX(position) FROM events), 1))",
            )
            .execute(&mut *tx)
            .await?;
            let end: (i64, i64) = sqlx::query_as(
                "SELECT (pg_current_xact_id()::text)::bigint, COALESCE(MAX(position), 0) FROM events",
            )
            .fetch_one(&mut *tx)
            .await?;
            skip_webhooks(&mut *tx, &events, end).await?;
            tx.commit().await?;
        }
        Db::Sqlite(pool) => {
            let mut tx = pool.begin_write().await?;
            let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events")
                .fetch_one(&mut *tx)
                .await?;
            anyhow::ensure!(
                existing == 0,
                "the event store is not empty ({existing} events)"
            );
            for event in &events {
                sqlx::query(
                    "INSERT INTO events (position, aggregate_type, aggregate_id, sequence,
                         event_type, event_version, payload, metadata, recorded_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(event.position)
                .bind(&event.aggregate_type)
                .bind(&event.aggregate_id)
                .bind(event.sequence)
                .bind(&event.event_type)
                .bind(&event.event_version)
                .bind(event.payload.to_string())
                .bind(event.metadata.to_string())
                .bind(
                    event
                        .recorded_at
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        .to_string(),
                )
                .execute(&mut *tx)
                .await?;
            }
            let end: (i64, i64) =
                sqlx::query_as("SELECT 0, COALESCE(MAX(position), 0) FROM events")
                    .fetch_one(&mut *tx)
                    .await?;
            skip_webhooks(&mut *tx, &events, end).await?;
            tx.commit().await?;
        }
    }
    Ok(count)
}

/// Moves the webhook subscription past the imported history (`end`, read inside the importing
/// transaction): its listeners were told already. Jobs that have a `notification_url` keep
/// their target, so updates of a job that resumes here still reach its listener.
async fn skip_webhooks<C: LogConnection>(
    conn: &mut C,
    events: &[ExportedEvent],
    end: (i64, i64),
) -> anyhow::Result<()> {
    for event in events.iter().filter(|e| e.event_type == "JobRequested") {
        let requested = &event.payload["JobRequested"];
        let Some(url) = requested["notification_url"].as_str() else {
            continue;
        };
        conn.add_webhook_target(
            &event.aggregate_id,
            requested["organization_id"].as_str().unwrap_or_default(),
            requested["api_key_id"].as_str(),
            url,
        )
        .await?;
    }
    conn.lock_checkpoint(WEBHOOKS).await?;
    let (txid, position) = end;
    conn.save_checkpoint(WEBHOOKS, Cursor { txid, position })
        .await?;
    Ok(())
}
