//! The database behind the service: SQLite (embedded default) or PostgreSQL, chosen by URL,
//! and the SQL that reads and writes it, one module per table family.
//!
//! One mechanism serves both backends: a query is written once and compiled for each pool
//! ([`with_pool!`]) or transaction ([`Tx`], [`with_tx!`]); the few fragments that differ (row
//! locks, the writing transaction's id) come from the backend's [`Dialect`], every time is
//! stored one way ([`time::StoredTime`]), and the
//! commit-ordered log read and the history import, whose SQL differs more, match on the
//! backend inside [`event_log`]. Rows are `FromRow` structs; the job-queue and webhook-message
//! states are enums ([`job_queue::JobState`], [`webhook_messages::MessageState`]).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

pub mod api_keys;
pub mod checkpoints;
pub mod event_log;
pub mod idempotency_keys;
pub mod job_queue;
pub mod leadership;
pub mod parked;
pub mod time;
pub mod views;
pub mod webhook_messages;
pub mod webhook_secrets;
pub mod webhook_targets;

/// Where a database's schema stands against this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// No migration has run: a brand-new database.
    New,
    Current,
    /// These migrations of this build have not run yet.
    Behind(Vec<i64>),
    /// These applied migrations are not this build's: a newer build migrated the database.
    Newer(Vec<i64>),
    /// This migration failed partway.
    Broken(i64),
    /// This migration ran in another form than this build's: its file was edited since.
    Edited(i64),
}

/// A row of sqlx's migration table.
#[derive(Debug, sqlx::FromRow)]
struct AppliedMigration {
    version: i64,
    success: bool,
    checksum: Vec<u8>,
}

fn versions(list: &[i64]) -> String {
    list.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the embedded default keeps its file when `DATABASE_URL` is unset.
pub const DEFAULT_SQLITE_URL: &str = "sqlite://data/assessments.sqlite";

/// How long PostgreSQL lets one of the service's sessions sit idle inside a transaction
/// before ending it. The service's transactions never wait on anything but the database.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// The `application_name` of the service's PostgreSQL sessions, as `pg_stat_activity` and the
/// warning about a long open append show it.
pub const APPLICATION_NAME: &str = "assessment-service";

#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Runs the same block against whichever pool `db` holds; `$pool` is bound to it.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Postgres($pool) => $body,
            $crate::store::Db::Sqlite($pool) => $body,
        }
    };
}

/// A transaction on either backend. Store functions that must share one (a subscription's
/// reads, view writes and checkpoint) take `&mut Tx`.
pub enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Runs the same block on whichever transaction `tx` holds; `$conn` is bound to its
/// connection (`&mut *$conn` is an executor). The block is compiled once per backend, as with
/// [`with_pool!`]; what differs between the two is in [`Dialect`].
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Postgres(transaction) => {
                let $conn: &mut sqlx::PgConnection = &mut *transaction;
                $body
            }
            $crate::store::Tx::Sqlite(transaction) => {
                let $conn: &mut sqlx::SqliteConnection = &mut *transaction;
                $body
            }
        }
    };
}

/// The SQL that differs between the backends.
#[derive(Debug)]
pub struct Dialect {
    /// Appended to a SELECT that must lock its row until the transaction ends (SQLite's write
    /// transaction holds the whole database already).
    pub lock_row: &'static str,
    /// The writing transaction's id as a bigint (0 on SQLite, whose order is commit order).
    pub txid: &'static str,
    /// The organization an event was recorded for, from its JSON metadata.
    pub metadata_organization: &'static str,
    /// Lets an insert set the events' identity column (the position) itself.
    pub identity_insert: &'static str,
    /// Appended to the subquery that picks a job to claim, so concurrent claimers pass over
    /// each other's rows (SQLite has one writer at a time).
    pub skip_locked: &'static str,
    /// The database's time, in the store's form of a time (see [`time`]). PostgreSQL's is the
    /// transaction's start (`now()` is stable, so a comparison with it can use an index).
    pub now: &'static str,
}

const POSTGRES: Dialect = Dialect {
    lock_row: " FOR UPDATE",
    txid: "(txid::text)::bigint",
    metadata_organization: "metadata->>'organization_id'",
    identity_insert: " OVERRIDING SYSTEM VALUE",
    skip_locked: " FOR UPDATE SKIP LOCKED",
    now: "now()",
};

const SQLITE: Dialect = Dialect {
    lock_row: "",
    txid: "0",
    metadata_organization: "json_extract(metadata, '$.organization_id')",
    identity_insert: "",
    skip_locked: "",
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
};

impl Tx {
    pub fn dialect(&self) -> &'static Dialect {
        match self {
            Tx::Postgres(_) => &POSTGRES,
            Tx::Sqlite(_) => &SQLITE,
        }
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        match self {
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::Sqlite(tx) => tx.rollback().await,
        }
    }
}

