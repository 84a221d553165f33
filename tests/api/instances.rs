//! Several instances on one PostgreSQL database: each subscription runs on one of them and
//! moves to another when its leader dies; what one instance queues wakes the others' workers.

use std::time::Duration;

use assessment_service::store;

use crate::helpers::{
    eventually, random_key, seed_request, Backend, ServerOptions, TestDb, TestServer,
};

/// An instance named `name` (its sessions' application name) on `db`, accepting `key`.
fn instance(db: &TestDb, key: &str, name: &str) -> ServerOptions {
    ServerOptions {
        bootstrap_key: Some(key.to_owned()),
        env: vec![(
            "DATABASE_URL",
            format!("{}?application_name={name}", db.url),
        )],
    }
}

/// The instances holding the subscriptions' leads, by application name, one per subscription.
async fn subscription_leaders(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 1702260342
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Two instances on one PostgreSQL database: the first runs both subscriptions while the
/// second waits with no transaction open; SIGKILLed, the first hands them over within 5 s, and
/// the second carries new jobs to their end on its own.
#[tokio::test]
async fn a_standby_instance_takes_the_subscriptions_over_within_five_seconds_of_a_sigkill() {
    let db = TestDb::new(Backend::Postgres).await;
    let key = random_key();
    let first = TestServer::start_with(&db, instance(&db, &key, "instance-a")).await;
    let store = db.connect().await;
    let store::Db::Postgres(pool) = &store else {
        unreachable!("a PostgreSQL test")
    };
    let both = |name: &str| vec![name.to_owned(), name.to_owned()];
    eventually(Duration::from_secs(10), || async {
        (subscription_leaders(pool).await == both("instance-a")).then_some(())
    })
    .await;
    let second = TestServer::start_with(&db, instance(&db, &key, "instance-b")).await;
    let job = second.submit(&seed_request()).await;
    assert_eq!(second.wait_until_ended(&job).await["status"], "completed");
    // The standby waits outside any transaction (it used to wait on the checkpoint's row lock
    // inside one).
    for _ in 0..20 {
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE application_name = 'instance-b' AND xact_start < now() - interval '1 second'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(open, 0, "a standby holds a transaction open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(subscription_leaders(pool).await, both("instance-a"));

    let killed_at = tokio::time::Instant::now();
    first.kill().await;
    eventually(Duration::from_secs(5), || async {
        (subscription_leaders(pool).await == both("instance-b")).then_some(())
    })
    .await;
    let took_over = killed_at.elapsed();
    eprintln!("the standby took both subscriptions over {took_over:?} after the SIGKILL");
    assert!(took_over < Duration::from_secs(5));
    let job = second.submit(&seed_request()).await;
    assert_eq!(second.wait_until_ended(&job).await["status"], "completed");
}

/// A job posted to an API-only instance is run by another instance's worker as soon as the
/// first queues it: the announcement wakes that worker, whose own poll would wait a minute.
#[tokio::test]
async fn a_job_queued_by_one_instance_wakes_another_instances_worker() {
    let db = TestDb::new(Backend::Postgres).await;
    let key = random_key();
    let api = TestServer::start_with(
        &db,
        instance(&db, &key, "api-only").env("WORKER_CONCURRENCY", 0),
    )
    .await;
    let store = db.connect().await;
    let store::Db::Postgres(pool) = &store else {
        unreachable!("a PostgreSQL test")
    };
    eventually(Duration::from_secs(10), || async {
        (subscription_leaders(pool).await.len() == 2).then_some(())
    })
    .await;
    let _worker = TestServer::start_with(
        &db,
        instance(&db, &key, "worker").env("WORKER_POLL_MS", 60_000),
    )
    .await;
    // Its workers have looked once at start and now wait; the first instance looks for
    // listeners every 2 s.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut jobs = Vec::new();
    for _ in 0..5 {
        let job = api.submit(&seed_request()).await;
        let ended = tokio::time::timeout(Duration::from_secs(20), api.wait_until_ended(&job))
            .await
            .expect("the worker was not woken: the job waited for its minute-long poll");
        assert_eq!(ended["status"], "completed");
        jobs.push(job);
    }
    // For the record (not asserted): from the request's commit to the worker's first step.
    let waits: Vec<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM MIN(s.recorded_at) - MIN(r.recorded_at))::float8 * 1000
         FROM events r JOIN events s ON s.aggregate_id = r.aggregate_id
         WHERE r.event_type = 'JobRequested' AND s.event_type = 'StepStarted'
         GROUP BY r.aggregate_id ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    eprintln!("request committed -> first step on the other instance, ms: {waits:?}");
    assert_eq!(waits.len(), jobs.len());
}
