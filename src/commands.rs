//! Sending commands to `TaskExecution` aggregates. The history is loaded through cqrs-es's
//! event store (postgres-es or sqlite-es, with the domain's upcasters); a command is handled
//! against the aggregate and its events appended at the next sequences as the rows cqrs-es
//! would write (serialized by it), all of a commit in one statement; a writer that raced ahead
//! makes it a conflict (optimistic concurrency). A worker running a job keeps the aggregate in
//! memory ([`JobWriter`]) and commits a step's events together, without loading the history
//! again.
//!
//! No cqrs-es query is registered: its inline dispatch is lost if the process dies right after
//! a commit. Read models follow the log through durable subscriptions instead, which the bus
//! wakes after every commit so they catch up at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use assessment_domain::{
    upcasters, TaskExecution, TaskExecutionCommand, TaskExecutionError, TaskExecutionEvent,
};
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventStore, SerializedEvent};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use tokio::sync::{mpsc, oneshot, watch};

use crate::store::{self, Db};

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
}

#[derive(Clone)]
pub struct CommandBus {
    store: Arc<Store>,
    db: Db,
    committed: Arc<watch::Sender<u64>>,
    /// The committer of new jobs, started by the first [`CommandBus::create`] (and again
    /// should it ever have stopped).
    creations: Arc<Mutex<Option<mpsc::Sender<Creation>>>>,
}

/// A new job, its first events recorded, waiting to be committed together with others.
struct Creation {
    writer: JobWriter,
    done: oneshot::Sender<Result<(), CommandError>>,
}

/// New jobs committed in one transaction at most; and how many may wait for the next.
const CREATIONS_PER_COMMIT: usize = 256;
const CREATIONS_WAITING: usize = 1024;

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
            db: db.clone(),
            committed,
            creations: Arc::default(),
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
    ///
    /// New jobs that arrive while another commit is under way are committed together, in one
    /// transaction (group commit): each job's events are rows of their own, as a commit of its
    /// own would write them, and each caller hears back only once its job is durable.
    pub async fn create(
        &self,
        job_id: &str,
        organization_id: &str,
        command: TaskExecutionCommand,
    ) -> Result<(), CommandError> {
        let mut writer = self.writer(job_id, organization_id, TaskExecution::default(), 0);
        writer.record(command).await?;
        if writer.unwritten.is_empty() {
            return Ok(());
        }
        let committer = {
            let mut running = self.creations.lock().unwrap_or_else(|e| e.into_inner());
            match running.as_ref() {
                Some(sender) if !sender.is_closed() => sender.clone(),
                _ => {
                    let (sender, inbox) = mpsc::channel(CREATIONS_WAITING);
                    tokio::spawn(commit_creations(self.clone(), inbox));
                    running.insert(sender).clone()
                }
            }
        };
        let (done, outcome) = oneshot::channel();
        let creation = Creation { writer, done };
        let stopped = || AggregateError::UnexpectedError("the job committer has stopped".into());
        committer.send(creation).await.map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
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
        let rows = self
            .rows()
            .map_err(|error| AggregateError::UnexpectedError(error.into()))?;
        commit_rows(&self.bus.db, &rows)
            .await
            .map_err(append_error)?;
        self.committed_sequence += self.unwritten.len();
        self.unwritten.clear();
        self.bus.committed.send_modify(|commits| *commits += 1);
        Ok(())
    }

    /// The unwritten events as the rows cqrs-es writes for them, at the sequences after the
    /// last committed one.
    fn rows(&self) -> Result<Vec<SerializedEvent>, cqrs_es::persist::PersistenceError> {
        self.unwritten
            .iter()
            .enumerate()
            .map(|(at, event)| {
                let envelope = EventEnvelope::<TaskExecution> {
                    aggregate_id: self.job_id.clone(),
                    sequence: self.committed_sequence + at + 1,
                    payload: event.clone(),
                    metadata: self.metadata.clone(),
                };
                SerializedEvent::try_from(&envelope)
            })
            .collect()
    }
}

