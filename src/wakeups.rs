//! Wakeups across instances (PostgreSQL `LISTEN/NOTIFY`). Within one process a commit wakes the
//! subscriptions, a queued job the workers and a queued message the dispatchers directly; with
//! several instances on one database, what one instance commits must wake the others too: the
//! subscriptions' leader for another instance's events, every instance's workers and
//! dispatchers for the jobs and messages the leader queues. Each instance announces on the
//! channel `assessment_service` from a connection of its own, after the commit and outside it
//! (a NOTIFY inside the committing transaction would serialize every commit of the cluster on
//! the notification queue), coalescing what happened meanwhile into one notification; each
//! instance listens and wakes its own tasks for the others' announcements. An instance alone
//! on its database (no other listener, looked up every 2 s) announces nothing. A lost
//! notification (a listener reconnecting, an instance that started less than 2 s ago) costs at
//! most the tasks' fallback poll.

use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::store::Db;

/// The channel every instance announces on and listens to.
const CHANNEL: &str = "assessment_service";
/// How often an instance looks again whether any other instance listens.
const LISTENERS_CHECK: Duration = Duration::from_secs(2);
/// Pause before reconnecting after the announcing or listening session failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// What happened on this instance that the others may be waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Events were committed (for the subscriptions' leader).
    Events = 1,
    /// Jobs were queued (for every instance's workers).
    Jobs = 2,
    /// Webhook messages were queued (for every instance's dispatchers).
    Messages = 4,
}

/// Announces to the other instances. Cheap and never blocking: it sets a flag that the
/// announcing task sends with whatever else is pending. Does nothing on SQLite.
#[derive(Debug, Clone, Default)]
pub struct Announcer {
    pending: Option<Arc<(AtomicU8, Notify)>>,
}

impl Announcer {
    pub fn announce(&self, wake: Wake) {
        if let Some(pending) = &self.pending {
            pending.0.fetch_or(wake as u8, Ordering::AcqRel);
            pending.1.notify_one();
        }
    }
}

/// The tasks of this instance that another instance's announcements wake.
pub struct Wakers {
    /// Bumped for another instance's events (the subscriptions wait on it beside local
    /// commits).
    pub events: watch::Sender<u64>,
    pub jobs: Arc<Notify>,
    pub messages: Arc<Notify>,
}

/// Starts announcing this instance's commits (`local_commits`, and what the returned
/// [`Announcer`] is told) and listening to the other instances', on PostgreSQL; on SQLite
/// returns an announcer that does nothing.
pub fn start(
    db: &Db,
    instance: &str,
    local_commits: watch::Receiver<u64>,
    wakers: Wakers,
) -> Announcer {
    let Db::Postgres(pool) = db else {
        return Announcer::default();
    };
    let pending = Arc::new((AtomicU8::new(0), Notify::new()));
    let own_listener = Arc::new(AtomicI32::new(0));
    tokio::spawn(announce(
        pool.clone(),
        instance.to_owned(),
        local_commits,
        pending.clone(),
        own_listener.clone(),
    ));
    tokio::spawn(listen(
        pool.clone(),
        instance.to_owned(),
        wakers,
        own_listener,
    ));
    Announcer {
        pending: Some(pending),
    }
}

/// Sends what is pending, one notification at a time: `<instance> <bits of Wake>`.
async fn announce(
    pool: PgPool,
    instance: String,
    mut commits: watch::Receiver<u64>,
    pending: Arc<(AtomicU8, Notify)>,
    own_listener: Arc<AtomicI32>,
) {
    let mut listeners = Listeners {
        others: true,
        checked_at: None,
    };
    loop {
        tokio::select! {
            changed = commits.changed() => match changed {
                Ok(()) => {
                    pending.0.fetch_or(Wake::Events as u8, Ordering::AcqRel);
                }
                // The bus is gone: only the announcer's flags are left to wait for.
                Err(_) => pending.1.notified().await,
            },
            () = pending.1.notified() => {}
        }
        let bits = pending.0.swap(0, Ordering::AcqRel);
        if bits == 0 {
            continue;
        }
        if listeners
            .checked_at
            .is_none_or(|at| at.elapsed() >= LISTENERS_CHECK)
        {
            listeners = Listeners {
                others: others_listen(&pool, own_listener.load(Ordering::Acquire)).await,
                checked_at: Some(Instant::now()),
            };
        }
        if !listeners.others {
            continue;
        }
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(format!("{instance} {bits}"))
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            tracing::debug!(%error, "cannot announce to the other instances");
            // Kept for the next try.
            pending.0.fetch_or(bits, Ordering::AcqRel);
            tokio::time::sleep(RECONNECT_AFTER).await;
            pending.1.notify_one();
        }
    }
}

