//! Reading the event log: a job's own history, and the whole log in commit order from a
//! cursor, as durable subscriptions need it.
//!
//! PostgreSQL assigns positions at insert, so a transaction that inserts early and commits late
//! would slip in behind a reader that ordered by position alone. Readers there order by
//! (writing transaction id, position) and read only transactions older than every one still
//! running. SQLite has one writer at a time, so its position order is commit order.

use std::future::Future;

use std::sync::LazyLock;

use assessment_domain::{upcasters, TaskExecution, TaskExecutionEvent};
use assessment_projections::Recorded;
use chrono::{DateTime, Utc};
use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use cqrs_es::Aggregate;
use serde_json::Value;
use sqlx::{PgConnection, Postgres, QueryBuilder, Sqlite, SqliteConnection, Transaction};

use crate::store::Db;

/// One row of the events table.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub position: i64,
    /// The writing transaction (PostgreSQL); 0 on SQLite.
    pub txid: i64,
    #[sqlx(rename = "aggregate_id")]
    pub job_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

impl StoredEvent {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            txid: self.txid,
            position: self.position,
        }
    }

    /// The event in its current shape: older versions pass through the domain's upcasters.
    pub fn decode(&self) -> anyhow::Result<TaskExecutionEvent> {
        let mut serialized = SerializedEvent::new(
            self.job_id.clone(),
            self.sequence as usize,
            TaskExecution::TYPE.to_owned(),
            self.event_type.clone(),
            self.event_version.clone(),
            self.payload.clone(),
            Value::Null,
        );
        for upcaster in UPCASTERS.iter() {
            if upcaster.can_upcast(&serialized.event_type, &serialized.event_version) {
                serialized = upcaster.upcast(serialized);
            }
        }
        serde_json::from_value(serialized.payload).map_err(|error| {
            anyhow::anyhow!(
                "event {} ({} v{}) cannot be read: {error}",
                self.position,
                self.event_type,
                self.event_version
            )
        })
    }
}

static UPCASTERS: LazyLock<Vec<Box<dyn EventUpcaster>>> = LazyLock::new(upcasters);

/// An event decoded, kept with its place in the log.
pub struct DecodedEvent {
    pub stored: StoredEvent,
    pub event: TaskExecutionEvent,
}

impl DecodedEvent {
    pub fn decode(stored: StoredEvent) -> anyhow::Result<Self> {
        let event = stored.decode()?;
        Ok(Self { stored, event })
    }

    pub fn recorded(&self) -> Recorded<'_> {
        Recorded {
            position: self.stored.position,
            job_id: &self.stored.job_id,
            event: &self.event,
        }
    }
}

/// A place in the commit-ordered log: everything at or before it has been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub txid: i64,
    pub position: i64,
}

/// Commit-ordered log reads on one connection of either backend, so they can share a
/// transaction with the writes that depend on them.
pub trait LogConnection: Send {
    /// Up to `limit` events after `after` that `filter` lets through, in commit order, never
    /// skipping one that commits later with a lower position.
    fn events_matching(
        &mut self,
        after: Cursor,
        limit: i64,
        filter: &LogFilter,
    ) -> impl Future<Output = sqlx::Result<Vec<StoredEvent>>> + Send;

    /// Up to `limit` events after `after`, in commit order.
    fn events_after(
        &mut self,
        after: Cursor,
        limit: i64,
    ) -> impl Future<Output = sqlx::Result<Vec<StoredEvent>>> + Send {
        self.events_matching(after, limit, &EVERYTHING)
    }

    /// The checkpoint of subscription `name` (created at the start if missing), locked until
    /// the transaction ends so one runner at a time moves it.
    fn lock_checkpoint(&mut self, name: &str) -> impl Future<Output = sqlx::Result<Cursor>> + Send;

    fn save_checkpoint(
        &mut self,
        name: &str,
        cursor: Cursor,
    ) -> impl Future<Output = sqlx::Result<()>> + Send;

    /// Records where a job's webhooks go (kept if already there).
    fn add_webhook_target(
        &mut self,
        job_id: &str,
        organization_id: &str,
        api_key_id: Option<&str>,
        url: &str,
    ) -> impl Future<Output = sqlx::Result<()>> + Send;
}

