//! `replay --verify`: folds the whole log again, with the same code as the live subscription,
//! and compares the result with the stored read models.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::process::ExitCode;

use crate::db::Db;
use crate::event_log::{Cursor, DecodedEvent, LogConnection};
use crate::projector::{self, READ_MODELS};
use crate::read_models::{self, ReadModelChanges};
use crate::with_pool;

const PAGE: i64 = 1_000;

/// The read models as a fresh fold of the log up to `until` would make them.
pub async fn rebuild(db: &Db, until: Cursor) -> anyhow::Result<ReadModelChanges> {
    let mut changes = ReadModelChanges::default();
    let mut cursor = Cursor::default();
    loop {
        let page = with_pool!(db, |pool| {
            let mut conn = pool.acquire().await?;
            conn.events_after(cursor, PAGE).await?
        });
        let Some(last) = page.last().map(|e| e.cursor()) else {
            return Ok(changes);
        };
        for stored in page {
            if stored.cursor() > until {
                return Ok(changes);
            }
            changes.apply(&DecodedEvent::decode(stored)?);
        }
        cursor = last;
    }
}

async fn checkpoint(db: &Db) -> anyhow::Result<Cursor> {
    let row: Option<(i64, i64)> = with_pool!(db, |pool| {
        sqlx::query_as(
            "SELECT last_txid, last_position FROM subscription_checkpoints WHERE name = $1",
        )
        .bind(READ_MODELS)
        .fetch_optional(pool)
        .await?
    });
    Ok(row
        .map(|(txid, position)| Cursor { txid, position })
        .unwrap_or_default())
}

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
pub async fn verify(db: &Db) -> anyhow::Result<Vec<String>> {
    let until = checkpoint(db).await?;
    let rebuilt = rebuild(db, until).await?;
    let statuses = read_models::all_statuses(db).await?;
    let assessments = read_models::all_assessments(db).await?;
    let mut found = differences("task execution", &statuses, &rebuilt.statuses);
    found.extend(differences(
        "assessment",
        &assessments,
        &rebuilt.assessments,
    ));
    Ok(found)
}

pub async fn run(db: &Db, verify_only: bool) -> anyhow::Result<ExitCode> {
    if !verify_only {
        let applied = projector::catch_up(db).await?;
        println!("read models caught up ({applied} events applied)");
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
