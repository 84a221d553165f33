//! `replay`: folds the whole log again with the same code as the live subscription, and either
//! swaps the result in (`replay`) or compares it with the stored read models (`--verify`).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::process::ExitCode;

use crate::event_log::{self, Cursor, DecodedEvent};
use crate::projector::READ_MODELS;
use crate::read_models::{self, ReadModelChanges};
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
    /// Events folded so far.
    applied: usize,
}

impl JobBatches {
    fn new(end: Cursor) -> Self {
        Self {
            end,
            after: String::new(),
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
        let mut changes = ReadModelChanges::default();
        for stored in store::event_log::jobs_events(tx, &jobs, self.end).await? {
            changes.apply(&DecodedEvent::decode(stored)?);
            self.applied += 1;
        }
        Ok(Some(changes))
    }
}

/// Compares the stored read models with a rebuild; every difference is one line (or block).
/// Runs in one transaction holding the read-model checkpoint, so the live subscription cannot
/// move the views while they are compared. The rebuild is compared a batch of jobs at a time.
pub async fn verify(db: &Db) -> anyhow::Result<Vec<String>> {
    event_log::wait_until_readable(db, HORIZON_WAIT).await?;
    let mut tx = db.begin_write().await?;
    let until = checkpoints::lock(&mut tx, READ_MODELS).await?;
    let mut batches = JobBatches::new(until);
    let (mut status_differences, mut assessment_differences) = (Vec::new(), Vec::new());
    let (mut rebuilt_jobs, mut rebuilt_assessments) = (HashSet::new(), HashSet::new());
    while let Some(rebuilt) = batches.next(&mut tx).await? {
        let (statuses, assessments) = compare_with_stored(&mut tx, &rebuilt).await?;
        status_differences.extend(statuses);
        assessment_differences.extend(assessments);
        rebuilt_jobs.extend(rebuilt.statuses.into_keys());
        rebuilt_assessments.extend(rebuilt.assessments.into_keys());
    }
    let (stored_jobs, stored_assessments) = store::views::ids(&mut tx).await?;
    tx.rollback().await?;
    let mut found = status_differences;
    found.extend(assessment_differences);
    found.extend(not_in_the_log("task execution", stored_jobs, &rebuilt_jobs));
    found.extend(not_in_the_log(
        "assessment",
        stored_assessments,
        &rebuilt_assessments,
    ));
    Ok(found)
}

/// How the stored views of a batch's jobs differ from their rebuild: (statuses,
/// assessments).
async fn compare_with_stored(
    tx: &mut Tx,
    rebuilt: &ReadModelChanges,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let jobs: Vec<&str> = rebuilt.statuses.keys().map(String::as_str).collect();
    let stored: BTreeMap<String, _> = read_models::load_statuses(tx, &jobs)
        .await?
        .into_iter()
        .map(|status| (status.view.id.clone(), status))
        .collect();
    let statuses = missing_or_different("task execution", &stored, &rebuilt.statuses);
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
    let assessments = missing_or_different("assessment", &stored, &rebuilt.assessments);
    Ok((statuses, assessments))
}

/// The rebuilt views the store lacks or holds otherwise.
fn missing_or_different<V: PartialEq + Debug>(
    kind: &str,
    stored: &BTreeMap<String, V>,
    rebuilt: &BTreeMap<String, V>,
) -> Vec<String> {
    let mut found = Vec::new();
    for (id, expected) in rebuilt {
        match stored.get(id) {
            None => found.push(format!("{kind} {id}: missing from the read model")),
            Some(actual) if actual != expected => found.push(format!(
                "{kind} {id}: read model differs from the log\n  stored:  {actual:?}\n  rebuilt: {expected:?}"
            )),
            Some(_) => {}
        }
    }
    found
}

/// The stored views no rebuild produced, in id order.
fn not_in_the_log(kind: &str, mut stored: Vec<String>, rebuilt: &HashSet<String>) -> Vec<String> {
    stored.sort_unstable();
    stored
        .into_iter()
        .filter(|id| !rebuilt.contains(id))
        .map(|id| format!("{kind} {id}: in the read model but not in the log"))
        .collect()
}

/// Rebuilds the live read models from the whole log and swaps them in, in one transaction
/// that holds the read-model subscription's checkpoint: safe while the service runs (readers
/// see the old views until the commit, the live subscription waits and goes on from the end).
/// The views are written a batch of jobs at a time, and each batch is read back and compared
/// with what was folded (as `--verify` would, without folding the log a second time). Returns
/// the events folded and the differences found.
pub async fn rebuild_in_place(db: &Db) -> anyhow::Result<(usize, Vec<String>)> {
    event_log::wait_until_readable(db, HORIZON_WAIT).await?;
    let mut tx = db.begin_write().await?;
    checkpoints::lock(&mut tx, READ_MODELS).await?;
    let end = store::event_log::last_readable(&mut tx).await?;
    store::views::clear(&mut tx).await?;
    let mut batches = JobBatches::new(end);
    let (mut status_differences, mut assessment_differences) = (Vec::new(), Vec::new());
    while let Some(changes) = batches.next(&mut tx).await? {
        read_models::save_changes(&mut tx, &changes).await?;
        let (statuses, assessments) = compare_with_stored(&mut tx, &changes).await?;
        status_differences.extend(statuses);
        assessment_differences.extend(assessments);
    }
    checkpoints::save(&mut tx, READ_MODELS, end).await?;
    tx.commit().await?;
    status_differences.extend(assessment_differences);
    Ok((batches.applied, status_differences))
}

pub async fn run(db: &Db, verify_only: bool) -> anyhow::Result<ExitCode> {
    let found = if verify_only {
        verify(db).await?
    } else {
        let (applied, found) = rebuild_in_place(db).await?;
        println!("read models rebuilt from {applied} events");
        found
    };
    if found.is_empty() {
        println!("read models match the event log");
        Ok(ExitCode::SUCCESS)
    } else {
        for difference in &found {
            println!("{difference}");
        }
        println!(
            "{} difference(s) between the read models and the event log",
            found.len()
        );
        Ok(ExitCode::FAILURE)
    }
}
