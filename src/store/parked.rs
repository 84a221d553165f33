//! The `parked_events` table: events a subscription could not read, set aside so it moves on
//! (see `projector::follow`), until an operator resolves them (`assessment-service parked`).

use chrono::{DateTime, Utc};

use super::checkpoints;
use super::event_log::{self, StoredEvent};
use super::time::StoredTime;
use super::{Db, Tx};
use crate::{with_pool, with_tx};

/// A parked event.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ParkedEvent {
    pub subscription: String,
    pub position: i64,
    pub job_id: String,
    pub event_type: String,
    pub error: String,
    #[sqlx(try_from = "StoredTime")]
    pub parked_at: DateTime<Utc>,
}

/// Parks the event after subscription `name`'s checkpoint with `error` and moves the
/// checkpoint past it, in the caller's transaction; returns it and the parking record (none if
/// nothing is there to read).
pub async fn park_next(
    tx: &mut Tx,
    name: &str,
    error: &str,
) -> sqlx::Result<Option<(StoredEvent, ParkedEvent)>> {
    let checkpoint = checkpoints::lock(tx, name).await?;
    let Some(event) = event_log::read_after(tx, checkpoint, 1).await?.pop() else {
        return Ok(None);
    };
    let parked: ParkedEvent = with_tx!(&mut *tx, |conn| {
        sqlx::query_as(
            "INSERT INTO parked_events (subscription, position, job_id, event_type, error)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (subscription, position) DO UPDATE SET error = excluded.error,
                 resolved_at = NULL
             RETURNING subscription, position, job_id, event_type, error, parked_at",
        )
        .bind(name)
        .bind(event.position)
        .bind(&event.job_id)
        .bind(&event.event_type)
        .bind(error)
        .fetch_one(&mut *conn)
        .await?
    });
    checkpoints::save(tx, name, event.cursor()).await?;
    Ok(Some((event, parked)))
}

/// The parked events nobody has resolved yet, oldest first.
pub async fn unresolved(db: &Db) -> sqlx::Result<Vec<ParkedEvent>> {
    with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT subscription, position, job_id, event_type, error, parked_at
             FROM parked_events WHERE resolved_at IS NULL ORDER BY position, subscription",
        )
        .fetch_all(pool)
        .await
    })
}

/// Marks a parked event resolved (an operator decided it can be left unread); false if no
/// unresolved event is parked there.
pub async fn resolve(db: &Db, subscription: &str, position: i64) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE parked_events SET resolved_at = {}
         WHERE subscription = $1 AND position = $2 AND resolved_at IS NULL",
        db.dialect().now
    );
    let changed = with_pool!(db, |pool| {
        sqlx::query(&sql)
            .bind(subscription)
            .bind(position)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(changed == 1)
}

/// The positions subscription `name` has parked, resolved or not (it went past them all).
pub async fn positions(tx: &mut Tx, name: &str) -> sqlx::Result<std::collections::HashSet<i64>> {
    let positions: Vec<i64> = with_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT position FROM parked_events WHERE subscription = $1")
            .bind(name)
            .fetch_all(&mut *conn)
            .await?
    });
    Ok(positions.into_iter().collect())
}

/// The event an unresolved parking of `name` at `position` set aside, read from the log (at or
/// before the subscription's checkpoint `end`); none if nothing unresolved is parked there.
pub async fn unresolved_event(
    tx: &mut Tx,
    name: &str,
    position: i64,
    end: event_log::Cursor,
) -> sqlx::Result<Option<StoredEvent>> {
    let job_id: Option<String> = with_tx!(&mut *tx, |conn| {
        sqlx::query_scalar(
            "SELECT job_id FROM parked_events
             WHERE subscription = $1 AND position = $2 AND resolved_at IS NULL",
        )
        .bind(name)
        .bind(position)
        .fetch_optional(&mut *conn)
        .await?
    });
    let Some(job_id) = job_id else {
        return Ok(None);
    };
    let events = event_log::jobs_events(tx, &[job_id], end).await?;
    Ok(events.into_iter().find(|event| event.position == position))
}

/// Removes a parking whose event has now been read after all (see `parked retry`): it no
/// longer counts among the events left out.
pub async fn unpark_in(tx: &mut Tx, name: &str, position: i64) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query("DELETE FROM parked_events WHERE subscription = $1 AND position = $2")
            .bind(name)
            .bind(position)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}
