//! Webhooks against a real local listener: every update, in order, signed (checked with the
//! `standardwebhooks` crate's verifier); retries after failures and outages; 410 Gone; no
//! redirects; the SSRF guard; the delivery log, redelivery and secret rotation.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use standardwebhooks::Webhook;

use assessment_service::store::Db;

use crate::helpers::{
    cli, eventually, json_of, seed_request, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    every_update_of_a_job_arrives_in_order_and_signed,
    a_listener_that_fails_at_first_gets_everything_afterwards,
    a_listener_that_is_down_during_the_job_gets_everything_once_up,
    gone_stops_the_jobs_deliveries,
    redirects_are_not_followed,
    the_ssrf_guard_refuses_internal_targets_by_default,
    the_delivery_log_and_redelivery_are_scoped_to_the_organization,
    a_rotated_secret_signs_beside_the_new_one_during_the_grace_period,
    a_hanging_listener_delays_no_other_job,
    a_parked_event_retried_by_the_webhooks_is_delivered,
);

/// What the listener does with a request.
#[derive(Clone, Copy)]
pub enum Answer {
    Ok,
    /// 500 for the first N requests, then 200.
    FailFirst(usize),
    Gone,
    Redirect,
    /// Never answers in time.
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub answered: u16,
}

#[derive(Clone)]
struct ListenerState {
    answer: Answer,
    seen: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
    moved: Arc<AtomicUsize>,
}

pub struct Listener {
    pub url: String,
    pub moved_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    moved: Arc<AtomicUsize>,
}

async fn hook(
    State(state): State<ListenerState>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let count = state.seen.fetch_add(1, Ordering::SeqCst);
    let (status, location) = match state.answer {
        Answer::Ok => (StatusCode::OK, None),
        Answer::FailFirst(n) if count < n => (StatusCode::INTERNAL_SERVER_ERROR, None),
        Answer::FailFirst(_) => (StatusCode::NO_CONTENT, None),
        Answer::Gone => (StatusCode::GONE, None),
        Answer::Redirect => (StatusCode::TEMPORARY_REDIRECT, Some("/moved")),
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            (StatusCode::OK, None)
        }
    };
    state.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: status.as_u16(),
    });
    let mut response = (status, "listener says hello").into_response();
    if let Some(location) = location {
        response
            .headers_mut()
            .insert("location", location.parse().unwrap());
    }
    response
}

async fn moved(State(state): State<ListenerState>) -> StatusCode {
    state.moved.fetch_add(1, Ordering::SeqCst);
    StatusCode::OK
}

impl Listener {
    pub async fn start(answer: Answer) -> Listener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, answer)
    }

    /// A listener on `address`, which may have been unreachable until now.
    pub async fn start_on(address: std::net::SocketAddr, answer: Answer) -> Listener {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        Self::serve(listener, answer)
    }

    fn serve(listener: tokio::net::TcpListener, answer: Answer) -> Listener {
        let address = listener.local_addr().unwrap();
        let state = ListenerState {
            answer,
            seen: Arc::new(AtomicUsize::new(0)),
            received: Arc::new(Mutex::new(Vec::new())),
            moved: Arc::new(AtomicUsize::new(0)),
        };
        let received = state.received.clone();
        let moved_count = state.moved.clone();
        let app = Router::new()
            .route("/hook", post(hook))
            .route("/moved", post(moved).get(moved))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Listener {
            url: format!("http://{address}/hook"),
            moved_url: format!("http://{address}/moved"),
            received,
            moved: moved_count,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Bodies and ids of the requests answered with a 2xx, in arrival order.
    pub fn accepted(&self) -> Vec<(String, Value)> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(|r| {
                let id = r.headers["webhook-id"].to_str().unwrap().to_owned();
                (id, serde_json::from_str(&r.body).unwrap())
            })
            .collect()
    }
}

/// A server whose webhooks may reach this machine's own listeners, retrying quickly.
pub fn local_webhooks() -> ServerOptions {
    ServerOptions::default()
        .env("ALLOW_PRIVATE_WEBHOOK_TARGETS", "true")
        .env(
            "WEBHOOK_RETRY_SCHEDULE",
            "300ms,500ms,1s,1s,1s,2s,2s,2s,3s,3s",
        )
        .env("WEBHOOK_TIMEOUT_SECONDS", 5)
}

pub async fn secret_of(server: &TestServer) -> String {
    let (code, body) = server.get("/api/v2/webhooks/secret").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let secret = body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    secret
}

pub fn job_with_hook(url: &str) -> Value {
    let mut request = seed_request();
    request["notification_url"] = json!(url);
    request
}

