//! The read-model tables: `task_status_view` (a job's status as the API shows it) and
//! `assessment_view` (a finished assessment's info and questions), each view kept as JSON text.

use sqlx::QueryBuilder;

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

/// Rows written per statement by the batch upserts (well under both backends' limits on
/// bound parameters).
const ROWS_PER_STATEMENT: usize = 500;

/// Stored statuses of these jobs, in a subscription's transaction: one query for a batch.
pub async fn statuses_in(tx: &mut Tx, job_ids: &[&str]) -> sqlx::Result<Vec<StatusRow>> {
    rows_in(tx, STATUS, "job_id", job_ids).await
}

/// Stored assessments of these ids, in one query per few hundred.
pub async fn assessments_in(tx: &mut Tx, ids: &[&str]) -> sqlx::Result<Vec<AssessmentRow>> {
    rows_in(tx, ASSESSMENT, "assessment_id", ids).await
}

/// The rows of `select` whose `key` is one of `ids`, a few hundred ids per query.
async fn rows_in<Row>(tx: &mut Tx, select: &str, key: &str, ids: &[&str]) -> sqlx::Result<Vec<Row>>
where
    Row: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin,
{
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(format!("{select} WHERE {key} IN ("));
            let mut separated = query.separated(", ");
            for id in chunk {
                separated.push_bind(*id);
            }
            query.push(")");
            rows.extend(query.build_query_as().fetch_all(&mut *conn).await?);
        });
    }
    Ok(rows)
}

/// The ids of every stored status (job ids) and assessment, as this transaction sees them.
pub async fn ids(tx: &mut Tx) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    with_tx!(tx, |conn| {
        let statuses = sqlx::query_scalar("SELECT job_id FROM task_status_view")
            .fetch_all(&mut *conn)
            .await?;
        let assessments = sqlx::query_scalar("SELECT assessment_id FROM assessment_view")
            .fetch_all(&mut *conn)
            .await?;
        Ok((statuses, assessments))
    })
}

/// Writes these statuses, a few hundred rows per statement.
pub async fn upsert_statuses(tx: &mut Tx, rows: &[StatusRow]) -> sqlx::Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO task_status_view (job_id, organization_id, last_position, view) ",
            );
            query.push_values(chunk, |mut values, row| {
                values
                    .push_bind(&row.job_id)
                    .push_bind(&row.organization_id)
                    .push_bind(row.last_position)
                    .push_bind(&row.view);
            });
            query.push(
                " ON CONFLICT (job_id) DO UPDATE
                 SET last_position = excluded.last_position, view = excluded.view",
            );
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// Writes these assessments, a few hundred rows per statement.
pub async fn upsert_assessments(tx: &mut Tx, rows: &[AssessmentRow]) -> sqlx::Result<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO assessment_view
                     (assessment_id, organization_id, job_id, info, questions) ",
            );
            query.push_values(chunk, |mut values, row| {
                values
                    .push_bind(&row.assessment_id)
                    .push_bind(&row.organization_id)
                    .push_bind(&row.job_id)
                    .push_bind(&row.info)
                    .push_bind(&row.questions);
            });
            query.push(
                " ON CONFLICT (assessment_id) DO UPDATE
                 SET info = excluded.info, questions = excluded.questions",
            );
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
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