/// Whether another instance listens, as last checked.
struct Listeners {
    others: bool,
    checked_at: Option<Instant>,
}

/// Whether a session other than this instance's own listener listens on the channel (or
/// might: a session of another database user hides what it runs). A lone instance then
/// announces nothing, which would cost the database a transaction per burst of commits.
async fn others_listen(pool: &PgPool, own_listener: i32) -> bool {
    let listening: Result<i64, _> = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> $1
           AND (query LIKE 'LISTEN %assessment_service%' OR query = '<insufficient privilege>')",
    )
    .bind(own_listener)
    .fetch_one(pool)
    .await;
    // Unknown: announce, as a notification too many costs little.
    listening.map_or(true, |count| count > 0)
}

/// Wakes this instance's tasks for the other instances' announcements.
async fn listen(pool: PgPool, instance: String, wakers: Wakers, own_listener: Arc<AtomicI32>) {
    loop {
        own_listener.store(0, Ordering::Release);
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(%error, "cannot listen to the other instances");
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            }
        };
        // Asked before it listens: the others find a listener by its last statement.
        match sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut listener)
            .await
        {
            Ok(pid) => own_listener.store(pid, Ordering::Release),
            Err(error) => tracing::debug!(%error, "cannot tell this instance's listener"),
        }
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::debug!(%error, "cannot listen to the other instances");
            tokio::time::sleep(RECONNECT_AFTER).await;
            continue;
        }
        // What was announced while nobody here listened: look once, as if woken.
        wakers.events.send_modify(|count| *count += 1);
        wakers.jobs.notify_waiters();
        wakers.messages.notify_one();
        loop {
            let notification = match listener.recv().await {
                Ok(notification) => notification,
                Err(error) => {
                    tracing::debug!(%error, "listening to the other instances failed");
                    tokio::time::sleep(RECONNECT_AFTER).await;
                    break;
                }
            };
            let Some((from, bits)) = notification.payload().split_once(' ') else {
                continue;
            };
            if from == instance {
                continue;
            }
            let bits: u8 = bits.parse().unwrap_or(0);
            if bits & Wake::Events as u8 != 0 {
                wakers.events.send_modify(|count| *count += 1);
            }
            if bits & Wake::Jobs as u8 != 0 {
                wakers.jobs.notify_waiters();
            }
            if bits & Wake::Messages as u8 != 0 {
                wakers.messages.notify_one();
            }
        }
    }
}

/// A receiver that changes whenever `local` or `remote` does: what the subscriptions wait on.
/// It lives while either does.
pub fn merged(
    mut local: watch::Receiver<u64>,
    mut remote: watch::Receiver<u64>,
) -> watch::Receiver<u64> {
    let (merged, receiver) = watch::channel(0u64);
    tokio::spawn(async move {
        let (mut local_open, mut remote_open) = (true, true);
        while local_open || remote_open {
            let changed = tokio::select! {
                changed = local.changed(), if local_open => {
                    local_open = changed.is_ok();
                    local_open
                }
                changed = remote.changed(), if remote_open => {
                    remote_open = changed.is_ok();
                    remote_open
                }
            };
            if merged.is_closed() {
                return;
            }
            if changed {
                merged.send_modify(|count| *count += 1);
            }
        }
    });
    receiver
}