pub async fn deliveries(server: &TestServer, job_id: &str) -> Vec<Value> {
    let (code, body) = server
        .get(&format!(
            "/api/v2/task-executions/{job_id}/webhook-deliveries"
        ))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// Waits until the job has ended, the outbox holds a message for each of its events, and none
/// is pending any more; returns the delivery log.
pub async fn settled(server: &TestServer, job_id: &str) -> Vec<Value> {
    server.wait_until_ended(job_id).await;
    eventually(Duration::from_secs(60), || async {
        let (_, history) = server
            .get(&format!("/api/v2/task-executions/{job_id}/events"))
            .await;
        let events = history["events"].as_array().map_or(0, Vec::len);
        let log = deliveries(server, job_id).await;
        (log.len() == events && log.iter().all(|d| d["state"] != "pending")).then_some(log)
    })
    .await
}

/// Checks the whole story of a job as its listener heard it.
fn assert_complete_story(listener: &Listener, secret: &str, log: &[Value]) {
    let verifier = Webhook::new(secret).unwrap();
    for request in listener.received() {
        verifier
            .verify(request.body.as_bytes(), &request.headers)
            .expect("every request carries a valid Standard Webhooks signature");
    }
    let accepted = listener.accepted();
    let expected: Vec<String> = log
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let mut first_arrivals: Vec<String> = Vec::new();
    for (id, _) in &accepted {
        if !first_arrivals.contains(id) {
            first_arrivals.push(id.clone());
        }
    }
    assert_eq!(first_arrivals, expected, "every update arrives, in order");
    let bodies: HashMap<&str, &Value> = accepted.iter().map(|(id, b)| (id.as_str(), b)).collect();
    let first = bodies[expected.first().unwrap().as_str()];
    let last = bodies[expected.last().unwrap().as_str()];
    assert_eq!(first["status"], "pending");
    assert_eq!(
        first["message"],
        "Assessment creation job has been queued successfully"
    );
    assert_eq!(last["status"], "completed");
    assert!(last["result"]["assessment_id"].is_string(), "{last}");
    for body in bodies.values() {
        let keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for field in ["job_id", "status", "message", "timestamp"] {
            assert!(keys.contains(&field), "{body}");
        }
        let timestamp = body["timestamp"].as_str().unwrap();
        assert!(
            timestamp.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(timestamp).is_ok()
        );
    }
    assert!(bodies.values().any(|b| b["status"] == "processing"));
}

async fn every_update_of_a_job_arrives_in_order_and_signed(backend: Backend) {
    let listener = Listener::start(Answer::Ok).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let secret = secret_of(&server).await;
    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    let log = settled(&server, &job_id).await;
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    let events = crate::helpers::event_count(&db.connect().await).await;
    assert_eq!(log.len() as i64, events, "one message per event of the job");
    assert_complete_story(&listener, &secret, &log);
    let headers = &listener.received()[0].headers;
    assert_eq!(headers["content-type"], "application/json");
    for request in listener.received() {
        assert_eq!(request.headers.get_all("webhook-id").iter().count(), 1);
    }
}

async fn a_listener_that_fails_at_first_gets_everything_afterwards(backend: Backend) {
    let listener = Listener::start(Answer::FailFirst(3)).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let secret = secret_of(&server).await;
    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    let log = settled(&server, &job_id).await;
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    let first_attempts = log[0]["attempts"].as_array().unwrap();
    assert_eq!(
        first_attempts.len(),
        4,
        "three failures, then success: {first_attempts:?}"
    );
    assert_eq!(first_attempts[0]["status_code"], 500);
    assert_eq!(first_attempts[0]["response_body"], "listener says hello");
    assert_eq!(first_attempts[3]["status_code"], 204);
    let ids: Vec<String> = listener
        .received()
        .iter()
        .take(4)
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "a retry keeps its webhook-id: {ids:?}"
    );
    assert_complete_story(&listener, &secret, &log);
}

async fn a_listener_that_is_down_during_the_job_gets_everything_once_up(backend: Backend) {
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = reserved.local_addr().unwrap();
    drop(reserved);
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let secret = secret_of(&server).await;
    let job_id = server
        .submit(&job_with_hook(&format!("http://{address}/hook")))
        .await;
    server.wait_until_ended(&job_id).await;
    eventually(Duration::from_secs(30), || async {
        let log = deliveries(&server, &job_id).await;
        log.first()
            .filter(|d| !d["attempts"].as_array().unwrap().is_empty())
            .map(|_| ())
    })
    .await;
    let refused = deliveries(&server, &job_id).await;
    assert!(
        refused[0]["attempts"][0]["error"].is_string(),
        "{:?}",
        refused[0]
    );

    let listener = Listener::start_on(address, Answer::Ok).await;
    let log = settled(&server, &job_id).await;
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    assert_complete_story(&listener, &secret, &log);
}

