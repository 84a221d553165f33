//! The router in process: requests go straight to the `Router` (no socket, no child process)
//! over a scratch SQLite database and a manual clock. The black-box tests in `tests/api` run
//! the built binary on both backends; these pin what is easier to see from inside: that the
//! handlers read the injected clock, and that a refused request writes nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::DateTime;
use serde_json::{json, Value};
use tokio::sync::watch;
use tower::ServiceExt;

use super::{router, AppState};
use crate::clock::Clock;
use crate::commands::CommandBus;
use crate::generator::Engine;
use crate::store::{event_log, scratch_database, Db};
use crate::webhooks::{parse_schedule, WebhookConfig, DEFAULT_RETRY_SCHEDULE};

struct App {
    router: axum::Router,
    db: Db,
    key: String,
    clock: Clock,
    _folder: tempfile::TempDir,
}

impl App {
    async fn new() -> App {
        let (db, folder) = scratch_database().await;
        let clock = Clock::manual(DateTime::from_timestamp(1_760_000_000, 0).unwrap());
        let created = crate::api_keys::create(&db, "test", "acme", clock.now())
            .await
            .unwrap();
        let (committed, _) = watch::channel(0);
        let (_, shutdown) = watch::channel(false);
        let state = AppState {
            db: db.clone(),
            bus: CommandBus::new(&db, Arc::new(committed)),
            engine: Arc::new(Engine::embedded().unwrap()),
            webhooks: WebhookConfig {
                timeout: std::time::Duration::from_secs(5),
                retry_schedule: parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap(),
                allow_private_targets: false,
                concurrency: 1,
                secret_grace: std::time::Duration::from_secs(3_600),
            },
            clock: clock.clone(),
            keys: Default::default(),
            ready_max_lag: std::time::Duration::from_secs(60),
            limits: Default::default(),
            shutdown,
        };
        App {
            router: router(state),
            db,
            key: created.api_key,
            clock,
            _folder: folder,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("X-API-Key", &self.key)
            .header("content-type", "application/json");
        let body = body.map_or_else(Body::empty, |body| Body::from(body.to_string()));
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn events(&self) -> i64 {
        let mut tx = self.db.begin_read().await.unwrap();
        event_log::count(&mut tx).await.unwrap()
    }
}

fn request() -> Value {
    json!({
        "job_role": "Backend Engineer",
        "job_description": "Build REST APIs in Python with PostgreSQL and Docker.",
    })
}

#[tokio::test]
async fn a_job_is_recorded_at_the_clocks_time_and_polled_before_any_view_exists() {
    let app = App::new().await;
    app.clock.advance(std::time::Duration::from_secs(30));
    let (status, accepted) = app
        .call("POST", "/api/v2/assessments/generate-ai", Some(request()))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let job_id = accepted["job_id"].as_str().unwrap();

    // No subscription runs here: the status is folded from the job's own events.
    let path = format!("/api/v2/task-executions/status/{job_id}");
    let (status, view) = app.call("GET", &path, None).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "pending");
    assert_eq!(view["created_at"], "2025-10-09T08:53:50");
    assert_eq!(app.events().await, 1);
}

#[tokio::test]
async fn refused_requests_answer_json_and_write_nothing() {
    let app = App::new().await;
    let mut without_role = request();
    without_role["job_role"] = json!("   ");
    let (status, error) = app
        .call(
            "POST",
            "/api/v2/assessments/generate-ai",
            Some(without_role),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "Job role and job description are required");

    let (status, error) = app.call("GET", "/api/v2/no-such-route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error.is_object(), "{error}");

    let unknown = "/api/v2/task-executions/status/7d0b6a3e-8f3c-4c36-9d53-3a1f3c0e6f11";
    let (status, _) = app.call("GET", unknown, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.events().await, 0);
}
