//! A crash at any point loses nothing: SIGKILL mid-way, restart, every job ends, and the read
//! models equal a rebuild from the log.

use std::time::Duration;

use assessment_service::with_pool;
use serde_json::json;

use crate::helpers::{cli, eventually, random_key, Backend, ServerOptions, TestDb, TestServer};
use crate::on_both_backends;

on_both_backends!(
    jobs_interrupted_by_sigkill_finish_after_restart_and_views_match_the_log,
    a_graceful_shutdown_hands_interrupted_jobs_back_at_once,
);

const JOBS: usize = 6;

async fn terminal_events(db: &TestDb) -> i64 {
    with_pool!(&db.connect().await, |pool| {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM events WHERE event_type IN ('Completed', 'Failed')",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    })
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
    let server = TestServer::start_with(&db, options(200)).await;
    let job_id = server
        .submit(&json!({"job_role": "Data Analyst", "job_description": "SQL, Excel, Tableau"}))
        .await;
    eventually(Duration::from_secs(30), || async {
        (server.status(&job_id).await["status"] == "processing").then_some(())
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
