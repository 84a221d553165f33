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
