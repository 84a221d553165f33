//! The `events` table, read in commit order. cqrs-es writes it (postgres-es, sqlite-es); this
//! module reads it for the durable subscriptions, the feed, replay and export, and imports
//! exported histories.
//!
//! PostgreSQL assigns positions at insert, so a transaction that inserts early and commits late
//! would slip in behind a reader that ordered by position alone. Readers there order by
//! (writing transaction id, position) and read only transactions older than every one still
//! running that appends events (`events_horizon()`, see its migration: other transactions,
//! however long they stay open, hold nothing back). SQLite has one writer at a time, so its
//! position order is commit order.

use assessment_domain::TaskExecution;
use chrono::{DateTime, Utc};
use cqrs_es::persist::SerializedEvent;
use cqrs_es::Aggregate;
use serde_json::value::RawValue;
use serde_json::Value;
use sqlx::{Postgres, QueryBuilder, Sqlite};

use super::time::StoredTime;
use super::{Db, Tx};
use crate::{with_pool, with_tx};

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
    /// The payload's JSON text as stored, decoded only by whoever needs the event: a
    /// `serde_json::Value` tree of a whole assessment costs more to build than to read.
    #[sqlx(json)]
    pub payload: Box<RawValue>,
    pub metadata: Value,
    #[sqlx(try_from = "StoredTime")]
    pub recorded_at: DateTime<Utc>,
}

/// A place in the commit-ordered log: everything at or before it has been read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct Cursor {
    pub txid: i64,
    pub position: i64,
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

fn columns(db_dialect: &super::Dialect) -> String {
    format!(
        "position, {} AS txid, aggregate_id, sequence, event_type, event_version, payload, \
         metadata, recorded_at",
        db_dialect.txid
    )
}

/// Up to `limit` events after `after` that `filter` lets through, in commit order, never
/// skipping one that commits later with a lower position.
pub async fn read_matching(
    tx: &mut Tx,
    after: Cursor,
    limit: i64,
    filter: &LogFilter,
) -> sqlx::Result<Vec<StoredEvent>> {
    let columns = columns(tx.dialect());
    let organization = tx.dialect().metadata_organization;
    // The same query for both backends but for the cursor condition and the order (see the
    // module documentation).
    macro_rules! read {
        ($conn:ident, $database:ty, $after:expr, $order:literal) => {{
            let mut query =
                QueryBuilder::<$database>::new(format!("SELECT {columns} FROM events WHERE "));
            $after(&mut query);
            if let Some(organization_id) = &filter.organization_id {
                query.push(format!(" AND {organization} = "));
                query.push_bind(organization_id);
            }
            if let Some(event_type) = &filter.event_type {
                query.push(" AND event_type = ").push_bind(event_type);
            }
            if let Some(job_id) = &filter.job_id {
                query.push(" AND aggregate_id = ").push_bind(job_id);
            }
            if let Some(from) = filter.from {
                query
                    .push(" AND recorded_at >= ")
                    .push_bind(StoredTime(from));
            }
            if let Some(to) = filter.to {
                query.push(" AND recorded_at <= ").push_bind(StoredTime(to));
            }
            query.push($order).push_bind(limit);
            query.build_query_as().fetch_all(&mut **$conn).await
        }};
    }
    match tx {
        Tx::Postgres(conn) => {
            read!(
                conn,
                Postgres,
                |query: &mut QueryBuilder<Postgres>| {
                    // A row comparison, so the (txid, position) index starts the scan at the
                    // cursor: an OR of the two conditions scanned the log from its start on every
                    // read (50 ms at 150k events instead of 0.3 ms).
                    query.push("txid < events_horizon() AND (txid, position) > ((");
                    query.push_bind(after.txid);
                    query.push("::bigint)::text::xid8, ");
                    query.push_bind(after.position);
                    query.push(")");
                },
                // The table's columns, not the output's `txid` (a bigint made from the xid8):
                // ordered by that, no index serves the order, and every read sorted the
                // whole log after the cursor.
                " ORDER BY events.txid, events.position LIMIT "
            )
        }
        Tx::Sqlite(conn) => read!(
            conn,
            Sqlite,
            |query: &mut QueryBuilder<Sqlite>| {
                query.push("position > ").push_bind(after.position);
            },
            " ORDER BY position LIMIT "
        ),
    }
}

