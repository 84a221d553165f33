//! A crash at any point loses nothing: SIGKILL mid-way, restart, every job ends, and the read
//! models equal a rebuild from the log.

use std::time::Duration;

use assessment_service::store;
use serde_json::json;

use crate::helpers::{
    cli, eventually, random_key, seed_request, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    jobs_interrupted_by_sigkill_finish_after_restart_and_views_match_the_log,
    a_graceful_shutdown_hands_interrupted_jobs_back_at_once,
    every_webhook_survives_a_sigkill_during_a_burst,
    a_job_claimed_too_often_fails_with_a_reason,
    an_event_nobody_can_read_is_parked_and_the_subscriptions_move_on,
    a_parked_event_that_can_be_read_now_is_retried,
);

const JOBS: usize = 6;

async fn terminal_events(db: &TestDb) -> i64 {
    store::event_log::count_of_types(&db.connect().await, &["Completed", "Failed"])
        .await
        .unwrap()
}

async fn jobs_interrupted_by_sigkill_finish_after_restart_and_views_match_the_log(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let key = random_key();
    let slow = ServerOptions {
        bootstrap_key: Some(key.clone()),
        env: Vec::new(),
    }
    .env("WORKER_STEP_DELAY_MS", 100)
    .env("WORKER_CONCURRENCY", 2);
    let server = TestServer::start_with(&db, slow).await;
    let mut jobs = Vec::new();
    for index in 0..JOBS {
        jobs.push(
            server
                .submit(&json!({
                    "job_role": format!("Backend Engineer {index}"),
                    "job_description": "Python, Django, PostgreSQL, Docker and Kubernetes; REST APIs."
                }))
                .await,
        );
    }
    // Wait until work is under way, then kill without warning.
    eventually(Duration::from_secs(30), || async {
        let status = server.status(&jobs[0]).await;
        (status["status"] == "processing").then_some(())
    })
    .await;
    server.kill().await;
    let ended_before_restart = terminal_events(&db).await;
    assert!(
        ended_before_restart < JOBS as i64,
        "the kill must interrupt work in flight"
    );

    let restarted = TestServer::start_with(
        &db,
        ServerOptions {
            bootstrap_key: Some(key),
            env: Vec::new(),
        },
    )
    .await;
    for job_id in &jobs {
        let status = restarted.wait_until_ended(job_id).await;
        assert_eq!(status["status"], "completed", "{status}");
        let assessment_id = status["result"]["assessment_id"].as_str().unwrap();
        let (code, _) = restarted
            .get(&format!("/api/v2/assessments/{assessment_id}/info"))
            .await;
        assert_eq!(code, reqwest::StatusCode::OK);
    }
    assert_eq!(
        terminal_events(&db).await,
        JOBS as i64,
        "each job ended once"
    );
    restarted.kill().await;

    let (ok, stdout) = cli(&db, &["replay", "--verify"]).await;
    assert!(ok, "views differ from a rebuild:\n{stdout}");
}

async fn a_graceful_shutdown_hands_interrupted_jobs_back_at_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let key = random_key();
    // A lease far longer than the test: only a released lease lets the job run again.
    let options = |delay: u64| {
        ServerOptions {
            bootstrap_key: Some(key.clone()),
            env: Vec::new(),
        }
        .env("JOB_LEASE_SECONDS", 600)
        .env("WORKER_STEP_DELAY_MS", delay)
    };
    // Steps a second apart: the job is still running when SIGTERM arrives, however loaded the
    // machine. Its start is read from the log, not the status view, which may lag behind.
    let server = TestServer::start_with(&db, options(1_000)).await;
    let job_id = server
        .submit(&json!({"job_role": "Data Analyst", "job_description": "SQL, Excel, Tableau"}))
        .await;
    eventually(Duration::from_secs(60), || async {
        let started = store::event_log::count_of_types(&db.connect().await, &["StepStarted"])
            .await
            .unwrap();
        (started > 0).then_some(())
    })
    .await;
    server.terminate().await;
    assert_eq!(terminal_events(&db).await, 0, "the job was interrupted");

    let restarted = TestServer::start_with(&db, options(0)).await;
    let status = restarted.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let messages = status["recent_logs"].to_string();
    assert!(
        messages.contains("Resuming after an interruption"),
        "{messages}"
    );
}