const CREATE_CHECKPOINT: &str =
    "INSERT INTO subscription_checkpoints (name, last_txid, last_position)
     VALUES ($1, 0, 0) ON CONFLICT (name) DO NOTHING";
const SAVE_CHECKPOINT: &str =
    "UPDATE subscription_checkpoints SET last_txid = $2, last_position = $3 WHERE name = $1";

/// The checkpoint methods are the same SQL on both backends but for row locking.
macro_rules! checkpoint_methods {
    ($lock:literal) => {
        async fn lock_checkpoint(&mut self, name: &str) -> sqlx::Result<Cursor> {
            sqlx::query(CREATE_CHECKPOINT)
                .bind(name)
                .execute(&mut *self)
                .await?;
            let (txid, position): (i64, i64) = sqlx::query_as(concat!(
                "SELECT last_txid, last_position FROM subscription_checkpoints WHERE name = $1",
                $lock
            ))
            .bind(name)
            .fetch_one(&mut *self)
            .await?;
            Ok(Cursor { txid, position })
        }

        async fn add_webhook_target(
            &mut self,
            job_id: &str,
            organization_id: &str,
            api_key_id: Option<&str>,
            url: &str,
        ) -> sqlx::Result<()> {
            sqlx::query(
                "INSERT INTO webhook_targets (job_id, organization_id, api_key_id, url)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (job_id) DO NOTHING",
            )
            .bind(job_id)
            .bind(organization_id)
            .bind(api_key_id)
            .bind(url)
            .execute(&mut *self)
            .await?;
            Ok(())
        }

        async fn save_checkpoint(&mut self, name: &str, cursor: Cursor) -> sqlx::Result<()> {
            sqlx::query(SAVE_CHECKPOINT)
                .bind(name)
                .bind(cursor.txid)
                .bind(cursor.position)
                .execute(&mut *self)
                .await?;
            Ok(())
        }
    };
}

const PG_COLUMNS: &str = "position, (txid::text)::bigint AS txid, aggregate_id, sequence, \
     event_type, event_version, payload, metadata, recorded_at";
const SQLITE_COLUMNS: &str = "position, 0 AS txid, aggregate_id, sequence, \
     event_type, event_version, payload, metadata, recorded_at";

impl LogConnection for PgConnection {
    checkpoint_methods!(" FOR UPDATE");

    async fn events_matching(
        &mut self,
        after: Cursor,
        limit: i64,
        filter: &LogFilter,
    ) -> sqlx::Result<Vec<StoredEvent>> {
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {PG_COLUMNS} FROM events WHERE aggregate_type = "
        ));
        query.push_bind(TaskExecution::TYPE);
        query.push(" AND txid < pg_snapshot_xmin(pg_current_snapshot()) AND (txid > ((");
        query.push_bind(after.txid);
        query.push("::bigint)::text)::xid8 OR (txid = ((");
        query.push_bind(after.txid);
        query.push("::bigint)::text)::xid8 AND position > ");
        query.push_bind(after.position);
        query.push("))");
        if let Some(organization_id) = &filter.organization_id {
            query.push(" AND metadata->>'organization_id' = ");
            query.push_bind(organization_id);
        }
        if let Some(event_type) = &filter.event_type {
            query.push(" AND event_type = ").push_bind(event_type);
        }
        if let Some(job_id) = &filter.job_id {
            query.push(" AND aggregate_id = ").push_bind(job_id);
        }
        if let Some(from) = filter.from {
            query.push(" AND recorded_at >= ").push_bind(from);
        }
        if let Some(to) = filter.to {
            query.push(" AND recorded_at <= ").push_bind(to);
        }
        query
            .push(" ORDER BY txid, position LIMIT ")
            .push_bind(limit);
        query.build_query_as().fetch_all(self).await
    }
}

impl LogConnection for SqliteConnection {
    // The transaction already holds SQLite's write lock (`BEGIN IMMEDIATE`).
    checkpoint_methods!("");

