//! `replay`: folds the whole log again with the same code as the live subscription, and either
//! swaps the result in (`replay`) or compares it with the stored read models (`--verify`).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::process::ExitCode;

use crate::event_log::{self, Cursor, DecodedEvent};
use crate::projector::READ_MODELS;
use crate::read_models::{self, ReadModelChanges};
use crate::store::event_log::StoredEvent;
use crate::store::Db;
use crate::store::{self, checkpoints, Tx};

/// How long a one-shot replay waits for in-flight transactions to finish.
const HORIZON_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Jobs folded per batch: memory stays bounded by a batch's events however long the log.
const JOBS_PER_BATCH: i64 = 500;

/// The log folded a batch of jobs at a time, each job's events up to `end` in its own order
/// (a job's status and assessment depend on its own events only).
struct JobBatches {
    end: Cursor,
    after: String,
    /// Events the read-model subscription parked: left out here as they were there.
    parked: HashSet<i64>,
    /// Events folded so far.
    applied: usize,
}

impl JobBatches {
    fn new(end: Cursor, parked: HashSet<i64>) -> Self {
        Self {
            end,
            after: String::new(),
            parked,
            applied: 0,
        }
    }

    /// The read models of the next batch of jobs, folded afresh; `None` after the last.
    async fn next(&mut self, tx: &mut Tx) -> anyhow::Result<Option<ReadModelChanges>> {
        let jobs = store::event_log::job_ids(tx, &self.after, self.end, JOBS_PER_BATCH).await?;
        let Some(last) = jobs.last() else {
            return Ok(None);
        };
        self.after = last.clone();
        let events = store::event_log::jobs_events(tx, &jobs, self.end).await?;
        self.applied += events
            .iter()
            .filter(|e| !self.parked.contains(&e.position))
            .count();
        fold(events, &self.parked).map(Some)
    }
}

/// The read models of these events, folded afresh in order, each parked one marking its job
/// as the subscription did.
fn fold(events: Vec<StoredEvent>, parked: &HashSet<i64>) -> anyhow::Result<ReadModelChanges> {
    let mut changes = ReadModelChanges::default();
    for stored in events {
        if parked.contains(&stored.position) {
            changes.unreadable(&stored);
        } else {
            changes.apply(&DecodedEvent::decode(stored)?);
        }
    }
    Ok(changes)
}

/// Retries an event the read models parked: its job's views are folded afresh from the log up
/// to the subscription's checkpoint, this event included (other parked events still left
/// out), and it is unparked, in one transaction holding the checkpoint. Fails, changing
/// nothing, if it still cannot be read; false if nothing unresolved is parked there.
pub async fn retry_parked(db: &Db, position: i64) -> anyhow::Result<bool> {
    let mut tx = db.begin_write().await?;
    let checkpoint = checkpoints::lock(&mut tx, READ_MODELS).await?;
    let Some(event) =
        store::parked::unresolved_event(&mut tx, READ_MODELS, position, checkpoint).await?
    else {
        tx.rollback().await?;
        return Ok(false);
    };
    let mut parked = store::parked::positions(&mut tx, READ_MODELS).await?;
    parked.remove(&position);
    let events = store::event_log::jobs_events(&mut tx, &[event.job_id], checkpoint).await?;
    let changes = fold(events, &parked)?;
    read_models::save_changes(&mut tx, &changes).await?;
    store::parked::unpark_in(&mut tx, READ_MODELS, position).await?;
    tx.commit().await?;
    Ok(true)
}

/// Compares the stored read models with a rebuild and hands every difference, one line (or
/// block) each, to `report` as it is found (it must not block: the checkpoint stays locked).
/// Runs in one transaction holding the read-model checkpoint, so the live subscription cannot
/// move the views while they are compared. The rebuild is compared a batch of jobs at a time;
/// only the ids of what it rebuilt are kept, to find stored views that no job of the log
/// accounts for.
pub async fn verify(db: &Db, report: &mut dyn FnMut(String)) -> anyhow::Result<()> {
    event_log::wait_until_readable(db, HORIZON_WAIT).await?;
    let mut tx = db.begin_write().await?;
    let until = checkpoints::lock(&mut tx, READ_MODELS).await?;
    let parked = store::parked::positions(&mut tx, READ_MODELS).await?;
    let mut batches = JobBatches::new(until, parked);
    let (mut rebuilt_jobs, mut rebuilt_assessments) = (HashSet::new(), HashSet::new());
    while let Some(rebuilt) = batches.next(&mut tx).await? {
        compare_with_stored(&mut tx, &rebuilt, report).await?;
        rebuilt_jobs.extend(rebuilt.statuses.into_keys());
        rebuilt_assessments.extend(rebuilt.assessments.into_keys());
    }
    let (stored_jobs, stored_assessments) = store::views::ids(&mut tx).await?;
    tx.rollback().await?;
    not_in_the_log("task execution", stored_jobs, &rebuilt_jobs, report);
    not_in_the_log(
        "assessment",
        stored_assessments,
        &rebuilt_assessments,
        report,
    );
    Ok(())
}