/// Up to `limit` events after `after`, in commit order.
pub async fn read_after(tx: &mut Tx, after: Cursor, limit: i64) -> sqlx::Result<Vec<StoredEvent>> {
    read_matching(tx, after, limit, &LogFilter::default()).await
}

/// The condition "at or before `end` in commit order" (`end`'s fields are integers, written
/// into the SQL as such).
fn at_or_before(tx: &Tx, end: Cursor) -> String {
    match tx {
        Tx::Postgres(_) => format!(
            "(txid, position) <= ('{}'::xid8, {})",
            end.txid, end.position
        ),
        Tx::Sqlite(_) => format!("position <= {}", end.position),
    }
}

/// The last event that can be read in commit order (no transaction still running could
/// commit one before it); the start of the log if it is empty.
pub async fn last_readable(tx: &mut Tx) -> sqlx::Result<Cursor> {
    let (horizon, order) = match tx {
        Tx::Postgres(_) => (
            " WHERE txid < events_horizon()",
            "events.txid DESC, events.position DESC",
        ),
        Tx::Sqlite(_) => ("", "position DESC"),
    };
    let sql = format!(
        "SELECT {} AS txid, position FROM events{horizon} ORDER BY {order} LIMIT 1",
        tx.dialect().txid
    );
    let last: Option<Cursor> = with_tx!(tx, |conn| {
        sqlx::query_as(&sql).fetch_optional(&mut *conn).await?
    });
    Ok(last.unwrap_or_default())
}

/// Up to `limit` ids of jobs with events at or before `end`, the next ones after `after` in
/// id order (the primary key's order).
pub async fn job_ids(
    tx: &mut Tx,
    after: &str,
    end: Cursor,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    let sql = format!(
        "SELECT DISTINCT aggregate_id FROM events
         WHERE aggregate_type = $1 AND aggregate_id > $2 AND {}
         ORDER BY aggregate_id LIMIT $3",
        at_or_before(tx, end)
    );
    with_tx!(tx, |conn| {
        sqlx::query_scalar(&sql)
            .bind(TaskExecution::TYPE)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await
    })
}

/// The events of these jobs at or before `end`, job after job, each job's oldest first (a
/// job's sequence order is its commit order).
pub async fn jobs_events(
    tx: &mut Tx,
    job_ids: &[String],
    end: Cursor,
) -> sqlx::Result<Vec<StoredEvent>> {
    let head = format!(
        "SELECT {} FROM events WHERE {} AND aggregate_type = ",
        columns(tx.dialect()),
        at_or_before(tx, end)
    );
    with_tx!(tx, |conn| {
        let mut query = QueryBuilder::new(head);
        query.push_bind(TaskExecution::TYPE);
        query.push(" AND aggregate_id IN (");
        let mut ids = query.separated(", ");
        for job_id in job_ids {
            ids.push_bind(job_id);
        }
        query.push(") ORDER BY aggregate_id, sequence");
        query.build_query_as().fetch_all(&mut *conn).await
    })
}

/// Events appended per statement (seven bound values each, well under both backends' limits).
const APPENDED_PER_STATEMENT: usize = 500;

/// Appends these events (serialized by cqrs-es, so the rows are those its own commit would
/// write), a few hundred per statement; a sequence already taken fails the whole transaction.
pub async fn append(tx: &mut Tx, events: &[SerializedEvent]) -> sqlx::Result<()> {
    for chunk in events.chunks(APPENDED_PER_STATEMENT) {
        with_tx!(&mut *tx, |conn| {
            let mut query = QueryBuilder::new(
                "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                 event_version, payload, metadata) ",
            );
            query.push_values(chunk, |mut row, event| {
                row.push_bind(&event.aggregate_type)
                    .push_bind(&event.aggregate_id)
                    .push_bind(event.sequence as i64)
                    .push_bind(&event.event_type)
                    .push_bind(&event.event_version)
                    .push_bind(&event.payload)
                    .push_bind(&event.metadata);
            });
            query.build().execute(&mut *conn).await?;
        });
    }
    Ok(())
}

/// One job's events, oldest first.
pub async fn job_events(db: &Db, job_id: &str) -> sqlx::Result<Vec<StoredEvent>> {
    job_events_after(db, job_id, 0).await
}