    async fn events_matching(
        &mut self,
        after: Cursor,
        limit: i64,
        filter: &LogFilter,
    ) -> sqlx::Result<Vec<StoredEvent>> {
        // recorded_at is stored as text in one fixed format, so text order is time order.
        let stamp = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {SQLITE_COLUMNS} FROM events WHERE aggregate_type = "
        ));
        query.push_bind(TaskExecution::TYPE);
        query.push(" AND position > ").push_bind(after.position);
        if let Some(organization_id) = &filter.organization_id {
            query.push(" AND json_extract(metadata, '$.organization_id') = ");
            query.push_bind(organization_id);
        }
        if let Some(event_type) = &filter.event_type {
            query.push(" AND event_type = ").push_bind(event_type);
        }
        if let Some(job_id) = &filter.job_id {
            query.push(" AND aggregate_id = ").push_bind(job_id);
        }
        if let Some(from) = filter.from {
            query.push(" AND recorded_at >= ").push_bind(stamp(from));
        }
        if let Some(to) = filter.to {
            query.push(" AND recorded_at <= ").push_bind(stamp(to));
        }
        query.push(" ORDER BY position LIMIT ").push_bind(limit);
        query.build_query_as().fetch_all(self).await
    }
}

/// Starting a transaction that will write. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails on a stale snapshot.
pub trait WritePool {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = sqlx::Result<Transaction<'static, Self::Database>>> + Send;
}

impl WritePool for sqlx::PgPool {
    type Database = Postgres;
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Postgres>> {
        self.begin().await
    }
}

impl WritePool for sqlx::SqlitePool {
    type Database = Sqlite;
    async fn begin_write(&self) -> sqlx::Result<Transaction<'static, Sqlite>> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

/// A job's events decoded, oldest first.
pub async fn load_job(db: &Db, job_id: &str) -> anyhow::Result<Vec<DecodedEvent>> {
    let columns = match db {
        Db::Postgres(_) => PG_COLUMNS,
        Db::Sqlite(_) => SQLITE_COLUMNS,
    };
    let sql = format!(
        "SELECT {columns} FROM events
         WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence"
    );
    let stored: Vec<StoredEvent> = crate::with_pool!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(TaskExecution::TYPE)
            .bind(job_id)
            .fetch_all(pool)
            .await?
    });
    stored.into_iter().map(DecodedEvent::decode).collect()
}

/// Which events a log read returns besides "after the cursor"; the default is all of them.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only events recorded for this owner (from the event metadata).
    pub organization_id: Option<String>,
    pub event_type: Option<String>,
    pub job_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

static EVERYTHING: LogFilter = LogFilter {
    organization_id: None,
    event_type: None,
    job_id: None,
    from: None,
    to: None,
};

/// Up to `limit` events after `after` that `filter` lets through, in commit order and gap-safe
/// (see the module documentation).
pub async fn feed(
    db: &Db,
    after: Cursor,
    limit: i64,
    filter: &LogFilter,
) -> anyhow::Result<Vec<StoredEvent>> {
    Ok(crate::with_pool!(db, |pool| {
        let mut conn = pool.acquire().await?;
        conn.events_matching(after, limit, filter).await?
    }))
}

impl Cursor {
    /// The cursor as clients see it: opaque, but stable.
    pub fn encode(self) -> String {
        format!("{}-{}", self.txid, self.position)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let (txid, position) = text.split_once('-')?;
        Some(Cursor {
            txid: txid.parse().ok().filter(|t: &i64| *t >= 0)?,
            position: position.parse().ok().filter(|p: &i64| *p >= 0)?,
        })
    }
}

/// Waits (up to `limit`) until every event committed so far can be read in commit order. On
/// PostgreSQL a reader sees only transactions older than every one still running anywhere in
/// the cluster, so a one-shot reader (replay, export) first waits for that horizon to pass the
/// newest committed event; the live subscriptions simply read it on a later turn.
pub async fn wait_until_readable(db: &Db, limit: std::time::Duration) -> anyhow::Result<()> {
    let Db::Postgres(pool) = db else {
        return Ok(());
    };
    let newest: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX((txid::text)::bigint), 0) FROM events")
            .fetch_one(pool)
            .await?;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let horizon: i64 =
            sqlx::query_scalar("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")
                .fetch_one(pool)
                .await?;
        if horizon > newest {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "a long-running transaction (older than transaction {newest}) holds back the \
                 log; end it and try again"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
