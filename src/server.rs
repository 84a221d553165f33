//! `serve`: the HTTP API, the read-model subscription and the workers in one process, with
//! graceful shutdown on SIGTERM or Ctrl-C.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{watch, Notify};

use crate::api_keys;
use crate::clock::Clock;
use crate::commands::CommandBus;
use crate::generator::llm::{LlmClient, LlmConfig};
use crate::generator::Engine;
use crate::http::{self, AppState};
use crate::projector;
use crate::store::{event_log, Db};
use crate::wakeups::{self, Wakers};
use crate::webhooks::dispatcher::Dispatcher;
use crate::webhooks::{outbox, WebhookConfig};
use crate::worker::{Worker, WorkerConfig};

#[derive(Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// How long a client may take to send a request's headers, and then its body.
    pub request_read_timeout: Duration,
    /// How long a graceful shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// How far behind the log a subscription may be while `/readyz` says ready.
    pub ready_max_lag: Duration,
    /// Requests a second per API key (0: no limit), in bursts of up to `rate_burst`.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    /// Most unfinished jobs per organization (0: no limit).
    pub max_queued_jobs: u32,
    /// Secret: never logged.
    pub bootstrap_api_key: Option<String>,
    pub llm: Option<LlmConfig>,
    pub webhooks: WebhookConfig,
    pub worker: WorkerConfig,
}

/// Makes sure a new user has a key to make a first request with.
async fn ensure_api_key(db: &Db, bootstrap: Option<&str>, clock: &Clock) -> anyhow::Result<()> {
    if let Some(key) = bootstrap {
        if api_keys::ensure(db, key, clock.now()).await? {
            tracing::info!("BOOTSTRAP_API_KEY added to the default organization");
        }
    } else if api_keys::count(db).await? == 0 {
        let organization = api_keys::DEFAULT_ORGANIZATION;
        let created = api_keys::create(db, "first key", organization, clock.now()).await?;
        println!(
            "No API key existed, so one was created. It is shown only this once:\n  {}\n\
             Its webhook signing secret (also at GET /api/v2/webhooks/secret):\n  {}",
            created.api_key, created.webhook_secret
        );
    }
    Ok(())
}

pub async fn serve(db: Db, config: ServeConfig) -> anyhow::Result<()> {
    let clock = Clock::system();
    ensure_api_key(&db, config.bootstrap_api_key.as_deref(), &clock).await?;

    let engine = Arc::new(Engine::embedded().context("loading the question library")?);
    let llm = config.llm.map(LlmClient::new).transpose()?;
    if let Some(model) = &llm {
        tracing::info!(model = ?model, "language model enabled");
    }
    let (committed, local_commits) = watch::channel(0u64);
    let jobs_queued = Arc::new(Notify::new());
    let bus = CommandBus::new(&db, Arc::new(committed));

    let messages_queued = Arc::new(Notify::new());
    // Other instances on the same database wake this one's tasks, and this one theirs.
    let (remote_events, remote_commits) = watch::channel(0u64);
    let announcer = wakeups::start(
        &db,
        &uuid::Uuid::new_v4().to_string(),
        local_commits.clone(),
        Wakers {
            events: remote_events,
            jobs: jobs_queued.clone(),
            messages: messages_queued.clone(),
        },
    );
    let commits = wakeups::merged(local_commits, remote_commits);
    let dispatcher = Arc::new(Dispatcher::new(
        db.clone(),
        config.webhooks.clone(),
        clock.clone(),
        messages_queued.clone(),
    )?);
    let limits = Arc::new(http::Limits::new(
        config.rate_per_second,
        config.rate_burst,
        config.max_queued_jobs,
    ));
    let subscriptions = [
        tokio::spawn(projector::run(
            db.clone(),
            commits.clone(),
            jobs_queued.clone(),
            announcer.clone(),
        )),
        tokio::spawn(outbox::run(
            db.clone(),
            clock.clone(),
            commits,
            messages_queued,
            announcer,
        )),
        tokio::spawn(dispatcher.run()),
        tokio::spawn(watch_open_writers(db.clone())),
        tokio::spawn(purge_idempotency_keys(db.clone(), clock.clone())),
        tokio::spawn(forget_idle_rate_buckets(limits.clone())),
    ];
    let workers = Worker::new(
        db.clone(),
        bus.clone(),
        engine.clone(),
        llm,
        config.worker,
        clock.clone(),
        jobs_queued,
    )
    .spawn();

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tracing::info!(%address, database = db.backend_name(), "assessment service started");

    let (stopping, shutdown) = watch::channel(false);
    let app = http::router_with_body_timeout(
        AppState {
            db,
            bus,
            engine,
            webhooks: config.webhooks,
            clock,
            keys: Default::default(),
            ready_max_lag: config.ready_max_lag,
            limits: limits.clone(),
            shutdown,
        },
        config.request_read_timeout,
    );
    let served = serve_http(
        listener,
        app,
        config.request_read_timeout,
        config.shutdown_timeout,
        async move {
            shutdown_signal().await;
            // Open status streams end, so the graceful shutdown does not wait on them.
            let _ = stopping.send(true);
        },
    )
    .await;
    // Everything the background tasks write is transactional: stopping them mid-way is safe.
    workers.shutdown().await;
    for task in subscriptions {
        task.abort();
    }
    served.context("HTTP server failed")
}

