//! Reading the event log: a job's own history, and the whole log in commit order from a
//! cursor, as durable subscriptions need it, with every event decoded through the domain's
//! upcasters. The SQL is in [`crate::store::event_log`].

use std::sync::LazyLock;

use assessment_domain::{upcasters, TaskExecution, TaskExecutionEvent};
use assessment_projections::Recorded;
use cqrs_es::persist::{EventUpcaster, SerializedEvent};
use cqrs_es::Aggregate;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

pub use crate::store::event_log::{
    wait_until_readable, Cursor, ExportedEvent, LogFilter, StoredEvent,
};
use crate::store::{self, Db};

impl StoredEvent {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            txid: self.txid,
            position: self.position,
        }
    }

    /// The event in its current shape: older versions pass through the domain's upcasters.
    pub fn decode(&self) -> anyhow::Result<TaskExecutionEvent> {
        decode(
            &self.job_id,
            self.sequence,
            &self.event_type,
            &self.event_version,
            Payload::Stored(&self.payload),
        )
        .map_err(|error| anyhow::anyhow!("event {} {error}", self.position))
    }
}

impl ExportedEvent {
    /// The event in its current shape, as [`StoredEvent::decode`] reads it.
    pub fn decode(&self) -> anyhow::Result<TaskExecutionEvent> {
        decode(
            &self.aggregate_id,
            self.sequence,
            &self.event_type,
            &self.event_version,
            Payload::Parsed(&self.payload),
        )
        .map_err(|error| anyhow::anyhow!("event {} {error}", self.position))
    }
}

/// An event's payload: the stored JSON text, or a document already parsed.
enum Payload<'a> {
    Stored(&'a RawValue),
    Parsed(&'a Value),
}

fn decode(
    job_id: &str,
    sequence: i64,
    event_type: &str,
    event_version: &str,
    payload: Payload<'_>,
) -> anyhow::Result<TaskExecutionEvent> {
    let unreadable = |error: serde_json::Error| {
        anyhow::anyhow!("({event_type} v{event_version}) cannot be read: {error}")
    };
    let upcast = UPCASTERS
        .iter()
        .any(|upcaster| upcaster.can_upcast(event_type, event_version));
    if !upcast {
        // Current events are read straight from their text (or in place): the payload, a
        // whole assessment for `Completed`, is not built as a tree first.
        return match payload {
            Payload::Stored(text) => serde_json::from_str(text.get()),
            Payload::Parsed(value) => TaskExecutionEvent::deserialize(value),
        }
        .map_err(unreadable);
    }
    let payload = match payload {
        Payload::Stored(text) => serde_json::from_str(text.get()).map_err(unreadable)?,
        Payload::Parsed(value) => value.clone(),
    };
    let mut serialized = SerializedEvent::new(
        job_id.to_owned(),
        sequence as usize,
        TaskExecution::TYPE.to_owned(),
        event_type.to_owned(),
        event_version.to_owned(),
        payload,
        Value::Null,
    );
    for upcaster in UPCASTERS.iter() {
        if upcaster.can_upcast(&serialized.event_type, &serialized.event_version) {
            serialized = upcaster.upcast(serialized);
        }
    }
    serde_json::from_value(serialized.payload).map_err(unreadable)
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

/// A job's events decoded, oldest first.
pub async fn load_job(db: &Db, job_id: &str) -> anyhow::Result<Vec<DecodedEvent>> {
    load_job_after(db, job_id, 0).await
}

/// A job's events after its event `sequence`, decoded, oldest first.
pub async fn load_job_after(
    db: &Db,
    job_id: &str,
    sequence: i64,
) -> anyhow::Result<Vec<DecodedEvent>> {
    store::event_log::job_events_after(db, job_id, sequence)
        .await?
        .into_iter()
        .map(DecodedEvent::decode)
        .collect()
}

/// Up to `limit` events after `after` that `filter` lets through, in commit order and gap-safe
/// (see [`crate::store::event_log`]).
pub async fn feed(
    db: &Db,
    after: Cursor,
    limit: i64,
    filter: &LogFilter,
) -> anyhow::Result<Vec<StoredEvent>> {
    let mut tx = db.begin_read().await?;
    let events = store::event_log::read_matching(&mut tx, after, limit, filter).await?;
    tx.rollback().await?;
    Ok(events)
}
