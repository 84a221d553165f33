//! The history for auditors: a job's events, the organization's feed in commit order under
//! concurrent writers, status as of a point in the log, replay and transfer between backends,
//! old event versions, and the live status stream.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use assessment_service::store;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    add_stray_status_view, cli, damage_status_views, json_of, postgres_admin_url, random_key,
    seed_request, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    a_jobs_history_runs_from_request_to_its_end,
    a_feed_reader_sees_every_event_once_while_eight_writers_run,
    status_as_of_a_point_matches_the_view_at_that_moment,
    replay_rebuilds_a_damaged_read_model_while_the_service_runs,
    history_written_with_an_old_event_version_still_loads,
    the_live_stream_delivers_every_update_and_ends,
    a_transaction_left_open_elsewhere_delays_no_job,
);

fn nurse_job() -> Value {
    json!({"job_role": "Registered Nurse", "job_description": "Patient care, medication administration and infection control."})
}

async fn history(server: &TestServer, job_id: &str) -> Vec<Value> {
    let (code, body) = server
        .get(&format!("/api/v2/task-executions/{job_id}/events"))
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["events"].as_array().unwrap().clone()
}

async fn a_jobs_history_runs_from_request_to_its_end(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server.submit(&seed_request()).await;
    server.wait_until_ended(&job_id).await;
    let events = history(&server, &job_id).await;
    assert_eq!(events.first().unwrap()["event_type"], "JobRequested");
    assert_eq!(events.first().unwrap()["event_version"], "2.0");
    assert_eq!(events.last().unwrap()["event_type"], "Completed");
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"], index as i64 + 1, "contiguous sequences");
        assert!(event["recorded_at"].is_string() && event["payload"].is_object());
    }
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    assert_eq!(
        events[0]["payload"]["JobRequested"]["job_role"],
        "Senior Python Developer"
    );

    let other = crate::helpers::create_key(&db, "globex").await;
    let (code, _) = server
        .get_with_key(
            &format!("/api/v2/task-executions/{job_id}/events"),
            other["api_key"].as_str().unwrap(),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

async fn a_feed_reader_sees_every_event_once_while_eight_writers_run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server =
        TestServer::start_with(&db, ServerOptions::default().env("WORKER_CONCURRENCY", 4)).await;
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let client = server.client.clone();
            let url = server.url("/api/v2/assessments/generate-ai");
            let key = server.api_key.clone();
            tokio::spawn(async move {
                let mut jobs = Vec::new();
                for _ in 0..3 {
                    let response = client
                        .post(&url)
                        .header("apiKey", &key)
                        .json(&nurse_job())
                        .send()
                        .await
                        .unwrap();
                    let body: Value = response.json().await.unwrap();
                    jobs.push(body["job_id"].as_str().unwrap().to_owned());
                }
                jobs
            })
        })
        .collect();

    // Follow the feed while the writers and the workers append.
    let mut cursor = String::new();
    let mut seen: Vec<(String, i64)> = Vec::new();
    let mut jobs: Vec<String> = Vec::new();
    let mut writers = Some(writers);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (code, page) = server
            .get(&format!("/api/v2/events?after={cursor}&limit=7"))
            .await;
        assert_eq!(code, StatusCode::OK, "{page}");
        for event in page["events"].as_array().unwrap() {
            seen.push((
                event["job_id"].as_str().unwrap().to_owned(),
                event["sequence"].as_i64().unwrap(),
            ));
        }
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
        if page["has_more"] == true {
            continue;
        }
        if let Some(running) = writers.take() {
            if running.iter().all(|w| w.is_finished()) {
                for writer in running {
                    jobs.extend(writer.await.unwrap());
                }
            } else {
                writers = Some(running);
            }
        }
        if writers.is_none() {
            let mut all_ended = true;
            for job_id in &jobs {
                let status = server.status(job_id).await;
                all_ended &= matches!(status["status"].as_str(), Some("completed" | "failed"));
            }
            let terminal = seen.iter().filter(|(job, _)| jobs.contains(job)).count();
            if all_ended && terminal > 0 {
                // One more page after everything ended picks up the last commits.
                let (_, last) = server
                    .get(&format!("/api/v2/events?after={cursor}&limit=1000"))
                    .await;
                for event in last["events"].as_array().unwrap() {
                    seen.push((
                        event["job_id"].as_str().unwrap().to_owned(),
                        event["sequence"].as_i64().unwrap(),
                    ));
                }
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the writers did not finish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let unique: HashSet<&(String, i64)> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no event is seen twice");
    let conn = db.connect().await;
    let mut stored = BTreeSet::new();
    for job_id in &jobs {
        for event in store::event_log::job_events(&conn, job_id).await.unwrap() {
            stored.insert((event.job_id, event.sequence));
        }
    }
    let seen: BTreeSet<(String, i64)> = seen.into_iter().collect();
    assert_eq!(jobs.len(), 24);
    assert_eq!(seen.len(), stored.len(), "every event is seen");
    assert_eq!(seen, stored);
}

async fn status_as_of_a_point_matches_the_view_at_that_moment(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(
        &db,
        ServerOptions::default().env("WORKER_STEP_DELAY_MS", 60),
    )
    .await;
    let job_id = server.submit(&nurse_job()).await;
    let mut snapshots: Vec<Value> = Vec::new();
    loop {
        let status = server.status(&job_id).await;
        let ended = matches!(status["status"].as_str(), Some("completed" | "failed"));
        if snapshots.last() != Some(&status) {
            snapshots.push(status);
        }
        if ended {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(snapshots.len() >= 3, "the job was watched while it ran");
    let events = history(&server, &job_id).await;
    let mut views_by_position = Vec::new();
    for event in &events {
        let position = event["position"].as_i64().unwrap();
        let (code, view) = server
            .get(&format!(
                "/api/v2/task-executions/status/{job_id}?as_of={position}"
            ))
            .await;
        assert_eq!(code, StatusCode::OK);
        views_by_position.push(view);
    }
    for snapshot in &snapshots {
        assert!(
            views_by_position.contains(snapshot),
            "the live view {snapshot} is the view as of some point in the log"
        );
    }
    assert_eq!(views_by_position.last(), snapshots.last());
    let requested_at = events[0]["recorded_at"]
        .as_str()
        .unwrap()
        .replace('+', "%2B");
    let (code, first) = server
        .get(&format!(
            "/api/v2/task-executions/status/{job_id}?as_of={requested_at}"
        ))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(first["status"], "pending");
    let (code, body) = server
        .get(&format!(
            "/api/v2/task-executions/status/{job_id}?as_of=yesterday"
        ))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{body}");
}

async fn replay_rebuilds_a_damaged_read_model_while_the_service_runs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server.submit(&nurse_job()).await;
    let before = server.wait_until_ended(&job_id).await;
    damage_status_views(&db, "completed", "failed").await;
    assert_eq!(
        server.status(&job_id).await["status"],
        "failed",
        "the view is damaged"
    );
    let (ok, stdout) = cli(&db, &["replay", "--verify"]).await;
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains(&format!("task execution {job_id}: read model differs")),
        "{stdout}"
    );
    let stray = add_stray_status_view(&db).await;
    let (ok, stdout) = cli(&db, &["replay", "--verify"]).await;
    assert!(!ok, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "task execution {stray}: in the read model but not in the log"
        )),
        "{stdout}"
    );
    let (ok, stdout) = cli(&db, &["replay"]).await;
    assert!(ok, "{stdout}");
    assert_eq!(
        server
            .get(&format!("/api/v2/task-executions/status/{stray}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert!(
        stdout.contains("read models match the event log"),
        "{stdout}"
    );
    assert_eq!(server.status(&job_id).await, before);
    // The service goes on normally after the swap.
    let next = server.submit(&nurse_job()).await;
    assert_eq!(server.wait_until_ended(&next).await["status"], "completed");
    let (ok, stdout) = cli(&db, &["replay", "--verify"]).await;
    assert!(ok, "{stdout}");
}

async fn history_written_with_an_old_event_version_still_loads(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (ok, _) = cli(&db, &["migrate"]).await;
    assert!(ok);
    let job_id = uuid::Uuid::new_v4().to_string();
    // JobRequested 1.0: no generation options, no requesting key.
    let payload = json!({"JobRequested": {
        "job_id": job_id,
        "organization_id": "default",
        "job_role": "Registered Nurse",
        "job_description": "Patient care and infection control.",
        "cutoff": 55,
        "notification_url": null,
        "requested_at": "2025-10-09T16:51:14Z"
    }});
    let old_event = store::event_log::ExportedEvent {
        position: 1,
        aggregate_type: "TaskExecution".to_owned(),
        aggregate_id: job_id.clone(),
        sequence: 1,
        event_type: "JobRequested".to_owned(),
        event_version: "1.0".to_owned(),
        payload,
        metadata: json!({"organization_id": "default"}),
        recorded_at: chrono::Utc::now(),
    };
    let conn = db.connect().await;
    let mut tx = conn.begin_write().await.unwrap();
    store::event_log::import(&mut tx, &[old_event])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let server = TestServer::start(&db).await;
    let status = server.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["created_at"], "2025-10-09T16:51:14");
    let assessment_id = status["result"]["assessment_id"].as_str().unwrap();
    let (_, info) = server
        .get(&format!("/api/v2/assessments/{assessment_id}/info"))
        .await;
    assert_eq!(info["cutoff"], 55);
    let events = history(&server, &job_id).await;
    assert_eq!(
        events[0]["event_version"], "1.0",
        "the stored history is not rewritten"
    );
}

