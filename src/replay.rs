//! `replay`: folds the whole log again with the same code as the live subscription, and either
//! swaps the result in (`replay`) or compares it with the stored read models (`--verify`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::process::ExitCode;

use crate::event_log::{self, Cursor, DecodedEvent};
use crate::projector::READ_MODELS;
use crate::read_models::{self, ReadModelChanges};
use crate::store::Db;
use crate::store::{self, checkpoints, Tx};

const PAGE: i64 = 1_000;
/// How long a one-shot replay waits for in-flight transactions to finish.
const HORIZON_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn differences<V: PartialEq + Debug>(
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
    for id in stored.keys().filter(|id| !rebuilt.contains_key(*id)) {
        found.push(format!("{kind} {id}: in the read model but not in the log"));
    }
    found
}

/// Compares the stored read models with a rebuild; every difference is one line (or block).
/// Runs in one transaction holding the read-model checkpoint, so the live subscription cannot
/// move the views while they are compared.
pub async fn verify(db: &Db) -> anyhow::Result<Vec<String>> {
    event_log::wait_until_readable(db, HORIZON_WAIT).await?;
    let mut tx = db.begin_write().await?;
    let until = checkpoints::lock(&mut tx, READ_MODELS).await?;
    let rebuilt = fold_log(&mut tx, Some(until)).await?.0;
    let (statuses, assessments) = read_models::all_views_in(&mut tx).await?;
    tx.rollback().await?;
    let mut found = differences("task execution", &statuses, &rebuilt.statuses);
    found.extend(differences(
        "assessment",
        &assessments,
        &rebuilt.assessments,
    ));
    Ok(found)
}

/// Folds the log from the start (up to `until`, if given) into fresh read models; also returns
/// the cursor of the last event folded.
async fn fold_log(
    tx: &mut Tx,
    until: Option<Cursor>,
) -> anyhow::Result<(ReadModelChanges, Cursor, usize)> {
    let mut changes = ReadModelChanges::default();
    let mut cursor = Cursor::default();
    let mut applied = 0;
    loop {
        let page = store::event_log::read_after(tx, cursor, PAGE).await?;
        let Some(last) = page.last().map(|e| e.cursor()) else {
            return Ok((changes, cursor, applied));
        };
        for stored in page {
            if until.is_some_and(|until| stored.cursor() > until) {
                return Ok((changes, cursor, applied));
            }
            cursor = stored.cursor();
            changes.apply(&DecodedEvent::decode(stored)?);
            applied += 1;
        }
        cursor = cursor.max(last);
    }
}

/// Rebuilds the live read models from the whole log and swaps them in, in one transaction
/// that holds the read-model subscription's checkpoint: safe while the service runs (readers
/// see the old views until the commit, the live subscription waits and goes on from the end).
pub async fn rebuild_in_place(db: &Db) -> anyhow::Result<usize> {
    event_log::wait_until_readable(db, HORIZON_WAIT).await?;
    let mut tx = db.begin_write().await?;
    checkpoints::lock(&mut tx, READ_MODELS).await?;
    let (changes, cursor, applied) = fold_log(&mut tx, None).await?;
    store::views::clear(&mut tx).await?;
    read_models::save_changes(&mut tx, &changes).await?;
    checkpoints::save(&mut tx, READ_MODELS, cursor).await?;
    tx.commit().await?;
    Ok(applied)
}

pub async fn run(db: &Db, verify_only: bool) -> anyhow::Result<ExitCode> {
    if !verify_only {
        let applied = rebuild_in_place(db).await?;
        println!("read models rebuilt from {applied} events");
    }
    let found = verify(db).await?;
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