async fn every_webhook_survives_a_sigkill_during_a_burst(backend: Backend) {
    use crate::webhooks::{job_with_hook, local_webhooks, secret_of, settled, Answer, Listener};
    use std::collections::HashMap;

    let listener = Listener::start(Answer::Ok).await;
    let db = TestDb::new(backend).await;
    let key = random_key();
    let options = || {
        let mut options = local_webhooks();
        options.bootstrap_key = Some(key.clone());
        options
    };
    let server = TestServer::start_with(
        &db,
        options()
            .env("WORKER_STEP_DELAY_MS", 40)
            .env("WORKER_CONCURRENCY", 3),
    )
    .await;
    let secret = secret_of(&server).await;
    let mut jobs = Vec::new();
    for _ in 0..JOBS {
        jobs.push(server.submit(&job_with_hook(&listener.url)).await);
    }
    eventually(Duration::from_secs(30), || async {
        (listener.received().len() >= 10).then_some(())
    })
    .await;
    server.kill().await;
    assert!(
        terminal_events(&db).await < JOBS as i64,
        "the kill must interrupt work in flight"
    );

    let restarted = TestServer::start_with(&db, options()).await;
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    for job_id in &jobs {
        let status = restarted.wait_until_ended(job_id).await;
        assert_eq!(status["status"], "completed", "{status}");
    }
    let conn = db.connect().await;
    let mut logs = Vec::new();
    let mut per_job_events = Vec::new();
    for job_id in &jobs {
        let events = store::event_log::job_events(&conn, job_id)
            .await
            .unwrap()
            .len() as i64;
        per_job_events.push(events);
        let log = settled(&restarted, job_id).await;
        assert_eq!(
            log.len() as i64,
            events,
            "job {job_id}: one message per event"
        );
        logs.push(log);
    }
    let mut delivered_2xx: HashMap<String, usize> = HashMap::new();
    for request in listener.received() {
        verifier
            .verify(request.body.as_bytes(), &request.headers)
            .expect("valid signature");
        let id = request.headers["webhook-id"].to_str().unwrap().to_owned();
        *delivered_2xx.entry(id).or_default() += 1;
    }
    let mut duplicated = 0;
    for ((job_id, log), events) in jobs.iter().zip(logs).zip(per_job_events) {
        assert_eq!(
            log.len() as i64,
            events,
            "job {job_id}: one message per event"
        );
        assert_eq!(log.last().unwrap()["payload"]["status"], "completed");
        assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
        let ids: Vec<&str> = log.iter().map(|d| d["id"].as_str().unwrap()).collect();
        let mut arrivals: Vec<String> = Vec::new();
        for request in listener.received() {
            let id = request.headers["webhook-id"].to_str().unwrap().to_owned();
            if ids.contains(&id.as_str()) && !arrivals.contains(&id) {
                arrivals.push(id);
            }
        }
        assert_eq!(arrivals, ids, "job {job_id}: every message, in order");
        // Only a delivery in flight at the kill (one per job at most) may be repeated.
        let repeated = ids.iter().filter(|id| delivered_2xx[**id] > 1).count();
        assert!(
            repeated <= 1,
            "job {job_id}: {repeated} messages delivered twice"
        );
        duplicated += repeated;
    }
    assert!(duplicated <= JOBS);
}

async fn a_job_claimed_too_often_fails_with_a_reason(backend: Backend) {
    let db = TestDb::new(backend).await;
    // No claim is allowed: the first one already exceeds the limit.
    let server =
        TestServer::start_with(&db, ServerOptions::default().env("JOB_MAX_ATTEMPTS", 0)).await;
    let job_id = server
        .submit(&json!({"job_role": "Data Analyst", "job_description": "SQL and Tableau"}))
        .await;
    let status = server.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "failed", "{status}");
    let reason = status["result"]["error"].as_str().unwrap();
    assert!(reason.contains("has been stopped"), "{reason}");
}

