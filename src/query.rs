//! Reads that fold a job's events on the spot, with the same code as the live views: the
//! status when the read model has not caught up yet, the status as of a point in the log, and
//! a job's history for its owner only.

use chrono::{DateTime, Utc};

use assessment_domain::TaskExecutionEvent;
use assessment_projections::TaskStatus;

use crate::event_log::{self, DecodedEvent};
use crate::read_models;
use crate::store::Db;

/// The job's events, oldest first, if it belongs to `organization_id`.
pub async fn owned_history(
    db: &Db,
    job_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<Vec<DecodedEvent>>> {
    let events = event_log::load_job(db, job_id).await?;
    Ok(match events.first().map(|e| &e.event) {
        Some(TaskExecutionEvent::JobRequested(requested))
            if requested.organization_id == organization_id =>
        {
            Some(events)
        }
        _ => None,
    })
}

/// The status of `job_id` as `organization_id` may see it. A job whose events the subscription
/// has not reached yet is folded from its own events, so a client never gets 404 for a job it
/// was just told about.
pub async fn task_status(
    db: &Db,
    job_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<TaskStatus>> {
    let status = match read_models::stored_status(db, job_id).await? {
        Some(status) => Some(status),
        None => {
            let events = event_log::load_job(db, job_id).await?;
            TaskStatus::from_history(events.iter().map(DecodedEvent::recorded))
        }
    };
    Ok(status.filter(|status| status.organization_id == organization_id))
}

/// A point in the log: a position, or a time.
#[derive(Debug, Clone, Copy)]
pub enum AsOf {
    Position(i64),
    Time(DateTime<Utc>),
}

/// The job's status folded from its events up to `point`.
pub async fn status_as_of(
    db: &Db,
    job_id: &str,
    organization_id: &str,
    point: AsOf,
) -> anyhow::Result<Option<TaskStatus>> {
    let Some(events) = owned_history(db, job_id, organization_id).await? else {
        return Ok(None);
    };
    let until = events.iter().take_while(|e| match point {
        AsOf::Position(position) => e.stored.position <= position,
        AsOf::Time(time) => e.stored.recorded_at <= time,
    });
    Ok(TaskStatus::from_history(until.map(DecodedEvent::recorded)))
}
