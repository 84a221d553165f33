//! The stored read models: folding a batch of events into them, and reading them back.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use assessment_domain::TaskExecutionEvent;
use assessment_projections::{AssessmentRecord, TaskStatus};

use crate::event_log::{self, DecodedEvent};
use crate::store::Db;
use crate::with_pool;

/// A job that entered the queue, for the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedJob {
    pub job_id: String,
    pub organization_id: String,
    pub position: i64,
}

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

/// Reading and writing the read models on one connection of either backend, so a
/// subscription writes them in the transaction that moves its checkpoint.
pub trait ReadModelStore: Send {
    fn load_status(
        &mut self,
        job_id: &str,
    ) -> impl Future<Output = anyhow::Result<Option<TaskStatus>>> + Send;

    /// Writes every status the changes touched, their assessments, and the job queue entries.
    fn save_changes(
        &mut self,
        changes: &ReadModelChanges,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Empties both views (for a rebuild in the same transaction).
    fn clear_views(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Every stored status and assessment, as of this connection's transaction.
    fn all_views(
        &mut self,
    ) -> impl Future<
        Output = anyhow::Result<(
            BTreeMap<String, TaskStatus>,
            BTreeMap<String, AssessmentRecord>,
        )>,
    > + Send;
}

macro_rules! read_model_store {
    ($connection:ty) => {
        impl ReadModelStore for $connection {
            async fn load_status(&mut self, job_id: &str) -> anyhow::Result<Option<TaskStatus>> {
                let row: Option<(String, i64, String)> = sqlx::query_as(
                    "SELECT organization_id, last_position, view FROM task_status_view
                     WHERE job_id = $1",
                )
                .bind(job_id)
                .fetch_optional(&mut *self)
                .await?;
                row.map(status_from_row).transpose()
            }

            async fn save_changes(&mut self, changes: &ReadModelChanges) -> anyhow::Result<()> {
                for job_id in &changes.touched {
                    let status = &changes.statuses[job_id];
                    sqlx::query(
                        "INSERT INTO task_status_view (job_id, organization_id, last_position, view)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (job_id) DO UPDATE
                         SET last_position = excluded.last_position, view = excluded.view",
                    )
                    .bind(job_id)
                    .bind(&status.organization_id)
                    .bind(status.last_position)
                    .bind(serde_json::to_string(&status.view)?)
                    .execute(&mut *self)
                    .await?;
                }
                for (assessment_id, record) in &changes.assessments {
                    sqlx::query(
                        "INSERT INTO assessment_view
                             (assessment_id, organization_id, job_id, info, questions)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (assessment_id) DO UPDATE
                         SET info = excluded.info, questions = excluded.questions",
                    )
                    .bind(assessment_id)
                    .bind(&record.organization_id)
                    .bind(&record.job_id)
                    .bind(serde_json::to_string(&record.info)?)
                    .bind(serde_json::to_string(&record.questions)?)
                    .execute(&mut *self)
                    .await?;
                }
                for job in &changes.queued {
                    sqlx::query(
                        "INSERT INTO job_queue (job_id, organization_id, position, state)
                         VALUES ($1, $2, $3, 'pending') ON CONFLICT (job_id) DO NOTHING",
                    )
                    .bind(&job.job_id)
                    .bind(&job.organization_id)
                    .bind(job.position)
                    .execute(&mut *self)
                    .await?;
                }
                for job_id in &changes.ended {
                    sqlx::query(
                        "UPDATE job_queue SET state = 'done', lease_owner = NULL,
                         lease_expires_ms = NULL WHERE job_id = $1",
                    )
                    .bind(job_id)
                    .execute(&mut *self)
                    .await?;
                }
                Ok(())
            }

            async fn all_views(
                &mut self,
            ) -> anyhow::Result<(
                BTreeMap<String, TaskStatus>,
                BTreeMap<String, AssessmentRecord>,
            )> {
                let statuses: Vec<(String, String, i64, String)> = sqlx::query_as(
                    "SELECT job_id, organization_id, last_position, view FROM task_status_view",
                )
                .fetch_all(&mut *self)
                .await?;
                let assessments: Vec<(String, String, String, String, String)> = sqlx::query_as(
                    "SELECT assessment_id, organization_id, job_id, info, questions
                     FROM assessment_view",
                )
                .fetch_all(&mut *self)
                .await?;
                Ok((statuses_by_job(statuses)?, assessments_by_id(assessments)?))
            }

            async fn clear_views(&mut self) -> anyhow::Result<()> {
                sqlx::query("DELETE FROM task_status_view")
                    .execute(&mut *self)
                    .await?;
                sqlx::query("DELETE FROM assessment_view")
                    .execute(&mut *self)
                    .await?;
                Ok(())
            }
        }
    };
}

read_model_store!(sqlx::PgConnection);
read_model_store!(sqlx::SqliteConnection);

pub(crate) fn status_from_row(
    (organization_id, last_position, view): (String, i64, String),
) -> anyhow::Result<TaskStatus> {
    Ok(TaskStatus {
        organization_id,
        last_position,
        view: serde_json::from_str(&view)?,
    })
}

pub(crate) fn assessment_from_row(
    (organization_id, job_id, info, questions): (String, String, String, String),
) -> anyhow::Result<AssessmentRecord> {
    Ok(AssessmentRecord {
        organization_id,
        job_id,
        info: serde_json::from_str(&info)?,
        questions: serde_json::from_str(&questions)?,
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
    let row: Option<(String, i64, String)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT organization_id, last_position, view FROM task_status_view WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_optional(pool)
        .await?
    });
    let status = match row {
        Some(row) => Some(status_from_row(row)?),
        None => {
            let events = event_log::load_job(db, job_id).await?;
            TaskStatus::from_history(events.iter().map(DecodedEvent::recorded))
        }
    };
    Ok(status.filter(|status| status.organization_id == organization_id))
}

/// The assessment `assessment_id` if it belongs to `organization_id`.
pub async fn assessment(
    db: &Db,
    assessment_id: &str,
    organization_id: &str,
) -> anyhow::Result<Option<AssessmentRecord>> {
    let row: Option<(String, String, String, String)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT organization_id, job_id, info, questions FROM assessment_view
             WHERE assessment_id = $1 AND organization_id = $2",
        )
        .bind(assessment_id)
        .bind(organization_id)
        .fetch_optional(pool)
        .await?
    });
    row.map(assessment_from_row).transpose()
}

type StatusRow = (String, String, i64, String);
type AssessmentRow = (String, String, String, String, String);

fn statuses_by_job(rows: Vec<StatusRow>) -> anyhow::Result<BTreeMap<String, TaskStatus>> {
    rows.into_iter()
        .map(|(job_id, organization_id, last_position, view)| {
            Ok((
                job_id,
                status_from_row((organization_id, last_position, view))?,
            ))
        })
        .collect()
}

fn assessments_by_id(
    rows: Vec<AssessmentRow>,
) -> anyhow::Result<BTreeMap<String, AssessmentRecord>> {
    rows.into_iter()
        .map(|(id, organization_id, job_id, info, questions)| {
            Ok((
                id,
                assessment_from_row((organization_id, job_id, info, questions))?,
            ))
        })
        .collect()
}

/// Every stored status (by job id) and assessment (by id).
pub async fn all_views(
    db: &Db,
) -> anyhow::Result<(
    BTreeMap<String, TaskStatus>,
    BTreeMap<String, AssessmentRecord>,
)> {
    Ok(with_pool!(db, |pool| {
        let mut conn = pool.acquire().await?;
        conn.all_views().await?
    }))
}