impl Db {
    /// A transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction never fails on a stale snapshot.
    pub async fn begin_write(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// A transaction that only reads.
    pub async fn begin_read(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
        })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> sqlx::Result<()> {
        let _: i32 = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT 1").fetch_one(pool).await?
        });
        Ok(())
    }

    pub fn dialect(&self) -> &'static Dialect {
        match self {
            Db::Postgres(_) => &POSTGRES,
            Db::Sqlite(_) => &SQLITE,
        }
    }

    /// Connects to `url` (`postgres://…` or `sqlite://…`), creating a SQLite file and its
    /// folder if needed.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // A transaction of ours left idle (a stuck task, a lost client) is ended by the
            // server: an open append would hold back every reader of the log.
            let mut options = PgConnectOptions::from_str(url)
                .context("invalid PostgreSQL URL")?
                .options([
                    (
                        "idle_in_transaction_session_timeout",
                        IDLE_IN_TRANSACTION_TIMEOUT,
                    ),
                    // The server finds a peer that vanished without closing its socket (a
                    // host powered off, a cut network) within about 11 s, ending its session
                    // and with it any subscription lead it held (see `leadership`).
                    ("tcp_keepalives_idle", "5"),
                    ("tcp_keepalives_interval", "2"),
                    ("tcp_keepalives_count", "3"),
                ]);
            // Named, unless the URL names it (`?application_name=`), so an operator can tell
            // our sessions, and the warning about a long open append, which one is ours.
            if options.get_application_name().is_none() {
                options = options.application_name(APPLICATION_NAME);
            }
            // No ping before each use (sqlx's default): it is a round trip on every query. A
            // connection the server dropped fails its next query and leaves the pool.
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(30))
                .test_before_acquire(false)
                .after_release(|conn, _| Box::pin(async move { Ok(!in_transaction(conn)) }))
                .connect_with(options)
                .await
                .context("cannot connect to PostgreSQL")?;
            Ok(Db::Postgres(pool))
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .context("invalid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(30));
            if let Some(folder) = options.get_filename().parent() {
                if !folder.as_os_str().is_empty() && folder != Path::new("") {
                    std::fs::create_dir_all(folder)
                        .with_context(|| format!("cannot create {}", folder.display()))?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(30))
                .after_release(|conn, _| Box::pin(async move { Ok(!in_transaction(conn)) }))
                .connect_with(options)
                .await
                .context("cannot open the SQLite database")?;
            Ok(Db::Sqlite(pool))
        } else {
            anyhow::bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")
        }
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        match self {
            Db::Postgres(_) => sqlx::migrate!("./migrations/postgres"),
            Db::Sqlite(_) => sqlx::migrate!("./migrations/sqlite"),
        }
    }

    /// Applies the backend's migrations that have not run yet.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = self.migrator();
        with_pool!(self, |pool| migrator.run(pool).await).context("database migration failed")
    }

    /// Where the database's schema stands against the migrations of this build.
    pub async fn schema(&self) -> anyhow::Result<Schema> {
        let tracked: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar(match self {
                Db::Postgres(_) => {
                    "SELECT COUNT(*) FROM pg_tables \
                     WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'"
                }
                Db::Sqlite(_) => {
                    "SELECT COUNT(*) FROM sqlite_master \
                     WHERE type = 'table' AND name = '_sqlx_migrations'"
                }
            })
            .fetch_one(pool)
            .await?
        });
        if tracked == 0 {
            return Ok(Schema::New);
        }
        let applied: Vec<AppliedMigration> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(pool)
            .await?
        });
        let migrator = self.migrator();
        if let Some(broken) = applied.iter().find(|m| !m.success) {
            return Ok(Schema::Broken(broken.version));
        }
        let unknown: Vec<i64> = applied
            .iter()
            .map(|m| m.version)
            .filter(|version| !migrator.iter().any(|known| known.version == *version))
            .collect();
        if !unknown.is_empty() {
            return Ok(Schema::Newer(unknown));
        }
        let edited = applied.iter().find(|m| {
            migrator
                .iter()
                .any(|known| known.version == m.version && *known.checksum != *m.checksum)
        });
        if let Some(edited) = edited {
            return Ok(Schema::Edited(edited.version));
        }
        let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        let pending: Vec<i64> = known
            .into_iter()
            .filter(|version| !applied.iter().any(|m| m.version == *version))
            .collect();
        Ok(if applied.is_empty() {
            Schema::New
        } else if pending.is_empty() {
            Schema::Current
        } else {
            Schema::Behind(pending)
        })
    }

    /// Makes sure the schema is this build's, for every command but `migrate`: a brand-new
    /// database gets it at once (so the first `serve` just works), and anything else that is
    /// not current stops the command with what to run.
    pub async fn require_current_schema(&self) -> anyhow::Result<()> {
        match self.schema().await? {
            Schema::Current => Ok(()),
            Schema::New => {
                tracing::info!(
                    database = self.backend_name(),
                    "new database: creating the schema"
                );
                self.migrate().await
            }
            Schema::Behind(pending) => anyhow::bail!(
                "the database schema is out of date: {} migration(s) of this build have not \
                 run ({}). Run `assessment-service migrate` with the same DATABASE_URL, then \
                 start again",
                pending.len(),
                versions(&pending)
            ),
            Schema::Newer(unknown) => anyhow::bail!(
                "the database was migrated by a newer build (unknown migration(s) {}); run \
                 that build or a newer one",
                versions(&unknown)
            ),
            Schema::Edited(version) => anyhow::bail!(
                "migration {version} ran on this database in another form than this build's \
                 (its file was edited after it was applied); restore the file as it was"
            ),
            Schema::Broken(version) => anyhow::bail!(
                "migration {version} failed partway on this database; fix it by hand (see \
                 the _sqlx_migrations table), then run `assessment-service migrate`"
            ),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Postgres(_) => "postgres",
            Db::Sqlite(_) => "sqlite",
        }
    }
}