async fn gone_stops_the_jobs_deliveries(backend: Backend) {
    let listener = Listener::start(Answer::Gone).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    let log = settled(&server, &job_id).await;
    assert_eq!(
        listener.received().len(),
        1,
        "nothing is sent after 410 Gone"
    );
    assert!(log.iter().all(|d| d["state"] == "cancelled"), "{log:?}");
    assert_eq!(log[0]["attempts"][0]["status_code"], 410);
}

async fn redirects_are_not_followed(backend: Backend) {
    let listener = Listener::start(Answer::Redirect).await;
    let db = TestDb::new(backend).await;
    let options = local_webhooks().env("WEBHOOK_RETRY_SCHEDULE", "200ms");
    let server = TestServer::start_with(&db, options).await;
    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    let log = settled(&server, &job_id).await;
    assert_eq!(
        listener.moved.load(Ordering::SeqCst),
        0,
        "{}",
        listener.moved_url
    );
    assert_eq!(log[0]["state"], "failed");
    let attempt = &log[0]["attempts"][0];
    assert_eq!(attempt["status_code"], 307);
    assert!(attempt["error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));
}

async fn the_ssrf_guard_refuses_internal_targets_by_default(backend: Backend) {
    let listener = Listener::start(Answer::Ok).await;
    let port = listener
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let db = TestDb::new(backend).await;
    // No ALLOW_PRIVATE_WEBHOOK_TARGETS: the guard is on. The retry schedule is the default
    // (three days): a refused target must fail at once, not wait for it.
    let server = TestServer::start(&db).await;
    let targets = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        "http://10.0.0.1/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        // 6to4, Teredo and IPv4-compatible forms of 127.0.0.1.
        format!("http://[2002:7f00:1::1]:{port}/hook"),
        format!("http://[2001:0:808:808::80ff:fffe]:{port}/hook"),
        format!("http://[::7f00:1]:{port}/hook"),
        // A name that does not resolve reads like one that resolves inside.
        "http://no-such-host.invalid/hook".to_owned(),
    ];
    let mut jobs = Vec::new();
    for target in &targets {
        let mut request = json!({"job_role": "Analyst", "job_description": "SQL and Excel"});
        request["notification_url"] = json!(target);
        jobs.push(server.submit(&request).await);
    }
    for (job_id, target) in jobs.iter().zip(&targets) {
        let log = settled(&server, job_id).await;
        for delivery in &log {
            let attempts = delivery["attempts"].as_array().unwrap();
            assert_eq!(attempts.len(), 1, "{target}: {delivery}");
            assert_eq!(
                attempts[0]["error"],
                "refused by the SSRF guard: the target does not resolve to a public address",
                "{target}: {delivery}"
            );
            assert_eq!(attempts[0]["status_code"], Value::Null, "{target}");
            assert_eq!(delivery["state"], "failed", "{target}");
        }
    }
    assert!(
        listener.received().is_empty(),
        "nothing reached the internal listener"
    );
}

async fn the_delivery_log_and_redelivery_are_scoped_to_the_organization(backend: Backend) {
    let listener = Listener::start(Answer::Ok).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    let log = settled(&server, &job_id).await;
    let first = log[0]["id"].as_str().unwrap().to_owned();
    let attempt = &log[0]["attempts"][0];
    assert_eq!(attempt["status_code"], 200);
    assert!(attempt["attempted_at"].is_string() && attempt["duration_ms"].is_number());

    let other = crate::helpers::create_key(&db, "globex").await;
    let other_key = other["api_key"].as_str().unwrap();
    let path = format!("/api/v2/task-executions/{job_id}/webhook-deliveries");
    let (code, _) = server.get_with_key(&path, other_key).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let redeliver = format!("{path}/{first}/redeliver");
    let response = server
        .client
        .post(server.url(&redeliver))
        .header("apiKey", other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let before = listener.received().len();
    let response = server
        .client
        .post(server.url(&redeliver))
        .header("apiKey", &server.api_key)
        .send()
        .await
        .unwrap();
    let (code, body) = json_of(response).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    eventually(Duration::from_secs(30), || async {
        (listener.received().len() > before).then_some(())
    })
    .await;
    let again = listener.received().last().unwrap().clone();
    assert_eq!(
        again.headers["webhook-id"],
        first.as_str(),
        "same webhook-id"
    );
    let log = settled(&server, &job_id).await;
    assert_eq!(log[0]["attempts"].as_array().unwrap().len(), 2);
}

async fn a_rotated_secret_signs_beside_the_new_one_during_the_grace_period(backend: Backend) {
    let listener = Listener::start(Answer::Ok).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let old = secret_of(&server).await;
    let response = server
        .client
        .post(server.url("/api/v2/webhooks/secret/rotate"))
        .header("apiKey", &server.api_key)
        .send()
        .await
        .unwrap();
    let (code, rotated) = json_of(response).await;
    assert_eq!(code, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_valid_until"].is_string());
    assert_eq!(secret_of(&server).await, new);

    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    settled(&server, &job_id).await;
    let request = listener.received()[0].clone();
    let signatures = request.headers["webhook-signature"].to_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    for secret in [&old, &new] {
        Webhook::new(secret)
            .unwrap()
            .verify(request.body.as_bytes(), &request.headers)
            .expect("old and new secrets both verify during the grace period");
    }
}

async fn a_hanging_listener_delays_no_other_job(backend: Backend) {
    let stuck = Listener::start(Answer::Hang).await;
    let healthy = Listener::start(Answer::Ok).await;
    let db = TestDb::new(backend).await;
    let options = local_webhooks().env("WEBHOOK_TIMEOUT_SECONDS", 30);
    let server = TestServer::start_with(&db, options).await;
    let secret = secret_of(&server).await;
    let stuck_job = server.submit(&job_with_hook(&stuck.url)).await;
    let job_id = server.submit(&job_with_hook(&healthy.url)).await;
    // The other job has everything while the stuck delivery is still in flight: its first
    // attempt is not even recorded yet (that happens at its 30 s timeout).
    let log = settled(&server, &job_id).await;
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    let stuck_log = deliveries(&server, &stuck_job).await;
    assert_eq!(stuck_log[0]["state"], "pending");
    assert_eq!(
        stuck_log[0]["attempts"],
        json!([]),
        "the stuck delivery is still in flight"
    );
    assert_complete_story(&healthy, &secret, &log);
    assert_eq!(
        stuck.received().len(),
        0,
        "the stuck listener has not answered yet"
    );
    let (code, _) = server
        .get(&format!("/api/v2/task-executions/status/{job_id}"))
        .await;
    assert_eq!(code, StatusCode::OK, "the API answers meanwhile");
}

/// An event the webhook subscription parked, retried once it can be read, is queued and
/// delivered. The parked state is made by hand: the job's `Completed` event parked and its
/// message never queued.
async fn a_parked_event_retried_by_the_webhooks_is_delivered(backend: Backend) {
    let listener = Listener::start(Answer::Ok).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, local_webhooks()).await;
    let job_id = server.submit(&job_with_hook(&listener.url)).await;
    settled(&server, &job_id).await;
    let before = listener.accepted().len();
    let store = db.connect().await;
    let park = "INSERT INTO parked_events (subscription, position, job_id, event_type, error)
                SELECT 'webhooks', position, aggregate_id, event_type, 'an older version'
                FROM events WHERE aggregate_id = $1 AND event_type = 'Completed'
                RETURNING position";
    let forget = [
        "DELETE FROM webhook_attempts WHERE message_id IN (
             SELECT m.id FROM webhook_messages m JOIN events e
               ON e.aggregate_id = m.job_id AND e.sequence = m.sequence
             WHERE m.job_id = $1 AND e.event_type = 'Completed')",
        "DELETE FROM webhook_messages WHERE job_id = $1 AND sequence =
             (SELECT sequence FROM events WHERE aggregate_id = $1 AND event_type = 'Completed')",
    ];
    let position: i64 = match &store {
        Db::Postgres(pool) => {
            let position = sqlx::query_scalar(park).bind(&job_id).fetch_one(pool).await;
            for sql in forget {
                sqlx::query(sql).bind(&job_id).execute(pool).await.unwrap();
            }
            position.unwrap()
        }
        Db::Sqlite(pool) => {
            let position = sqlx::query_scalar(park).bind(&job_id).fetch_one(pool).await;
            for sql in forget {
                sqlx::query(sql).bind(&job_id).execute(pool).await.unwrap();
            }
            position.unwrap()
        }
    };
    let position = position.to_string();
    let (retried, out) = cli(&db, &["parked", "retry", "webhooks", &position]).await;
    assert!(retried, "{out}");
    let delivered = eventually(Duration::from_secs(30), || async {
        let accepted = listener.accepted();
        (accepted.len() > before).then_some(accepted)
    })
    .await;
    let (_, last) = delivered.last().unwrap();
    assert_eq!(last["status"], "completed", "{last}");
    let (_, out) = cli(&db, &["parked", "list"]).await;
    assert!(out.contains("no parked events"), "{out}");
}