/// One job's events after its event `sequence`, oldest first.
pub async fn job_events_after(
    db: &Db,
    job_id: &str,
    sequence: i64,
) -> sqlx::Result<Vec<StoredEvent>> {
    let sql = format!(
        "SELECT {} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3
         ORDER BY sequence",
        columns(db.dialect())
    );
    with_pool!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(TaskExecution::TYPE)
            .bind(job_id)
            .bind(sequence)
            .fetch_all(pool)
            .await
    })
}

/// How many events the store holds (in this transaction's view).
pub async fn count(tx: &mut Tx) -> sqlx::Result<i64> {
    with_tx!(tx, |conn| {
        sqlx::query_scalar("SELECT COUNT(*) FROM events")
            .fetch_one(&mut *conn)
            .await
    })
}

/// How many events of these types the store holds.
pub async fn count_of_types(db: &Db, event_types: &[&str]) -> sqlx::Result<i64> {
    let placeholders: Vec<String> = (1..=event_types.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT COUNT(*) FROM events WHERE event_type IN ({})",
        placeholders.join(", ")
    );
    with_pool!(db, |pool| {
        let mut query = sqlx::query_scalar(&sql);
        for event_type in event_types {
            query = query.bind(*event_type);
        }
        query.fetch_one(pool).await
    })
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
        // Read from the end of the (txid, position) index, not by scanning the log.
        sqlx::query_scalar(
            "SELECT COALESCE((SELECT (txid::text)::bigint FROM events
                              ORDER BY events.txid DESC LIMIT 1), 0)",
        )
        .fetch_one(pool)
        .await?;
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let horizon: i64 = sqlx::query_scalar("SELECT (events_horizon()::text)::bigint")
            .fetch_one(pool)
            .await?;
        if horizon > newest {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "a transaction appending events (older than transaction {newest}) holds back \
                 the log; end it and try again"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A transaction appending events that has stayed open (PostgreSQL): while it is open, every
/// reader of the log waits for it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OpenWriter {
    pub pid: i32,
    pub application_name: String,
    /// Seconds since its transaction began.
    pub age_seconds: f64,
    /// `active`, `idle in transaction`, ...
    pub state: String,
}

/// The transactions of this database that hold the event writers' lock (see the migration
/// `event_writers`) and began at least `older_than` ago, oldest first. None on SQLite, where
/// a writer holds the whole database for the instant of its commit.
pub async fn open_writers(
    db: &Db,
    older_than: std::time::Duration,
) -> sqlx::Result<Vec<OpenWriter>> {
    let Db::Postgres(pool) = db else {
        return Ok(Vec::new());
    };
    sqlx::query_as(
        "SELECT a.pid,
                COALESCE(a.application_name, '') AS application_name,
                EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)::float8 AS age_seconds,
                COALESCE(a.state, '') AS state
         FROM pg_locks l
         JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = 1702260341 AND l.objid = 1 AND l.objsubid = 2
           AND a.xact_start <= clock_timestamp() - make_interval(secs => $1)
         ORDER BY a.xact_start",
    )
    .bind(older_than.as_secs_f64())
    .fetch_all(pool)
    .await
}

/// An event as exported, to be imported with its position and time.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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