async fn the_live_stream_delivers_every_update_and_ends(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(
        &db,
        ServerOptions::default().env("WORKER_STEP_DELAY_MS", 30),
    )
    .await;
    let job_id = server.submit(&nurse_job()).await;
    let stream_url = server.url(&format!("/api/v2/task-executions/status/{job_id}/stream"));
    let response = server
        .client
        .get(&stream_url)
        .header("apiKey", &server.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let body = tokio::time::timeout(Duration::from_secs(60), response.text())
        .await
        .expect("the stream ends after the final update")
        .unwrap();
    let updates = parse_sse(&body);
    let events = history(&server, &job_id).await;
    assert_eq!(updates.len(), events.len(), "one update per event");
    let ids: Vec<i64> = updates.iter().map(|(id, _)| *id).collect();
    let positions: Vec<i64> = events
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, positions);
    assert_eq!(updates[0].1["status"], "pending");
    assert_eq!(updates.last().unwrap().1["status"], "completed");
    // The read model may trail the stream by a moment; once it has caught up, they agree.
    assert_eq!(
        updates.last().unwrap().1,
        server.wait_until_ended(&job_id).await
    );

    // Resuming after the fifth update gets only what came after it.
    let resumed = server
        .client
        .get(&stream_url)
        .header("apiKey", &server.api_key)
        .header("Last-Event-ID", ids[4].to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resumed: Vec<i64> = parse_sse(&resumed).iter().map(|(id, _)| *id).collect();
    assert_eq!(resumed, ids[5..].to_vec());

    let (code, body) = json_of(
        server
            .client
            .get(&stream_url)
            .header("apiKey", random_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
}

/// (id, data) of each event in a Server-Sent Events body.
fn parse_sse(body: &str) -> Vec<(i64, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut id = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id:") {
                    id = value.trim().parse().ok();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data = serde_json::from_str(value.trim()).ok();
                }
            }
            Some((id?, data?))
        })
        .collect()
}

