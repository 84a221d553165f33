//! The read-model tables: `task_status_view` (a job's status as the API shows it) and
//! `assessment_view` (a finished assessment's info and questions), each view kept as JSON text.

use super::{Db, Tx};
use crate::{with_pool, with_tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StatusRow {
    pub job_id: String,
    pub organization_id: String,
    pub last_position: i64,
    pub view: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssessmentRow {
    pub assessment_id: String,
    pub organization_id: String,
    pub job_id: String,
    pub info: String,
    pub questions: String,
}

const STATUS: &str = "SELECT job_id, organization_id, last_position, view FROM task_status_view";
const ASSESSMENT: &str =
    "SELECT assessment_id, organization_id, job_id, info, questions FROM assessment_view";

/// A job's stored status, in a subscription's transaction.
pub async fn status_in(tx: &mut Tx, job_id: &str) -> sqlx::Result<Option<StatusRow>> {
    let sql = format!("{STATUS} WHERE job_id = $1");
    with_tx!(tx, |conn| {
        sqlx::query_as(&sql)
            .bind(job_id)
            .fetch_optional(&mut *conn)
            .await
    })
}

/// A job's stored status.
pub async fn status(db: &Db, job_id: &str) -> sqlx::Result<Option<StatusRow>> {
    let sql = format!("{STATUS} WHERE job_id = $1");
    with_pool!(db, |pool| {
        sqlx::query_as(&sql).bind(job_id).fetch_optional(pool).await
    })
}

/// An assessment of one organization.
pub async fn assessment(
    db: &Db,
    assessment_id: &str,
    organization_id: &str,
) -> sqlx::Result<Option<AssessmentRow>> {
    let sql = format!("{ASSESSMENT} WHERE assessment_id = $1 AND organization_id = $2");
    with_pool!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(assessment_id)
            .bind(organization_id)
            .fetch_optional(pool)
            .await
    })
}

pub async fn upsert_status(tx: &mut Tx, row: &StatusRow) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO task_status_view (job_id, organization_id, last_position, view)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (job_id) DO UPDATE
             SET last_position = excluded.last_position, view = excluded.view",
        )
        .bind(&row.job_id)
        .bind(&row.organization_id)
        .bind(row.last_position)
        .bind(&row.view)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}

pub async fn upsert_assessment(tx: &mut Tx, row: &AssessmentRow) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO assessment_view
                 (assessment_id, organization_id, job_id, info, questions)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (assessment_id) DO UPDATE
             SET info = excluded.info, questions = excluded.questions",
        )
        .bind(&row.assessment_id)
        .bind(&row.organization_id)
        .bind(&row.job_id)
        .bind(&row.info)
        .bind(&row.questions)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}

/// Every stored status and assessment, as this transaction sees them.
pub async fn all(tx: &mut Tx) -> sqlx::Result<(Vec<StatusRow>, Vec<AssessmentRow>)> {
    with_tx!(tx, |conn| {
        let statuses = sqlx::query_as(STATUS).fetch_all(&mut *conn).await?;
        let assessments = sqlx::query_as(ASSESSMENT).fetch_all(&mut *conn).await?;
        Ok((statuses, assessments))
    })
}

/// Empties both views (for a rebuild in the same transaction).
pub async fn clear(tx: &mut Tx) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query("DELETE FROM task_status_view")
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM assessment_view")
            .execute(&mut *conn)
            .await?;
        Ok(())
    })
}