/// Whether a connection comes back to the pool inside a transaction: a future dropped while
/// it began one (a client that hung up, a task cancelled) leaves it so, and the next user
/// would fail to begin its own ("non-zero transaction depth") or, on PostgreSQL, run inside the
/// stale one. Such a connection is closed instead of reused.
fn in_transaction<C: sqlx::Connection>(conn: &C) -> bool {
    let open = conn.is_in_transaction();
    if open {
        tracing::warn!("a connection came back inside a transaction; it is closed, not reused");
    }
    open
}

/// A migrated SQLite database in a folder that is removed when the returned guard drops, for
/// unit tests of the store and of what builds on it.
#[cfg(test)]
pub async fn scratch_database() -> (Db, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/scratch.sqlite", folder.path().display());
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    (db, folder)
}

/// A migrated database of its own on the tests' PostgreSQL server (`TEST_POSTGRES_URL`, by
/// default the local one), dropped when the guard drops, for store code whose PostgreSQL path
/// differs from SQLite's.
#[cfg(test)]
pub async fn scratch_postgres() -> (Db, ScratchPostgres) {
    let admin_url = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let name = format!("assessment_unit_{}", uuid::Uuid::new_v4().simple());
    let admin = PgPool::connect(&admin_url)
        .await
        .expect("connect to the tests' PostgreSQL server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (server, _) = admin_url.rsplit_once('/').unwrap();
    let db = Db::connect(&format!("{server}/{name}")).await.unwrap();
    db.migrate().await.unwrap();
    (db, ScratchPostgres { admin_url, name })
}

/// Drops a [`scratch_postgres`] database.
#[cfg(test)]
pub struct ScratchPostgres {
    admin_url: String,
    name: String,
}

#[cfg(test)]
impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, so the cleanup gets a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) = PgPool::connect(&url).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(&drop).execute(&admin).await;
                }
            });
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_services_postgresql_sessions_end_transactions_left_idle() {
        let (db, _guard) = scratch_postgres().await;
        let Db::Postgres(pool) = &db else {
            unreachable!()
        };
        let timeout: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(timeout, "1min");
    }

    #[tokio::test]
    async fn a_new_database_gets_the_schema_and_one_behind_is_refused_with_what_to_run() {
        let folder = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/schema.sqlite", folder.path().display());
        let db = Db::connect(&url).await.unwrap();
        assert_eq!(db.schema().await.unwrap(), Schema::New);
        db.require_current_schema().await.unwrap();
        assert_eq!(db.schema().await.unwrap(), Schema::Current);

        let latest = db.migrator().iter().map(|m| m.version).max().unwrap();
        with_pool!(&db, |pool| {
            sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
                .bind(latest)
                .execute(pool)
                .await
                .unwrap()
                .rows_affected()
        });
        assert_eq!(db.schema().await.unwrap(), Schema::Behind(vec![latest]));
        let refusal = db.require_current_schema().await.unwrap_err().to_string();
        assert!(refusal.contains("assessment-service migrate"), "{refusal}");
        assert!(refusal.contains(&latest.to_string()), "{refusal}");

        with_pool!(&db, |pool| {
            sqlx::query(
                "UPDATE _sqlx_migrations SET version = 99990101000000
                 WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
            )
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
        });
        let refusal = db.require_current_schema().await.unwrap_err().to_string();
        assert!(refusal.contains("newer build"), "{refusal}");
    }
}