/// Inserts exported events with their own positions and times (into an empty store), and
/// returns the cursor of the end of the imported history as this transaction sees it.
pub async fn import(tx: &mut Tx, events: &[ExportedEvent]) -> sqlx::Result<Cursor> {
    let insert = format!(
        "INSERT INTO events (position, aggregate_type, aggregate_id, sequence, event_type,
             event_version, payload, metadata, recorded_at){}
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        tx.dialect().identity_insert
    );
    // The same insert for both backends but for how JSON is encoded.
    macro_rules! insert_all {
        ($conn:ident, $json:expr) => {
            for event in events {
                sqlx::query(&insert)
                    .bind(event.position)
                    .bind(&event.aggregate_type)
                    .bind(&event.aggregate_id)
                    .bind(event.sequence)
                    .bind(&event.event_type)
                    .bind(&event.event_version)
                    .bind($json(&event.payload))
                    .bind($json(&event.metadata))
                    .bind(StoredTime(event.recorded_at))
                    .execute(&mut **$conn)
                    .await?;
            }
        };
    }
    match tx {
        Tx::Postgres(conn) => {
            insert_all!(conn, |json: &Value| json.clone());
            sqlx::query(
                "SELECT setval(pg_get_serial_sequence('events', 'position'),
                               GREATEST((SELECT MAX(position) FROM events), 1))",
            )
            .execute(&mut **conn)
            .await?;
            sqlx::query_as(
                "SELECT (pg_current_xact_id()::text)::bigint AS txid,
                        COALESCE(MAX(position), 0) AS position
                 FROM events",
            )
            .fetch_one(&mut **conn)
            .await
        }
        Tx::Sqlite(conn) => {
            insert_all!(conn, |json: &Value| json.to_string());
            let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
                .fetch_one(&mut **conn)
                .await?;
            Ok(Cursor { txid: 0, position })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(job_id: &str) -> SerializedEvent {
        SerializedEvent::new(
            job_id.to_owned(),
            1,
            TaskExecution::TYPE.to_owned(),
            "LogAppended".to_owned(),
            "1.0".to_owned(),
            serde_json::json!({}),
            serde_json::json!({}),
        )
    }

    async fn readable(db: &Db) -> Vec<String> {
        let mut tx = db.begin_read().await.unwrap();
        let read = read_after(&mut tx, Cursor::default(), 100).await.unwrap();
        tx.rollback().await.unwrap();
        read.into_iter().map(|event| event.job_id).collect()
    }

    /// A transaction of `pool` that has taken a transaction id (and written nothing).
    async fn transaction_with_an_id(pool: &sqlx::PgPool) -> sqlx::Transaction<'static, Postgres> {
        let mut transaction = pool.begin().await.unwrap();
        sqlx::query("SELECT txid_current()")
            .execute(&mut *transaction)
            .await
            .unwrap();
        transaction
    }

    /// An append still open holds back the appends that commit after it began, so a reader
    /// never moves past it; a transaction that appends nothing holds back nothing, however long
    /// it stays open.
    #[tokio::test]
    async fn readers_wait_for_open_appends_and_for_nothing_else() {
        let (db, _guard) = crate::store::scratch_postgres().await;
        let Db::Postgres(pool) = &db else {
            unreachable!()
        };
        // A stranger: a transaction with an id, open for the whole test.
        let stranger = transaction_with_an_id(pool).await;

        let mut open = db.begin_write().await.unwrap();
        append(&mut open, &[row("open")]).await.unwrap();
        let mut later = db.begin_write().await.unwrap();
        append(&mut later, &[row("later")]).await.unwrap();
        later.commit().await.unwrap();
        assert!(
            readable(&db).await.is_empty(),
            "the committed append waits behind the open one"
        );

        open.commit().await.unwrap();
        assert_eq!(readable(&db).await, ["open", "later"]);

        // Events must be a transaction's first rows: a writer that already has a transaction
        // id when it appends could be passed by a reader before it commits.
        let mut late_writer = transaction_with_an_id(pool).await;
        let refused = sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                 event_version, payload, metadata)
             VALUES ('TaskExecution', 'late', 1, 'LogAppended', '1.0', '{}', '{}')",
        )
        .execute(&mut *late_writer)
        .await
        .unwrap_err();
        assert!(refused.to_string().contains("first rows"), "{refused}");
        stranger.rollback().await.unwrap();
    }

    /// Only a transaction that appended events counts as an open writer, named by its pid and
    /// application name, and only once it is older than asked.
    #[tokio::test]
    async fn an_open_append_is_named_and_a_stranger_is_not() {
        let (db, _guard) = crate::store::scratch_postgres().await;
        let Db::Postgres(pool) = &db else {
            unreachable!()
        };
        let stranger = transaction_with_an_id(pool).await;
        let mut open = db.begin_write().await.unwrap();
        append(&mut open, &[row("open")]).await.unwrap();
        let Tx::Postgres(conn) = &mut open else {
            unreachable!()
        };
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut **conn)
            .await
            .unwrap();
        let writers = open_writers(&db, std::time::Duration::ZERO).await.unwrap();
        assert_eq!(writers.iter().map(|w| w.pid).collect::<Vec<_>>(), [pid]);
        assert_eq!(writers[0].application_name, crate::store::APPLICATION_NAME);
        assert!(open_writers(&db, std::time::Duration::from_secs(3600))
            .await
            .unwrap()
            .is_empty());
        open.commit().await.unwrap();
        assert!(open_writers(&db, std::time::Duration::ZERO)
            .await
            .unwrap()
            .is_empty());
        stranger.rollback().await.unwrap();
    }
}
