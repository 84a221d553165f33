//! The stored read models: folding a batch of events into them, and reading them back.

use std::collections::{BTreeMap, BTreeSet};

use assessment_domain::TaskExecutionEvent;
use assessment_projections::{AssessmentRecord, TaskStatus};

use crate::event_log::DecodedEvent;
use crate::store::event_log::StoredEvent;
use crate::store::job_queue::{self, QueuedJob};
use crate::store::views::{self, AssessmentRow, StatusRow};
use crate::store::{Db, Tx};

/// The effect of a run of events on the read models. Start it with the current status of the
/// jobs involved (or empty, for a rebuild) and apply events in commit order.
#[derive(Debug, Default)]
pub struct ReadModelChanges {
    /// Status of every job seen, as it stands after the events applied so far.
    pub statuses: BTreeMap<String, TaskStatus>,
    /// Jobs whose status the applied events changed.
    pub touched: BTreeSet<String>,
    pub assessments: BTreeMap<String, AssessmentRecord>,
    pub queued: Vec<QueuedJob>,
    pub ended: Vec<String>,
}

impl ReadModelChanges {
    pub fn apply(&mut self, decoded: &DecodedEvent) {
        let job_id = &decoded.stored.job_id;
        let current = self.statuses.remove(job_id);
        let Some(next) = TaskStatus::fold(current, decoded.recorded()) else {
            return;
        };
        match &decoded.event {
            TaskExecutionEvent::JobRequested(requested) => self.queued.push(QueuedJob {
                job_id: job_id.clone(),
                organization_id: requested.organization_id.clone(),
                position: decoded.stored.position,
            }),
            TaskExecutionEvent::Completed { .. } => {
                if let Some(record) = AssessmentRecord::from_event(&next, decoded.recorded()) {
                    self.assessments.insert(record.info.id.clone(), record);
                }
            }
            _ => {}
        }
        if decoded.event.is_terminal() {
            self.ended.push(job_id.clone());
        }
        self.touched.insert(job_id.clone());
        self.statuses.insert(job_id.clone(), next);
    }
}

impl ReadModelChanges {
    /// Marks the job of an event that could not be read (parked) failed, as
    /// [`TaskStatus::unreadable`] says.
    pub fn unreadable(&mut self, stored: &StoredEvent) {
        let current = self.statuses.remove(&stored.job_id);
        if let Some(next) = TaskStatus::unreadable(
            current,
            stored.position,
            &stored.event_type,
            stored.recorded_at,
        ) {
            self.touched.insert(stored.job_id.clone());
            self.statuses.insert(stored.job_id.clone(), next);
        }
    }
}

/// Writes every status the changes touched, their assessments, and the job queue entries,
/// a few hundred rows per statement.
pub async fn save_changes(tx: &mut Tx, changes: &ReadModelChanges) -> anyhow::Result<()> {
    let mut statuses = Vec::with_capacity(changes.touched.len());
    for job_id in &changes.touched {
        let status = &changes.statuses[job_id];
        statuses.push(StatusRow {
            job_id: job_id.clone(),
            organization_id: status.organization_id.clone(),
            last_position: status.last_position,
            view: serde_json::to_string(&status.view)?,
        });
    }
    views::upsert_statuses(tx, &statuses).await?;
    let mut assessments = Vec::with_capacity(changes.assessments.len());
    for (assessment_id, record) in &changes.assessments {
        assessments.push(AssessmentRow {
            assessment_id: assessment_id.clone(),
            organization_id: record.organization_id.clone(),
            job_id: record.job_id.clone(),
            info: serde_json::to_string(&record.info)?,
            questions: serde_json::to_string(&record.questions)?,
        });
    }
    views::upsert_assessments(tx, &assessments).await?;
    job_queue::enqueue_all(tx, &changes.queued).await?;
    let ended: Vec<&str> = changes.ended.iter().map(String::as_str).collect();
    job_queue::finish_all(tx, &ended).await?;
    Ok(())
}

/// The stored statuses of these jobs, in a subscription's transaction.
pub async fn load_statuses(tx: &mut Tx, job_ids: &[&str]) -> anyhow::Result<Vec<TaskStatus>> {
    views::statuses_in(tx, job_ids)
        .await?
        .into_iter()
        .map(status_from_row)
        .collect()
}

pub(crate) fn status_from_row(row: StatusRow) -> anyhow::Result<TaskStatus> {
    Ok(TaskStatus {
        organization_id: row.organization_id,
        last_position: row.last_position,
        view: serde_json::from_str(&row.view)?,
    })
}

pub(crate) fn assessment_from_row(row: AssessmentRow) -> anyhow::Result<AssessmentRecord> {
    Ok(AssessmentRecord {
        organization_id: row.organization_id,
        job_id: row.job_id,
        info: serde_json::from_str(&row.info)?,
        questions: serde_json::from_str(&row.questions)?,
    })
}

/// A job's stored status (the read model, which may lag behind the log).
pub async fn stored_status(db: &Db, job_id: &str) -> anyhow::Result<Option<TaskStatus>> {
    views::status(db, job_id)
        .await?
        .map(status_from_row)
        .transpose()
}

/// The assessment `assessment_id` if it belongs to `organization_id`.
pub async fn assessment(
    db: &Db,
    assessment_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<AssessmentRecord>> {
    views::assessment(db, assessment_id, organization_id)
        .await?
        .map(assessment_from_row)
        .transpose()
}

/// Every stored status (by job id) and assessment (by id), as `tx` sees them.
async fn all_views_in(
    tx: &mut Tx,
) -> anyhow::Result<(
    BTreeMap<String, TaskStatus>,
    BTreeMap<String, AssessmentRecord>,
)> {
    let (statuses, assessments) = views::all(tx).await?;
    let statuses = statuses
        .into_iter()
        .map(|row| Ok((row.job_id.clone(), status_from_row(row)?)))
        .collect::<anyhow::Result<_>>()?;
    let assessments = assessments
        .into_iter()
        .map(|row| Ok((row.assessment_id.clone(), assessment_from_row(row)?)))
        .collect::<anyhow::Result<_>>()?;
    Ok((statuses, assessments))
}

/// Every stored status (by job id) and assessment (by id).
pub async fn all_views(
    db: &Db,
) -> anyhow::Result<(
    BTreeMap<String, TaskStatus>,
    BTreeMap<String, AssessmentRecord>,
)> {
    let mut tx = db.begin_read().await?;
    let views = all_views_in(&mut tx).await?;
    tx.rollback().await?;
    Ok(views)
}
