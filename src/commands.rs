//! Sending commands to `TaskExecution` aggregates through cqrs-es's event store (postgres-es
//! or sqlite-es, with the domain's upcasters). A command is handled against the aggregate and
//! its events committed at the next sequences; a writer that raced ahead makes it a conflict
//! (optimistic concurrency). A worker running a job keeps the aggregate in memory
//! ([`JobWriter`]) and commits a step's events together, without loading the history again.
//!
//! No cqrs-es query is registered: its inline dispatch is lost if the process dies right after
//! a commit. Read models follow the log through durable subscriptions instead, which the bus
//! wakes after every commit so they catch up at once.

use std::collections::HashMap;
use std::sync::Arc;

use assessment_domain::{
    upcasters, TaskExecution, TaskExecutionCommand, TaskExecutionError, TaskExecutionEvent,
};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use tokio::sync::watch;

use crate::store::Db;

pub type CommandError = AggregateError<TaskExecutionError>;
type Context = EventStoreAggregateContext<TaskExecution>;

enum Store {
    Postgres(PersistedEventStore<PostgresEventRepository, TaskExecution>),
    Sqlite(PersistedEventStore<SqliteEventRepository, TaskExecution>),
}

impl Store {
    async fn load(&self, job_id: &str) -> Result<Context, CommandError> {
        match self {
            Store::Postgres(store) => store.load_aggregate(job_id).await,
            Store::Sqlite(store) => store.load_aggregate(job_id).await,
        }
    }

    async fn commit(
        &self,
        events: Vec<TaskExecutionEvent>,
        context: Context,
        metadata: HashMap<String, String>,
    ) -> Result<(), CommandError> {
        match self {
            Store::Postgres(store) => store.commit(events, context, metadata).await,
            Store::Sqlite(store) => store.commit(events, context, metadata).await,
        }
        .map(|_| ())
    }
}

#[derive(Clone)]
pub struct CommandBus {
    store: Arc<Store>,
    committed: Arc<watch::Sender<u64>>,
}

impl CommandBus {
    /// A bus writing to `db`'s event store; `committed` counts the commits, so subscriptions
    /// can wait for the next one.
    pub fn new(db: &Db, committed: Arc<watch::Sender<u64>>) -> Self {
        let store = match db {
            Db::Postgres(pool) => Store::Postgres(
                PersistedEventStore::new_event_store(PostgresEventRepository::new(pool.clone()))
                    .with_upcasters(upcasters()),
            ),
            Db::Sqlite(pool) => Store::Sqlite(
                PersistedEventStore::new_event_store(SqliteEventRepository::new(pool.clone()))
                    .with_upcasters(upcasters()),
            ),
        };
        Self {
            store: Arc::new(store),
            committed,
        }
    }

    /// Executes `command` on job `job_id` owned by `organization_id`; the owner is also
    /// recorded in each event's metadata.
    pub async fn execute(
        &self,
        job_id: &str,
        organization_id: &str,
        command: TaskExecutionCommand,
    ) -> Result<(), CommandError> {
        let context = self.store.load(job_id).await?;
        let mut writer = self.writer(
            job_id,
            organization_id,
            context.aggregate,
            context.current_sequence,
        );
        writer.record(command).await?;
        writer.flush().await
    }

    /// Executes the command that creates job `job_id`, which has no history yet (a fresh id):
    /// nothing is read, and a job of that id recorded meanwhile makes it a conflict.
    pub async fn create(
        &self,
        job_id: &str,
        organization_id: &str,
        command: TaskExecutionCommand,
    ) -> Result<(), CommandError> {
        let mut writer = self.writer(job_id, organization_id, TaskExecution::default(), 0);
        writer.record(command).await?;
        writer.flush().await
    }

    /// A writer for job `job_id`, whose `events` events the caller has folded into `aggregate`.
    pub fn writer(
        &self,
        job_id: &str,
        organization_id: &str,
        aggregate: TaskExecution,
        events: usize,
    ) -> JobWriter {
        JobWriter {
            bus: self.clone(),
            job_id: job_id.to_owned(),
            metadata: HashMap::from([("organization_id".to_owned(), organization_id.to_owned())]),
            aggregate,
            committed_sequence: events,
            unwritten: Vec::new(),
        }
    }
}

/// One job's aggregate, kept in memory by whoever writes to it: commands are handled as they
/// come, and their events committed together, in one transaction, on [`JobWriter::flush`].
pub struct JobWriter {
    bus: CommandBus,
    job_id: String,
    metadata: HashMap<String, String>,
    aggregate: TaskExecution,
    /// The sequence of the job's last committed event.
    committed_sequence: usize,
    unwritten: Vec<TaskExecutionEvent>,
}

impl JobWriter {
    /// Handles `command` against the aggregate as it stands (committed or not), keeping its
    /// events for the next flush. A refused command changes nothing.
    pub async fn record(&mut self, command: TaskExecutionCommand) -> Result<(), CommandError> {
        let mut next = self.aggregate.clone();
        let sink = EventSink::default();
        next.handle(command, &(), &sink)
            .await
            .map_err(AggregateError::UserError)?;
        self.unwritten.extend(sink.collect().await);
        self.aggregate = next;
        Ok(())
    }

    /// Commits the recorded events in one transaction, at the sequences after the last
    /// committed one. After a conflict the writer is stale and must not be used again.
    pub async fn flush(&mut self) -> Result<(), CommandError> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let events = std::mem::take(&mut self.unwritten);
        let count = events.len();
        let context = Context {
            aggregate_id: self.job_id.clone(),
            aggregate: self.aggregate.clone(),
            current_sequence: self.committed_sequence,
            current_snapshot: None,
        };
        self.bus
            .store
            .commit(events, context, self.metadata.clone())
            .await?;
        self.committed_sequence += count;
        self.bus.committed.send_modify(|commits| *commits += 1);
        Ok(())
    }
}
