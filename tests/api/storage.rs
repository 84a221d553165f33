//! The event store itself: what a job's history looks like, immutability, migrations, and the
//! comparison of read models with a rebuild from the log. Tests elsewhere reach the tables only
//! through the store API; here some speak SQL on purpose, because their subject is what the
//! schema itself refuses (updates of recorded events, unknown states) and its migration table.

use assessment_service::{store, with_pool};
use serde_json::json;

use crate::helpers::{
    cli, cli_failure, damage_status_views, seed_request, Backend, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    a_jobs_history_is_ordered_positioned_and_complete,
    recorded_events_refuse_update_and_delete,
    queue_and_outbox_states_are_checked_by_the_database,
    migrate_can_run_again_on_a_migrated_database,
    commands_refuse_an_out_of_date_schema_and_say_to_migrate,
    replay_verify_reports_a_tampered_read_model,
);

async fn a_jobs_history_is_ordered_positioned_and_complete(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server.submit(&seed_request()).await;
    server.wait_until_ended(&job_id).await;

    let rows = store::event_log::job_events(&db.connect().await, &job_id)
        .await
        .unwrap();
    assert!(rows.len() > 5);
    assert_eq!(rows.first().unwrap().event_type, "JobRequested");
    assert_eq!(rows.last().unwrap().event_type, "Completed");
    for (index, event) in rows.iter().enumerate() {
        assert_eq!(event.sequence, index as i64 + 1);
        let expected = if event.event_type == "JobRequested" {
            "2.0"
        } else {
            "1.0"
        };
        assert_eq!(event.event_version, expected);
    }
    assert!(
        rows.windows(2)
            .all(|w| w[0].position < w[1].position && w[0].recorded_at <= w[1].recorded_at),
        "positions and times increase"
    );
    let types: Vec<&str> = rows.iter().map(|r| r.event_type.as_str()).collect();
    assert!(types.contains(&"StepStarted") && types.contains(&"LogAppended"));
}

/// A database with one finished job (and the server that ran it, kept alive).
async fn one_finished_job(backend: Backend) -> (TestDb, TestServer, String) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server
        .submit(&json!({"job_role": "Analyst", "job_description": "SQL"}))
        .await;
    server.wait_until_ended(&job_id).await;
    (db, server, job_id)
}

async fn recorded_events_refuse_update_and_delete(backend: Backend) {
    let (db, _server, _) = one_finished_job(backend).await;
    let conn = db.connect().await;
    let before = crate::helpers::event_count(&conn).await;
    let update: Result<_, sqlx::Error> = with_pool!(&conn, |pool| {
        sqlx::query("UPDATE events SET event_type = 'Tampered'")
            .execute(pool)
            .await
            .map(|_| ())
    });
    let error = update.expect_err("UPDATE must be refused").to_string();
    assert!(error.contains("events are immutable"), "{error}");
    let delete: Result<_, sqlx::Error> = with_pool!(&conn, |pool| {
        sqlx::query("DELETE FROM events")
            .execute(pool)
            .await
            .map(|_| ())
    });
    let error = delete.expect_err("DELETE must be refused").to_string();
    assert!(error.contains("events are immutable"), "{error}");
    assert_eq!(crate::helpers::event_count(&conn).await, before);
}

async fn queue_and_outbox_states_are_checked_by_the_database(backend: Backend) {
    let (db, _server, job_id) = one_finished_job(backend).await;
    let conn = db.connect().await;
    let refused = |sql: &'static str| {
        let conn = conn.clone();
        let job_id = job_id.clone();
        async move {
            let outcome: Result<_, sqlx::Error> = with_pool!(&conn, |pool| {
                sqlx::query(sql)
                    .bind(&job_id)
                    .execute(pool)
                    .await
                    .map(|_| ())
            });
            outcome.expect_err(sql).to_string()
        }
    };
    let by_state_check = |error: &str, table: &str| {
        error.contains(&format!("{table}_state_known"))
            || error.contains(&format!("{table}.state must be"))
    };
    let error = refused("UPDATE job_queue SET state = 'gone' WHERE job_id = $1").await;
    assert!(by_state_check(&error, "job_queue"), "{error}");
    let error = refused(
        "INSERT INTO webhook_messages
             (id, job_id, organization_id, sequence, payload, state, next_attempt_at, created_at)
         VALUES ('msg_x', $1, 'default', 1, '{}', 'gone', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    .await;
    assert!(by_state_check(&error, "webhook_messages"), "{error}");
    let states: Vec<String> = with_pool!(&conn, |pool| {
        sqlx::query_scalar("SELECT state FROM job_queue WHERE job_id = $1")
            .bind(&job_id)
            .fetch_all(pool)
            .await
            .unwrap()
    });
    assert_eq!(states, ["done"], "a refused change changes nothing");
}

async fn migrate_can_run_again_on_a_migrated_database(backend: Backend) {
    let db = TestDb::new(backend).await;
    for _ in 0..2 {
        let (ok, stdout) = cli(&db, &["migrate"]).await;
        assert!(ok, "{stdout}");
        assert!(stdout.contains("migrations applied"));
    }
}

/// Only `migrate` changes an existing schema: the others stop, naming the command to run.
async fn commands_refuse_an_out_of_date_schema_and_say_to_migrate(backend: Backend) {
    let db = TestDb::new(backend).await;
    // The database as the previous build left it: every migration but the newest.
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let source = format!("{}/migrations/{folder}", env!("CARGO_MANIFEST_DIR"));
    let previous = tempfile::tempdir().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&source)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files.pop();
    for file in &files {
        std::fs::copy(file, previous.path().join(file.file_name().unwrap())).unwrap();
    }
    let migrator = sqlx::migrate::Migrator::new(previous.path()).await.unwrap();
    let conn = db.connect().await;
    with_pool!(&conn, |pool| migrator.run(pool).await.unwrap());
    for command in [
        &["api-keys", "list"][..],
        &["replay", "--verify"],
        &["serve"],
    ] {
        let refusal = cli_failure(&db, command).await;
        assert!(refusal.contains("out of date"), "{command:?}: {refusal}");
        assert!(refusal.contains("assessment-service migrate"), "{refusal}");
    }
    let (ok, stdout) = cli(&db, &["migrate"]).await;
    assert!(ok, "{stdout}");
    let (ok, stdout) = cli(&db, &["api-keys", "list"]).await;
    assert!(ok, "current again after migrate: {stdout}");
}

async fn replay_verify_reports_a_tampered_read_model(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server.submit(&seed_request()).await;
    server.wait_until_ended(&job_id).await;
    server.kill().await;

    let (ok, stdout) = cli(&db, &["replay", "--verify"]).await;
    assert!(ok, "{stdout}");
    assert!(stdout.contains("read models match the event log"));

    damage_status_views(&db, "completed", "failed").await;
    let (ok, stdout) = cli(&db, &["replay", "--verify"]).await;
    assert!(!ok, "a tampered view must fail verification");
    assert!(stdout.contains(&job_id), "{stdout}");
}
