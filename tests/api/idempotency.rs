//! `Idempotency-Key` on `POST generate-ai`: a retry gets the first answer and queues nothing.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{create_key, json_of, Backend, TestDb, TestServer};
use crate::on_both_backends;

on_both_backends!(a_repeated_idempotency_key_names_one_job);

async fn post(server: &TestServer, api_key: &str, key: &str, body: &str) -> Response {
    server
        .client
        .post(server.url("/api/v2/assessments/generate-ai"))
        .header("apiKey", api_key)
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST generate-ai")
}

/// The jobs requested in the organization of `api_key`, from its feed.
async fn requested(server: &TestServer, api_key: &str) -> Vec<String> {
    let (code, feed) = server
        .get_with_key("/api/v2/events?event_type=JobRequested&limit=1000", api_key)
        .await;
    assert_eq!(code, StatusCode::OK, "{feed}");
    feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["job_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_repeated_idempotency_key_names_one_job(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let key = &server.api_key;
    let body = r#"{"job_role": "Data Analyst", "job_description": "SQL, Excel and Tableau."}"#;
    let (code, first) = json_of(post(&server, key, "order-17", body).await).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{first}");

    // The same body, its fields in another order and spaced otherwise: the same answer.
    let reordered = r#"{ "job_description":"SQL, Excel and Tableau.","job_role":"Data Analyst" }"#;
    for retry in [body, reordered] {
        let (code, again) = json_of(post(&server, key, "order-17", retry).await).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{again}");
        assert_eq!(again, first);
    }
    // Another body with the same key: 422, nothing queued.
    let other = r#"{"job_role": "Data Analyst", "job_description": "Python and dbt."}"#;
    let (code, refused) = json_of(post(&server, key, "order-17", other).await).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(
        refused["error"],
        "This Idempotency-Key was used with a different request body"
    );
    // A key that is no key: 400.
    let (code, refused) = json_of(post(&server, key, &"k".repeat(256), body).await).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(
        requested(&server, key).await,
        [first["job_id"].as_str().unwrap()]
    );

    // Eight requests at once with a new key: one job, and all eight name it.
    let answers = post_at_once(&server, key, "order-18", body).await;
    let job_ids: Vec<&Value> = answers.iter().map(|answer| &answer["job_id"]).collect();
    assert!(job_ids.iter().all(|id| *id == job_ids[0]), "{job_ids:?}");
    assert_eq!(requested(&server, key).await.len(), 2);

    // Another organization's key of the same name stands for its own job.
    let globex = create_key(&db, "globex").await;
    let globex_key = globex["api_key"].as_str().unwrap();
    let (code, theirs) = json_of(post(&server, globex_key, "order-17", body).await).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{theirs}");
    assert_ne!(theirs["job_id"], first["job_id"]);

    // Every job named runs to its end.
    for job_id in [&first["job_id"], job_ids[0]] {
        server.wait_until_ended(job_id.as_str().unwrap()).await;
    }
}

/// Posts `body` with `key` eight times at once; every answer must be 202.
async fn post_at_once(server: &TestServer, api_key: &str, key: &str, body: &str) -> Vec<Value> {
    let requests = (0..8).map(|_| async { json_of(post(server, api_key, key, body).await).await });
    let mut answers = Vec::new();
    for (code, answer) in futures::future::join_all(requests).await {
        assert_eq!(code, StatusCode::ACCEPTED, "{answer}");
        answers.push(answer);
    }
    answers
}
