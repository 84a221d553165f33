//! Reads that fold a job's events on the spot, with the same code as the live views: the
//! status when the read model has not caught up yet, the status as of a point in the log, the
//! status after each new event (the live stream), a job's history for its owner only, and what
//! a worker needs to run a job (folded through the aggregate). Nothing else folds one job.

use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;

use assessment_domain::{JobRequested, Lifecycle, TaskExecution, TaskExecutionEvent};
use assessment_projections::TaskStatus;

use crate::event_log::{self, DecodedEvent};
use crate::read_models;
use crate::store::{self, Db};

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
        None => folded_status(db, job_id).await?,
    };
    Ok(status.filter(|status| status.organization_id == organization_id))
}

/// The job's status folded from its own events, for a job the subscription has not reached.
async fn folded_status(db: &Db, job_id: &str) -> anyhow::Result<Option<TaskStatus>> {
    let events = event_log::load_job(db, job_id).await?;
    Ok(TaskStatus::from_history(
        events.iter().map(DecodedEvent::recorded),
    ))
}

/// [`task_status`] as the JSON document the API sends: the stored view's text as it is, or,
/// before the subscription has reached the job, its fold serialized.
pub async fn task_status_document(
    db: &Db,
    job_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(row) = store::views::status(db, job_id).await? {
        return Ok((row.organization_id == organization_id).then_some(row.view));
    }
    let status = folded_status(db, job_id)
        .await?
        .filter(|status| status.organization_id == organization_id);
    Ok(status.map(|s| serde_json::to_string(&s.view)).transpose()?)
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

/// A job as a worker runs it.
#[derive(Debug, Clone)]
pub struct JobToRun {
    pub request: JobRequested,
    /// The aggregate after every event so far.
    pub aggregate: TaskExecution,
    /// How many events the job has.
    pub events: usize,
}

impl JobToRun {
    pub fn lifecycle(&self) -> Lifecycle {
        self.aggregate.lifecycle()
    }
}

/// The job's request and where it stands, or `None` if it has no `JobRequested` event.
pub async fn job_to_run(db: &Db, job_id: &str) -> anyhow::Result<Option<JobToRun>> {
    let history = event_log::load_job(db, job_id).await?;
    let Some(TaskExecutionEvent::JobRequested(request)) = history.first().map(|e| &e.event) else {
        return Ok(None);
    };
    let request = (**request).clone();
    let events = history.len();
    let mut aggregate = TaskExecution::default();
    for decoded in history {
        aggregate.apply(decoded.event);
    }
    Ok(Some(JobToRun {
        request,
        aggregate,
        events,
    }))
}

/// The status after one event of the job.
#[derive(Debug, Clone)]
pub struct StatusUpdate {
    /// The event's position in the log.
    pub position: i64,
    pub status: TaskStatus,
    /// The event ended the job: no update follows.
    pub terminal: bool,
}

/// Follows one job's status event by event, for the live stream: each call folds the events
/// recorded since the last one, so no update is skipped or merged.
#[derive(Debug)]
pub struct StatusFollower {
    job_id: String,
    status: Option<TaskStatus>,
    /// The sequence of the last event folded.
    folded: i64,
}

impl StatusFollower {
    pub fn new(job_id: String) -> Self {
        Self {
            job_id,
            status: None,
            folded: 0,
        }
    }

    /// The status after each event recorded since the last call, oldest first. Only those
    /// events are read.
    pub async fn next_updates(&mut self, db: &Db) -> anyhow::Result<Vec<StatusUpdate>> {
        let events = event_log::load_job_after(db, &self.job_id, self.folded).await?;
        let mut updates = Vec::new();
        for event in &events {
            self.folded = event.stored.sequence;
            self.status = TaskStatus::fold(self.status.take(), event.recorded());
            if let Some(status) = &self.status {
                updates.push(StatusUpdate {
                    position: event.stored.position,
                    status: status.clone(),
                    terminal: event.event.is_terminal(),
                });
            }
        }
        Ok(updates)
    }

    /// Whether the job's last folded event ended it.
    pub fn ended(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|status| status.view.status.has_ended())
    }
}
