//! Limits: a request rate per API key, and a number of unfinished jobs per organization.

use assessment_service::store::job_queue;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{
    create_key, event_count, json_of, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    a_key_over_its_rate_gets_429_and_others_do_not,
    an_organization_at_its_queued_job_limit_gets_429,
);

/// The answer is a 429 with the service's error shape and every header a client waits by.
async fn assert_refused(response: reqwest::Response, limit: u32) -> String {
    let headers = response.headers().clone();
    let (code, body) = json_of(response).await;
    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let number = |name: &str| -> u64 {
        headers[name]
            .to_str()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: {:?}", headers[name]))
    };
    assert!(number("retry-after") >= 1);
    assert_eq!(number("ratelimit-limit"), u64::from(limit));
    assert_eq!(number("ratelimit-remaining"), 0);
    assert!(number("ratelimit-reset") >= 1);
    body["error"].as_str().unwrap().to_owned()
}

async fn a_key_over_its_rate_gets_429_and_others_do_not(backend: Backend) {
    let db = TestDb::new(backend).await;
    let options = ServerOptions::default()
        .env("RATE_LIMIT_PER_SECOND", 1)
        .env("RATE_LIMIT_BURST", 3);
    let server = TestServer::start_with(&db, options).await;
    let request = || {
        server
            .client
            .post(server.url("/api/v2/assessments/generate-ai"))
            .header("apiKey", &server.api_key)
            .json(&json!({"job_role": "Analyst", "job_description": "SQL and Excel"}))
            .send()
    };
    // The burst is let through at once; a request a second after that.
    for _ in 0..3 {
        assert_eq!(request().await.unwrap().status(), StatusCode::ACCEPTED);
    }
    let mut refused = None;
    for _ in 0..3 {
        let response = request().await.unwrap();
        if response.status() != StatusCode::ACCEPTED {
            refused = Some(response);
            break;
        }
    }
    let error = assert_refused(refused.expect("a request over the rate"), 3).await;
    assert!(error.contains("Too many requests"), "{error}");
    let requested = event_count(&db.connect().await).await;

    // Another key, even of the same organization, has its own bucket.
    let other = create_key(&db, "default").await;
    let (code, _) = server
        .get_with_key("/api/v2/skills?q=sql", other["api_key"].as_str().unwrap())
        .await;
    assert_eq!(code, StatusCode::OK);
    // The refused request wrote nothing: every event there is of the accepted jobs.
    assert!(requested > 0);
}

async fn an_organization_at_its_queued_job_limit_gets_429(backend: Backend) {
    let db = TestDb::new(backend).await;
    // No worker: jobs stay queued.
    let options = ServerOptions::default()
        .env("WORKER_CONCURRENCY", 0)
        .env("MAX_QUEUED_JOBS_PER_ORG", 2);
    let server = TestServer::start_with(&db, options).await;
    let job = json!({"job_role": "Analyst", "job_description": "SQL and Excel"});
    for _ in 0..2 {
        server.submit(&job).await;
    }
    // Counted once the queue (a read model) holds them.
    let store = db.connect().await;
    crate::helpers::eventually(std::time::Duration::from_secs(30), || async {
        let unfinished = job_queue::unfinished_of(&store, "default", 10).await.ok()?;
        (unfinished == 2).then_some(())
    })
    .await;
    let events = event_count(&db.connect().await).await;
    let error = assert_refused(server.generate(&job).await, 2).await;
    assert!(error.contains("queued jobs"), "{error}");
    assert_eq!(
        event_count(&db.connect().await).await,
        events,
        "nothing written"
    );

    // Another organization is not held back.
    let other = create_key(&db, "globex").await;
    let response = server
        .generate_with_key(&job, other["api_key"].as_str().unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}