/// Serves `app` on `listener` until `stop` resolves, then lets the requests in flight finish
/// for at most `shutdown_timeout` and closes whatever is still open. A client gets
/// `read_timeout` to send each request's headers (a connection idle that long between
/// requests is closed too); the router bounds the body's time itself.
async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    read_timeout: Duration,
    shutdown_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    // HTTP/1.1, as before (axum's own server speaks HTTP/2 only with a feature not enabled).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = watched.await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    match tokio::time::timeout(shutdown_timeout, graceful.shutdown()).await {
        Ok(()) => tracing::info!("every connection closed"),
        Err(_) => tracing::warn!(
            seconds = shutdown_timeout.as_secs(),
            "requests still in flight after the shutdown timeout; closing their connections"
        ),
    }
    Ok(())
}

/// Drops the rate buckets of keys idle long enough to be full again, every minute.
async fn forget_idle_rate_buckets(limits: Arc<http::Limits>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(60));
    loop {
        ticks.tick().await;
        limits.forget_idle();
    }
}

/// Forgets `Idempotency-Key`s once they stop standing for their job (after 24 hours), hourly.
async fn purge_idempotency_keys(db: Db, clock: Clock) {
    let mut ticks = tokio::time::interval(Duration::from_secs(3_600));
    loop {
        ticks.tick().await;
        let expired_before = clock.now() - http::IDEMPOTENCY_KEY_KEPT;
        match crate::store::idempotency_keys::purge(&db, expired_before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency keys forgotten"),
            Err(error) => tracing::warn!(%error, "forgetting expired idempotency keys failed"),
        }
    }
}

/// How long an append may stay open before the service warns about it.
const OPEN_WRITER_WARNING: Duration = Duration::from_secs(5);
/// How often the service looks for long open appends (so a warning comes within 7 s).
const OPEN_WRITER_CHECK: Duration = Duration::from_secs(2);
/// How often the warning repeats while the same transaction stays open.
const OPEN_WRITER_REPEAT: Duration = Duration::from_secs(30);

/// Warns about a transaction appending events that stays open (any instance's, or anyone's
/// hand-written one): while it is open, no job, status, feed read or webhook gets past it.
async fn watch_open_writers(db: Db) {
    let mut warned: HashMap<i32, tokio::time::Instant> = HashMap::new();
    let mut ticks = tokio::time::interval(OPEN_WRITER_CHECK);
    loop {
        ticks.tick().await;
        let writers = match event_log::open_writers(&db, OPEN_WRITER_WARNING).await {
            Ok(writers) => writers,
            Err(error) => {
                tracing::debug!(%error, "cannot look for open event writers");
                continue;
            }
        };
        warned.retain(|pid, _| writers.iter().any(|w| w.pid == *pid));
        for writer in writers {
            let due = warned
                .get(&writer.pid)
                .is_none_or(|at| at.elapsed() >= OPEN_WRITER_REPEAT);
            if due {
                tracing::warn!(
                    pid = writer.pid,
                    application_name = %writer.application_name,
                    age_seconds = writer.age_seconds.round(),
                    state = %writer.state,
                    "a transaction appending events has stayed open and holds back every reader \
                     of the log (jobs, status, feed, webhooks) until it ends; end it \
                     (pg_terminate_backend(pid)) if it is stuck"
                );
                warned.insert(writer.pid, tokio::time::Instant::now());
            }
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
