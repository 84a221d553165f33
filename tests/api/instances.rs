//! Several instances on one PostgreSQL database: each subscription runs on one of them and
//! moves to another when its leader dies; what one instance queues wakes the others' workers.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use assessment_service::store;

use crate::helpers::{
    cli, eventually, random_key, seed_request, Backend, ServerOptions, TestDb, TestServer,
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

/// A number from the environment, or `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Chaos: three instances on one database run jobs with webhooks to a local listener while a
/// random one is SIGKILLed and restarted every 2 s. At the end every job completed, every
/// webhook message arrived at least once and first in its job's order, no event was lost or
/// written twice, and the views equal a replay. CI runs a short form; the long one:
/// `CHAOS_JOBS=1000 CHAOS_SECONDS=60 cargo test --test api chaos -- --nocapture`.
#[tokio::test]
async fn chaos_three_instances_killed_in_turn_lose_nothing() {
    use rand::Rng;

    use crate::webhooks::{local_webhooks, Answer, Listener};

    let jobs = setting("CHAOS_JOBS", 60);
    let chaos = Duration::from_secs(setting("CHAOS_SECONDS", 12) as u64);
    let db = TestDb::new(Backend::Postgres).await;
    let key = random_key();
    let listener = Listener::start(Answer::Ok).await;
    let options = |n: usize| {
        let mut options = local_webhooks();
        options.bootstrap_key = Some(key.clone());
        options
            .env(
                "DATABASE_URL",
                format!("{}?application_name=chaos-{n}", db.url),
            )
            .env("JOB_MAX_ATTEMPTS", 100)
    };
    let mut servers = Vec::new();
    for n in 0..3 {
        servers.push(Some(TestServer::start_with(&db, options(n)).await));
    }
    let request = crate::webhooks::job_with_hook(&listener.url);
    let started = tokio::time::Instant::now();
    let mut ids = Vec::with_capacity(jobs);
    let mut refused = 0;
    for n in 0..jobs {
        // A client retries a refused request; the test counts refusals and shows them. Only
        // an accepted job must complete.
        let mut tries = 0;
        let body = loop {
            let server = servers[(n + tries) % 3].as_ref().unwrap();
            let (code, body) = crate::helpers::json_of(server.generate(&request).await).await;
            if code == reqwest::StatusCode::ACCEPTED {
                break body;
            }
            eprintln!("chaos: a job was refused with {code}: {body}");
            refused += 1;
            tries += 1;
            assert!(tries < 5, "a job was refused five times: {code} {body}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        ids.push(body["job_id"].as_str().unwrap().to_owned());
    }
    let store = db.connect().await;
    let store::Db::Postgres(pool) = &store else {
        unreachable!("a PostgreSQL test")
    };
    let (mut kills, mut takeovers) = (0, 0);
    let mut leaders = subscription_leaders(pool).await;
    // Every 2 s a running instance is killed and started again in the background, so the
    // kills keep their pace however long a start takes.
    let mut restarts: Vec<Option<tokio::task::JoinHandle<TestServer>>> = vec![None, None, None];
    let mut ticks = tokio::time::interval(Duration::from_secs(2));
    ticks.tick().await;
    let chaos_started = tokio::time::Instant::now();
    while chaos_started.elapsed() < chaos {
        ticks.tick().await;
        for (slot, restart) in restarts.iter_mut().enumerate() {
            if restart.as_ref().is_some_and(|r| r.is_finished()) {
                servers[slot] = Some(restart.take().unwrap().await.unwrap());
            }
        }
        let running: Vec<usize> = (0..3).filter(|&n| servers[n].is_some()).collect();
        if running.is_empty() {
            continue;
        }
        let victim = running[rand::thread_rng().gen_range(0..running.len())];
        servers[victim].take().unwrap().kill().await;
        kills += 1;
        let (url, again) = (db.url.clone(), options(victim));
        restarts[victim] = Some(tokio::spawn(TestServer::start_on(url, again)));
        let now = subscription_leaders(pool).await;
        if now != leaders && !now.is_empty() {
            takeovers += 1;
            leaders = now;
        }
    }
    for (slot, restart) in restarts.iter_mut().enumerate() {
        if let Some(restart) = restart.take() {
            servers[slot] = Some(restart.await.unwrap());
        }
    }
    let server = servers[0].as_ref().unwrap();
    for id in &ids {
        let status = server.wait_until_ended(id).await;
        assert_eq!(status["status"], "completed", "{status}");
    }
    let elapsed = started.elapsed();

    // Every job's events: one request, one completion, sequences 1..n with no gap or repeat.
    let per_job: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT aggregate_id, COUNT(*), COUNT(DISTINCT sequence), MAX(sequence),
                COUNT(*) FILTER (WHERE event_type IN ('JobRequested', 'Completed', 'Failed'))
         FROM events GROUP BY aggregate_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(per_job.len(), jobs);
    for (job, count, distinct, max, ends) in &per_job {
        assert_eq!(
            (count, distinct, max, ends),
            (max, max, max, &2),
            "job {job}"
        );
    }
    let events: i64 = per_job.iter().map(|row| row.1).sum();

    // Every message arrived, the first arrival of each in its job's order.
    let arrived = eventually(Duration::from_secs(120), || async {
        let accepted = listener.accepted();
        let distinct: HashSet<&String> = accepted.iter().map(|(id, _)| id).collect();
        (distinct.len() as i64 == events).then_some(accepted)
    })
    .await;
    let mut last_of_job: HashMap<String, i64> = HashMap::new();
    let mut seen = HashSet::new();
    for (id, _) in &arrived {
        if !seen.insert(id.clone()) {
            continue;
        }
        let (job, sequence) = id.rsplit_once('_').unwrap();
        let sequence: i64 = sequence.parse().unwrap();
        let last = last_of_job.entry(job.to_owned()).or_insert(0);
        assert_eq!(sequence, *last + 1, "{id} arrived out of its job's order");
        *last = sequence;
    }
    let (verified, report) = cli(&db, &["replay", "--verify"]).await;
    assert!(verified, "{report}");
    eprintln!(
        "chaos: {jobs} jobs, {events} events in {:.1} s ({:.1} jobs/s); {kills} SIGKILLs, \
         {takeovers} changes of leader seen, {} webhook redeliveries, {refused} requests \
         refused and retried",
        elapsed.as_secs_f64(),
        jobs as f64 / elapsed.as_secs_f64(),
        arrived.len() - seen.len()
    );
}
