//! Which instance runs a subscription. Several instances may share one PostgreSQL database;
//! each subscription (the read models, the webhook outbox) runs on one of them at a time, the
//! one holding a session-level advisory lock named after it. The lock lives on a connection
//! of its own, outside the pool: it is released when that session ends, so when the leader's
//! process dies another instance takes the lead on its next try. A standby keeps its
//! connection idle between tries and holds no transaction open. On SQLite every instance
//! leads (its writers take turns on the whole database anyway). The checkpoint's row lock
//! still serializes batches, so even two leaders for a moment (one whose session has just
//! been cut) could not apply an event twice.

use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio::time::Instant;

use super::Db;

/// The first key of the subscriptions' advisory locks (the second names the subscription).
const SUBSCRIPTION_LOCKS: i32 = 1_702_260_342;
/// How long a question to the server about the lead may take before the session is given up.
const ASK_LIMIT: Duration = Duration::from_secs(5);
/// How long a leader trusts its session without asking the server whether it still lives.
const ALIVE_CHECK: Duration = Duration::from_secs(1);

/// The second key of a subscription's lock: a stable hash of its name (FNV-1a).
fn lock_id(name: &str) -> i32 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    hash as i32
}

/// This instance's claim to run subscription `name`.
pub struct Leadership {
    db: Db,
    name: &'static str,
    session: Option<PgConnection>,
    leading: bool,
    checked_at: Instant,
}

impl Leadership {
    pub fn new(db: Db, name: &'static str) -> Leadership {
        Leadership {
            db,
            name,
            session: None,
            leading: false,
            checked_at: Instant::now(),
        }
    }

    /// Whether this instance runs the subscription now: a leader checks (at most once a
    /// second) that its session still holds the lock; anyone else tries to take it.
    pub async fn lead(&mut self) -> bool {
        let Db::Postgres(pool) = &self.db else {
            return true;
        };
        if self.leading && self.checked_at.elapsed() < ALIVE_CHECK {
            return true;
        }
        if self.session.is_none() {
            match pool.acquire().await {
                Ok(connection) => self.session = Some(connection.detach()),
                Err(error) => {
                    tracing::debug!(%error, subscription = self.name, "no session to lead with");
                    return false;
                }
            }
        }
        let session = self.session.as_mut().expect("opened above");
        // A server that stopped answering (a half-open connection) must not hold this up.
        let asked = tokio::time::timeout(ASK_LIMIT, async {
            if self.leading {
                session.ping().await.map(|()| true)
            } else {
                sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(SUBSCRIPTION_LOCKS)
                    .bind(lock_id(self.name))
                    .fetch_one(&mut *session)
                    .await
            }
        })
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut));
        self.checked_at = Instant::now();
        match asked {
            Ok(true) if !self.leading => {
                tracing::info!(
                    subscription = self.name,
                    "this instance now runs the subscription"
                );
                self.leading = true;
            }
            Ok(held) => self.leading = held,
            Err(error) => {
                if self.leading {
                    tracing::warn!(
                        %error,
                        subscription = self.name,
                        "lost the session that held the subscription's lead"
                    );
                }
                self.leading = false;
                self.session = None;
            }
        }
        self.leading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of two contenders leads; when its session ends, the other takes over at its next
    /// try, and a standby's session sits outside any transaction.
    #[tokio::test]
    async fn one_instance_leads_and_another_takes_over_when_its_session_ends() {
        let (db, _guard) = crate::store::scratch_postgres().await;
        let mut first = Leadership::new(db.clone(), "read_models");
        let mut second = Leadership::new(db.clone(), "read_models");
        let mut other = Leadership::new(db.clone(), "webhooks");
        assert!(first.lead().await);
        assert!(!second.lead().await);
        assert!(first.lead().await, "the leader stays leader");
        tokio::time::sleep(ALIVE_CHECK).await;
        assert!(
            first.lead().await,
            "and its session, asked again, still holds the lead"
        );
        assert!(!second.lead().await);
        assert!(
            other.lead().await,
            "another subscription has a lock of its own"
        );
        let Db::Postgres(pool) = &db else {
            unreachable!()
        };
        let in_transaction: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND xact_start IS NOT NULL
               AND pid <> pg_backend_pid()",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(in_transaction, 0, "nobody holds a transaction open");
        drop(first);
        // The server ends the session when its socket closes; the lock goes with it.
        let took = tokio::time::timeout(Duration::from_secs(5), async {
            while !second.lead().await {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(
            took.is_ok(),
            "the standby takes the lead once the leader is gone"
        );
    }

    #[test]
    fn every_subscription_has_its_own_lock() {
        assert_ne!(lock_id("read_models"), lock_id("webhooks"));
        assert_eq!(lock_id("read_models"), lock_id("read_models"));
    }
}
