//! What operators use: liveness and readiness, request ids, and logs a shipper can read.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    eventually, json_of, seed_request, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    health_and_readiness_answer_without_a_key_and_readiness_checks_the_schema,
    every_log_line_is_json_and_a_requests_lines_carry_its_id,
);

async fn health_and_readiness_answer_without_a_key_and_readiness_checks_the_schema(
    backend: Backend,
) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let get = |path: &'static str| {
        let request = server.client.get(server.url(path));
        async move { json_of(request.send().await.expect("GET")).await }
    };
    let (code, alive) = get("/healthz").await;
    assert_eq!(
        (code, alive["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    let job_id = server.submit(&seed_request()).await;
    server.wait_until_ended(&job_id).await;
    let (code, ready) = get("/readyz").await;
    assert_eq!(code, StatusCode::OK, "{ready}");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["schema"], "current");
    for lag in ["read_models_lag_seconds", "webhooks_lag_seconds"] {
        assert!(ready["checks"][lag].as_f64().is_some(), "{ready}");
    }

    // A newer build migrated the database under this one: not ready, and it says why.
    let pool = db.connect().await;
    let recorded = match &pool {
        assessment_service::store::Db::Postgres(pool) => sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (29991231000000, 'from a newer build', TRUE, '\\x00'::bytea, 1)",
        )
        .execute(pool)
        .await
        .map(|_| ()),
        assessment_service::store::Db::Sqlite(pool) => sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (29991231000000, 'from a newer build', 1, x'00', 1)",
        )
        .execute(pool)
        .await
        .map(|_| ()),
    };
    recorded.expect("record a migration this build does not have");
    let (code, ready) = get("/readyz").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["status"], "not ready");
    assert!(
        ready["error"].as_str().unwrap().contains("schema"),
        "{ready}"
    );
    // Alive all the same.
    let (code, _) = get("/healthz").await;
    assert_eq!(code, StatusCode::OK);
}

async fn every_log_line_is_json_and_a_requests_lines_carry_its_id(backend: Backend) {
    let db = TestDb::new(backend).await;
    let options = ServerOptions::default()
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    let server = TestServer::start_with(&db, options).await;
    let response = server
        .client
        .post(server.url("/api/v2/assessments/generate-ai"))
        .header("apiKey", &server.api_key)
        .header("x-request-id", "trace-0042")
        .json(&seed_request())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["x-request-id"], "trace-0042");

    // The line the request wrote carries its id.
    let queued = eventually(Duration::from_secs(10), || async {
        let logs = server.logs.lock().unwrap().clone();
        logs.iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["fields"]["message"] == "assessment job queued")
    })
    .await;
    assert_eq!(queued["span"]["request_id"], "trace-0042", "{queued}");

    // Without an id, or with one no log should carry, the service makes its own.
    let made = |value: Option<&str>| {
        let mut request = server.client.get(server.url("/healthz"));
        if let Some(value) = value {
            request = request.header("x-request-id", value);
        }
        async move {
            let response = request.send().await.expect("GET");
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let long = "x".repeat(200);
    for sent in [None, Some(long.as_str())] {
        let id = made(sent).await;
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{sent:?} -> {id}");
    }

    let logs = server.logs.lock().unwrap().clone();
    assert!(!logs.is_empty());
    for line in &logs {
        let parsed: Value = serde_json::from_str(line)
            .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"));
        assert!(
            parsed["timestamp"].is_string() && parsed["level"].is_string(),
            "{line}"
        );
        assert!(!line.contains(&server.api_key), "a key in the log: {line}");
    }
}

/// PostgreSQL only: a session there can hold the subscription's checkpoint row while the
/// service goes on taking requests (SQLite's one writer would stop those too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_a_subscription_is_held_behind_the_log() {
    let db = TestDb::new(Backend::Postgres).await;
    let options = ServerOptions::default().env("READY_MAX_LAG_SECONDS", 1);
    let server = TestServer::start_with(&db, options).await;
    let job_id = server.submit(&seed_request()).await;
    server.wait_until_ended(&job_id).await;

    let assessment_service::store::Db::Postgres(pool) = db.connect().await else {
        unreachable!("a PostgreSQL database")
    };
    let mut holder = pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM subscription_checkpoints WHERE name = 'read_models' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .expect("hold the read models' checkpoint");
    server.submit(&seed_request()).await;
    let behind = eventually(Duration::from_secs(30), || async {
        let response = server.client.get(server.url("/readyz")).send().await.ok()?;
        let (code, body) = json_of(response).await;
        (code == StatusCode::SERVICE_UNAVAILABLE).then_some(body)
    })
    .await;
    assert!(
        behind["error"].as_str().unwrap().contains("read_models"),
        "{behind}"
    );
    holder.rollback().await.expect("let go");
    eventually(Duration::from_secs(30), || async {
        let response = server.client.get(server.url("/readyz")).send().await.ok()?;
        (response.status() == StatusCode::OK).then_some(())
    })
    .await;
}
