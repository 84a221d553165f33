//! Sending commands to `TaskExecution` aggregates through cqrs-es, on either event store.
//!
//! No cqrs-es queries are registered: its inline dispatch is lost if the process dies right
//! after a commit. Read models follow the log through durable subscriptions instead, which this
//! bus wakes after every commit so they catch up at once.

use std::collections::HashMap;
use std::sync::Arc;

use assessment_domain::{upcasters, TaskExecution, TaskExecutionCommand, TaskExecutionError};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{AggregateError, CqrsFramework};
use postgres_es::{PostgresCqrs, PostgresEventRepository};
use sqlite_es::{SqliteCqrs, SqliteEventRepository};
use tokio::sync::watch;

use crate::store::Db;

enum Framework {
    Postgres(PostgresCqrs<TaskExecution>),
    Sqlite(SqliteCqrs<TaskExecution>),
}

#[derive(Clone)]
pub struct CommandBus {
    framework: Arc<Framework>,
    committed: Arc<watch::Sender<u64>>,
}

pub type CommandError = AggregateError<TaskExecutionError>;

impl CommandBus {
    /// A bus writing to `db`'s event store; `committed` counts the commits, so subscriptions
    /// can wait for the next one.
    pub fn new(db: &Db, committed: Arc<watch::Sender<u64>>) -> Self {
        let framework = match db {
            Db::Postgres(pool) => {
                let repository = PostgresEventRepository::new(pool.clone());
                let store =
                    PersistedEventStore::new_event_store(repository).with_upcasters(upcasters());
                Framework::Postgres(CqrsFramework::new(store, Vec::new(), ()))
            }
            Db::Sqlite(pool) => {
                let repository = SqliteEventRepository::new(pool.clone());
                let store =
                    PersistedEventStore::new_event_store(repository).with_upcasters(upcasters());
                Framework::Sqlite(CqrsFramework::new(store, Vec::new(), ()))
            }
        };
        Self {
            framework: Arc::new(framework),
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
        let metadata = HashMap::from([("organization_id".to_owned(), organization_id.to_owned())]);
        let result = match &*self.framework {
            Framework::Postgres(cqrs) => {
                cqrs.execute_with_metadata(job_id, command, metadata).await
            }
            Framework::Sqlite(cqrs) => cqrs.execute_with_metadata(job_id, command, metadata).await,
        };
        if result.is_ok() {
            self.committed.send_modify(|commits| *commits += 1);
        }
        result
    }
}