/// Reports how the stored views of a batch's jobs differ from their rebuild.
async fn compare_with_stored(
    tx: &mut Tx,
    rebuilt: &ReadModelChanges,
    report: &mut dyn FnMut(String),
) -> anyhow::Result<()> {
    let jobs: Vec<&str> = rebuilt.statuses.keys().map(String::as_str).collect();
    let stored: BTreeMap<String, _> = store::views::statuses_in(tx, &jobs)
        .await?
        .into_iter()
        .map(|row| Ok((row.job_id.clone(), read_models::status_from_row(row)?)))
        .collect::<anyhow::Result<_>>()?;
    missing_or_different("task execution", &stored, &rebuilt.statuses, report);
    let ids: Vec<&str> = rebuilt.assessments.keys().map(String::as_str).collect();
    let stored: BTreeMap<String, _> = store::views::assessments_in(tx, &ids)
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.assessment_id.clone(),
                read_models::assessment_from_row(row)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    missing_or_different("assessment", &stored, &rebuilt.assessments, report);
    Ok(())
}

/// Reports the rebuilt views the store lacks or holds otherwise.
fn missing_or_different<V: PartialEq + Debug>(
    kind: &str,
    stored: &BTreeMap<String, V>,
    rebuilt: &BTreeMap<String, V>,
    report: &mut dyn FnMut(String),
) {
    for (id, expected) in rebuilt {
        match stored.get(id) {
            None => report(format!("{kind} {id}: missing from the read model")),
            Some(actual) if actual != expected => report(format!(
                "{kind} {id}: read model differs from the log\n  stored:  {actual:?}\n  rebuilt: {expected:?}"
            )),
            Some(_) => {}
        }
    }
}

/// Reports the stored views no rebuild produced, in id order.
fn not_in_the_log(
    kind: &str,
    mut stored: Vec<String>,
    rebuilt: &HashSet<String>,
    report: &mut dyn FnMut(String),
) {
    stored.sort_unstable();
    for id in stored.into_iter().filter(|id| !rebuilt.contains(id)) {
        report(format!("{kind} {id}: in the read model but not in the log"));
    }
}

/// Rebuilds the live read models from the whole log and swaps them in, in one transaction
/// that holds the read-model subscription's checkpoint: safe while the service runs (readers
/// see the old views until the commit, the live subscription waits and goes on from the end).
/// The views are written a batch of jobs at a time, and each batch is read back and compared
/// with what was folded: this proves the views were stored as folded, without folding the log
/// a second time as `--verify` does. Returns the events folded.
pub async fn rebuild_in_place(db: &Db, report: &mut dyn FnMut(String)) -> anyhow::Result<usize> {
    event_log::wait_until_readable(db, HORIZON_WAIT).await?;
    let mut tx = db.begin_write().await?;
    checkpoints::lock(&mut tx, READ_MODELS).await?;
    let end = store::event_log::last_readable(&mut tx).await?;
    let parked = store::parked::positions(&mut tx, READ_MODELS).await?;
    store::views::clear(&mut tx).await?;
    let mut batches = JobBatches::new(end, parked);
    while let Some(changes) = batches.next(&mut tx).await? {
        read_models::save_changes(&mut tx, &changes).await?;
        compare_with_stored(&mut tx, &changes, report).await?;
    }
    checkpoints::save(&mut tx, READ_MODELS, end).await?;
    tx.commit().await?;
    Ok(batches.applied)
}

/// Differences shown in full; past these only their number is told, so that a log whose
/// every view differs (after a change to a projection, say) is not held in memory.
const DIFFERENCES_SHOWN: usize = 200;

pub async fn run(db: &Db, verify_only: bool) -> anyhow::Result<ExitCode> {
    // Kept until the transaction has ended: printing into a slow pipe must not hold the
    // checkpoint's lock (on SQLite, the whole database's).
    let mut shown = Vec::new();
    let mut found = 0usize;
    let mut report = |difference: String| {
        if shown.len() < DIFFERENCES_SHOWN {
            shown.push(difference);
        }
        found += 1;
    };
    let applied = if verify_only {
        verify(db, &mut report).await?;
        None
    } else {
        Some(rebuild_in_place(db, &mut report).await?)
    };
    for difference in &shown {
        println!("{difference}");
    }
    if found > shown.len() {
        println!("... and {} more", found - shown.len());
    }
    if let Some(applied) = applied {
        println!("read models rebuilt from {applied} events");
    }
    // Parked events are left out of the rebuild as the subscription left them out of the
    // views; until an operator resolves them, a verification says so and fails.
    let unresolved = store::parked::unresolved(db).await?;
    for event in &unresolved {
        println!(
            "event {} ({}) of job {} is parked by {}: {}",
            event.position, event.event_type, event.job_id, event.subscription, event.error
        );
    }
    if !unresolved.is_empty() {
        println!(
            "{} parked event(s) left unread; `assessment-service parked list` shows them, \
             `parked skip` resolves one",
            unresolved.len()
        );
    }
    if found == 0 && (unresolved.is_empty() || !verify_only) {
        println!("read models match the event log");
        Ok(ExitCode::SUCCESS)
    } else if found == 0 {
        println!("read models match the event log, but for the parked events");
        Ok(ExitCode::FAILURE)
    } else {
        println!("{found} difference(s) between the read models and the event log");
        Ok(ExitCode::FAILURE)
    }
}