/// A failed append as cqrs-es's repositories report it: a sequence already taken is a conflict
/// (another writer got there first), a lost connection is the database's, the rest unexpected.
fn append_error(error: sqlx::Error) -> CommandError {
    match &error {
        sqlx::Error::Database(refusal) if refusal.is_unique_violation() => {
            AggregateError::AggregateConflict
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed => AggregateError::DatabaseConnectionError(Box::new(error)),
        _ => AggregateError::UnexpectedError(Box::new(error)),
    }
}

/// Commits new jobs as they come: whatever waits when a commit starts goes into it.
async fn commit_creations(bus: CommandBus, mut inbox: mpsc::Receiver<Creation>) {
    let mut batch = Vec::with_capacity(CREATIONS_PER_COMMIT);
    while inbox.recv_many(&mut batch, CREATIONS_PER_COMMIT).await > 0 {
        let together = match batch.len() {
            1 => None,
            _ => Some(commit_together(&bus.db, &batch).await),
        };
        match together {
            Some(Ok(())) => {
                bus.committed.send_modify(|commits| *commits += 1);
                for creation in batch.drain(..) {
                    let _ = creation.done.send(Ok(()));
                }
            }
            Some(Err(error)) if !refused_by_a_row(&error) => {
                // The database, not one job, failed (unreachable, or the commit's outcome
                // unknown): every job of the batch hears it at once, as each would have alone,
                // and none is written again behind a commit that may have landed.
                tracing::warn!(%error, jobs = batch.len(), "new jobs could not be committed");
                let message = error.to_string();
                for creation in batch.drain(..) {
                    let _ = creation
                        .done
                        .send(Err(AggregateError::DatabaseConnectionError(
                            message.clone().into(),
                        )));
                }
            }
            failed => {
                if failed.is_some() {
                    // A row refused (a job id taken) refuses the whole batch: each job on its
                    // own says which.
                    tracing::debug!(
                        jobs = batch.len(),
                        "group commit refused; committing one by one"
                    );
                }
                // Each in a commit of its own, as every other command goes.
                for mut creation in batch.drain(..) {
                    let outcome = creation.writer.flush().await;
                    let _ = creation.done.send(outcome);
                }
            }
        }
    }
}

/// Whether the database refused a row (a key already taken, a check failed), as opposed to
/// failing as a whole.
fn refused_by_a_row(error: &anyhow::Error) -> bool {
    matches!(
        error.downcast_ref::<sqlx::Error>(),
        Some(sqlx::Error::Database(refusal))
            if refusal.is_unique_violation() || refusal.is_check_violation()
    )
}

/// One transaction for every job of the batch, a few hundred rows per statement.
async fn commit_together(db: &Db, batch: &[Creation]) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for Creation { writer, .. } in batch {
        rows.extend(writer.rows()?);
    }
    Ok(commit_rows(db, &rows).await?)
}

/// Appends `rows` in a transaction of their own.
async fn commit_rows(db: &Db, rows: &[SerializedEvent]) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    store::event_log::append(&mut tx, rows).await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use assessment_domain::{GenerationOptions, JobRequested};

    use super::*;
    use crate::event_log;
    use crate::store::scratch_database;

    fn request(job_id: &str) -> TaskExecutionCommand {
        TaskExecutionCommand::RequestAssessment(Box::new(JobRequested {
            job_id: job_id.to_owned(),
            organization_id: "acme".to_owned(),
            job_role: "Backend Engineer".to_owned(),
            job_description: "Build REST APIs in Python.".to_owned(),
            cutoff: 60,
            notification_url: None,
            options: GenerationOptions::default(),
            api_key_id: None,
            requested_at: chrono::Utc::now(),
        }))
    }

    /// Creates every job at once (the test runtime runs them in turn, so all of them wait for
    /// the committer before it runs) and returns each one's outcome.
    async fn create_all(bus: &CommandBus, ids: &[String]) -> Vec<Result<(), CommandError>> {
        let mut creations = tokio::task::JoinSet::new();
        for (at, id) in ids.iter().enumerate() {
            let (bus, id) = (bus.clone(), id.clone());
            creations.spawn(async move { (at, bus.create(&id, "acme", request(&id)).await) });
        }
        let mut outcomes: Vec<_> = creations.join_all().await;
        outcomes.sort_by_key(|(at, _)| *at);
        outcomes.into_iter().map(|(_, outcome)| outcome).collect()
    }

    #[tokio::test]
    async fn new_jobs_that_arrive_together_commit_together_and_each_hears_its_own_outcome() {
        let (db, _folder) = scratch_database().await;
        let (committed, commits) = watch::channel(0);
        let bus = CommandBus::new(&db, Arc::new(committed));
        let first: Vec<String> = (0..30).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let outcomes = create_all(&bus, &first).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
        assert_eq!(*commits.borrow(), 1, "30 new jobs, one transaction");
        for id in &first {
            let events = event_log::load_job(&db, id).await.unwrap();
            assert_eq!(events.len(), 1, "{id}");
            assert_eq!(events[0].stored.sequence, 1);
            assert_eq!(events[0].stored.metadata["organization_id"], "acme");
            assert!(matches!(
                events[0].event,
                TaskExecutionEvent::JobRequested(ref requested) if &requested.job_id == id
            ));
        }
        // A batch holding a job that exists already: that one is refused, the others land.
        let mut second: Vec<String> = (0..9).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        second.insert(4, first[7].clone());
        let outcomes = create_all(&bus, &second).await;
        for (id, outcome) in second.iter().zip(&outcomes) {
            if id == &first[7] {
                // A conflict: the id's first sequence is taken.
                assert!(outcome.is_err(), "{outcome:?}");
            } else {
                assert!(outcome.is_ok(), "{id}: {outcome:?}");
                assert_eq!(event_log::load_job(&db, id).await.unwrap().len(), 1);
            }
        }
        assert_eq!(event_log::load_job(&db, &first[7]).await.unwrap().len(), 1);
    }
}