/// A history exported from SQLite and imported into PostgreSQL replays to the same views.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_moved_from_sqlite_to_postgres_replays_to_the_same_views() {
    let source = TestDb::new(Backend::Sqlite).await;
    let server = TestServer::start(&source).await;
    let mut jobs = Vec::new();
    for body in [
        seed_request(),
        nurse_job(),
        json!({"job_role": "Qwerty", "job_description": "asdf"}),
    ] {
        jobs.push(server.submit(&body).await);
    }
    for job_id in &jobs {
        server.wait_until_ended(job_id).await;
    }
    server.kill().await;

    let export = tempfile::NamedTempFile::new().unwrap();
    let output = tokio::process::Command::new(crate::helpers::BINARY)
        .args(["events", "export"])
        .env("DATABASE_URL", &source.url)
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    std::fs::write(export.path(), &output.stdout).unwrap();
    let lines = String::from_utf8(output.stdout).unwrap().lines().count();

    let target = TestDb::new(Backend::Postgres).await;
    let path = export.path().to_str().unwrap();
    let (ok, stdout) = cli(&target, &["events", "import", path]).await;
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains(&format!("imported {lines} events")),
        "{stdout}"
    );
    let (ok, stdout) = cli(&target, &["events", "import", path]).await;
    assert!(
        !ok,
        "a second import into a non-empty store is refused: {stdout}"
    );
    let (ok, stdout) = cli(&target, &["replay"]).await;
    assert!(ok, "{stdout}");

    let (source_db, target_db) = (source.connect().await, target.connect().await);
    let views = assessment_service::read_models::all_views;
    let source_views = views(&source_db).await.unwrap();
    assert_eq!(source_views.0.len(), 3);
    assert_eq!(source_views.1.len(), 2, "one assessment per completed job");
    assert_eq!(source_views, views(&target_db).await.unwrap());
}

/// A transaction someone leaves open (on PostgreSQL in another database of the cluster, with a
/// transaction id; on SQLite a reader of the same file) holds back neither the job, its status
/// nor the feed: readers of the log wait only for transactions appending events.
async fn a_transaction_left_open_elsewhere_delays_no_job(backend: Backend) {
    use sqlx::Connection;

    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    enum Stranger {
        Postgres(sqlx::PgConnection),
        Sqlite(sqlx::SqliteConnection),
    }
    let stranger = match backend {
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .unwrap();
            sqlx::raw_sql("BEGIN; SELECT txid_current()")
                .execute(&mut connection)
                .await
                .unwrap();
            Stranger::Postgres(connection)
        }
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql("BEGIN; SELECT COUNT(*) FROM events")
                .execute(&mut connection)
                .await
                .unwrap();
            Stranger::Sqlite(connection)
        }
    };

    let job_id = server.submit(&seed_request()).await;
    let status = server.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let (code, feed) = server.get("/api/v2/events?limit=1000").await;
    assert_eq!(code, StatusCode::OK, "{feed}");
    let last = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|event| event["job_id"] == job_id)
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["event_type"], "Completed", "{feed}");

    // The stranger was open all along.
    match stranger {
        Stranger::Postgres(mut connection) => sqlx::raw_sql("ROLLBACK")
            .execute(&mut connection)
            .await
            .map(drop),
        Stranger::Sqlite(mut connection) => sqlx::raw_sql("ROLLBACK")
            .execute(&mut connection)
            .await
            .map(drop),
    }
    .unwrap();
}
