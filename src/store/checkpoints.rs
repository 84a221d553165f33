//! The `subscription_checkpoints` table: how far each durable subscription has read the log.

use super::event_log::Cursor;
use super::Tx;
use crate::with_tx;

/// The checkpoint of subscription `name` (created at the start if missing), locked until the
/// transaction ends so one runner at a time moves it.
pub async fn lock(tx: &mut Tx, name: &str) -> sqlx::Result<Cursor> {
    let select = format!(
        "SELECT last_txid AS txid, last_position AS position FROM subscription_checkpoints
         WHERE name = $1{}",
        tx.dialect().lock_row
    );
    with_tx!(tx, |conn| {
        sqlx::query(
            "INSERT INTO subscription_checkpoints (name, last_txid, last_position)
             VALUES ($1, 0, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(&mut *conn)
        .await?;
        sqlx::query_as(&select)
            .bind(name)
            .fetch_one(&mut *conn)
            .await
    })
}

pub async fn save(tx: &mut Tx, name: &str, cursor: Cursor) -> sqlx::Result<()> {
    with_tx!(tx, |conn| {
        sqlx::query(
            "UPDATE subscription_checkpoints SET last_txid = $2, last_position = $3
             WHERE name = $1",
        )
        .bind(name)
        .bind(cursor.txid)
        .bind(cursor.position)
        .execute(&mut *conn)
        .await?;
        Ok(())
    })
}

/// The checkpoint of subscription `name`, read without locking it (the start if it has none).
pub async fn peek(tx: &mut Tx, name: &str) -> sqlx::Result<Cursor> {
    let found: Option<Cursor> = with_tx!(tx, |conn| {
        sqlx::query_as(
            "SELECT last_txid AS txid, last_position AS position FROM subscription_checkpoints
             WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?
    });
    Ok(found.unwrap_or_default())
}

/// When the oldest event subscription `name` has not applied yet was recorded (none if it is
/// up to date).
pub async fn oldest_unapplied(
    db: &super::Db,
    name: &str,
) -> sqlx::Result<Option<chrono::DateTime<chrono::Utc>>> {
    let mut tx = db.begin_read().await?;
    let cursor = peek(&mut tx, name).await?;
    let next = super::event_log::read_after(&mut tx, cursor, 1).await?;
    tx.rollback().await?;
    Ok(next.first().map(|event| event.recorded_at))
}