/// An event that cannot be decoded no longer stops the subscriptions for good: each tries it
/// a few times, parks it and moves on, so later jobs complete; the job's status says what
/// happened; `replay --verify` reports it until `parked skip` resolves it.
async fn an_event_nobody_can_read_is_parked_and_the_subscriptions_move_on(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let first = server.submit(&seed_request()).await;
    assert_eq!(server.wait_until_ended(&first).await["status"], "completed");
    let store = db.connect().await;
    // An event no version of the service can read, appended to the finished job.
    let poison = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type,
                      event_version, payload, metadata)
                  SELECT aggregate_type, aggregate_id, 1000, 'LogAppended', event_version,
                         '{\"no such\": \"shape\"}', metadata
                  FROM events WHERE aggregate_id = $1 AND sequence = 1";
    match &store {
        store::Db::Postgres(pool) => {
            sqlx::query(poison)
                .bind(&first)
                .execute(pool)
                .await
                .unwrap();
        }
        store::Db::Sqlite(pool) => {
            sqlx::query(poison)
                .bind(&first)
                .execute(pool)
                .await
                .unwrap();
        }
    }
    let second = server.submit(&seed_request()).await;
    assert_eq!(
        server.wait_until_ended(&second).await["status"],
        "completed",
        "the read models went past the unreadable event"
    );
    let status = server.status(&first).await;
    assert_eq!(status["status"], "failed", "{status}");
    let error = status["result"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("could not be read"), "{error}");

    // The second job's completion waits on the read models only; the webhook outbox parks
    // the event on its own schedule.
    let parked = eventually(Duration::from_secs(60), || async {
        let (listed, out) = cli(&db, &["parked", "list", "--json"]).await;
        assert!(listed, "{out}");
        let parked: serde_json::Value = serde_json::from_str(&out).unwrap();
        let parked = parked.as_array().unwrap().clone();
        let mut subscriptions: Vec<String> = parked
            .iter()
            .map(|p| p["subscription"].as_str().unwrap().to_owned())
            .collect();
        subscriptions.sort();
        (subscriptions == ["read_models", "webhooks"]).then_some(parked)
    })
    .await;
    assert!(parked.iter().all(|p| p["job_id"] == first.as_str()));
    let position = parked[0]["position"].as_i64().unwrap().to_string();

    let (retried, _) = cli(&db, &["parked", "retry", "read_models", &position]).await;
    assert!(
        !retried,
        "an event that still cannot be read is not retried"
    );
    let (_, out) = cli(&db, &["parked", "list", "--json"]).await;
    let still: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        still.as_array().unwrap().len(),
        2,
        "a failed retry changes nothing"
    );

    let (verified, report) = cli(&db, &["replay", "--verify"]).await;
    assert!(!verified, "a parked event fails the verification: {report}");
    assert!(report.contains("is parked by read_models"), "{report}");
    assert!(report.contains("but for the parked events"), "{report}");
    for subscription in ["read_models", "webhooks"] {
        let (skipped, out) = cli(&db, &["parked", "skip", subscription, &position]).await;
        assert!(skipped, "{out}");
        let (again, _) = cli(&db, &["parked", "skip", subscription, &position]).await;
        assert!(!again, "a resolved event cannot be skipped twice");
    }
    let (verified, report) = cli(&db, &["replay", "--verify"]).await;
    assert!(verified, "{report}");
    let (_, out) = cli(&db, &["parked", "list"]).await;
    assert!(out.contains("no parked events"), "{out}");
}

/// A parked event that can be read now (after an upgrade, say) is retried: its job's views
/// are folded afresh with it, and it leaves the parked list. The parked state is made as a
/// rebuild makes it: `replay` leaves a parked event out and marks its job failed.
async fn a_parked_event_that_can_be_read_now_is_retried(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job = server.submit(&seed_request()).await;
    assert_eq!(server.wait_until_ended(&job).await["status"], "completed");
    server.terminate().await;
    let store = db.connect().await;
    let park = "INSERT INTO parked_events (subscription, position, job_id, event_type, error)
                SELECT 'read_models', position, aggregate_id, event_type, 'an older version'
                FROM events WHERE aggregate_id = $1 AND event_type = 'Completed'
                RETURNING position";
    let position: i64 = match &store {
        store::Db::Postgres(pool) => sqlx::query_scalar(park)
            .bind(&job)
            .fetch_one(pool)
            .await
            .unwrap(),
        store::Db::Sqlite(pool) => sqlx::query_scalar(park)
            .bind(&job)
            .fetch_one(pool)
            .await
            .unwrap(),
    };
    let (rebuilt, out) = cli(&db, &["replay"]).await;
    assert!(rebuilt, "{out}");
    let server = TestServer::start(&db).await;
    assert_eq!(server.status(&job).await["status"], "failed");

    let position = position.to_string();
    let (retried, out) = cli(&db, &["parked", "retry", "read_models", &position]).await;
    assert!(retried, "{out}");
    let status = server.status(&job).await;
    assert_eq!(status["status"], "completed", "{status}");
    let (_, out) = cli(&db, &["parked", "list"]).await;
    assert!(out.contains("no parked events"), "{out}");
    let (verified, report) = cli(&db, &["replay", "--verify"]).await;
    assert!(verified, "{report}");
    let (again, _) = cli(&db, &["parked", "retry", "read_models", &position]).await;
    assert!(!again, "nothing is parked there any more");
}
