//! API keys: the three headers, 401s, revocation, tenants, hashing, and the first key.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{
    cli, create_key, eventually, json_of, seed_request, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    requests_without_a_valid_key_are_401_on_every_route,
    the_key_is_accepted_in_all_three_headers,
    a_revoked_key_is_401,
    another_organizations_jobs_and_assessments_are_404,
    keys_are_stored_only_as_hashes,
    serve_creates_and_prints_a_first_key_only_when_none_exists,
);

async fn requests_without_a_valid_key_are_401_on_every_route(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let id = uuid::Uuid::new_v4();
    let routes = [
        (
            reqwest::Method::POST,
            "/api/v2/assessments/generate-ai".to_owned(),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v2/task-executions/status/{id}"),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v2/assessments/{id}/info"),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v2/assessments/{id}/questions"),
        ),
    ];
    for (method, path) in routes {
        for key in [None, Some("wrong-key"), Some("")] {
            let mut request = server
                .client
                .request(method.clone(), server.url(&path))
                .json(&seed_request());
            if let Some(key) = key {
                request = request.header("apiKey", key);
            }
            let (code, body) = json_of(request.send().await.unwrap()).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED, "{method} {path} {key:?}");
            assert_eq!(body, json!({"error": "Invalid API key"}));
        }
    }
}

async fn the_key_is_accepted_in_all_three_headers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let bearer = format!("Bearer {}", server.api_key);
    for (header, value) in [
        ("apiKey", server.api_key.as_str()),
        ("X-API-Key", server.api_key.as_str()),
        ("Authorization", bearer.as_str()),
    ] {
        let response = server
            .client
            .post(server.url("/api/v2/assessments/generate-ai"))
            .header(header, value)
            .json(&seed_request())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{header}");
    }
}

async fn a_revoked_key_is_401(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let created = create_key(&db, "default").await;
    let key = created["api_key"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let probe = format!("/api/v2/task-executions/status/{}", uuid::Uuid::new_v4());
    assert_eq!(
        server.get_with_key(&probe, key).await.0,
        StatusCode::NOT_FOUND
    );

    let (ok, _) = cli(&db, &["api-keys", "revoke", id]).await;
    assert!(ok);
    // Keys are cached for at most a second (KEY_CACHE_TTL): the revocation holds soon after.
    let body = eventually(Duration::from_secs(2), || async {
        let (code, body) = server.get_with_key(&probe, key).await;
        (code == StatusCode::UNAUTHORIZED).then_some(body)
    })
    .await;
    assert_eq!(body, json!({"error": "Invalid API key"}));

    let (ok, listed) = cli(&db, &["api-keys", "list", "--json"]).await;
    assert!(ok);
    let listed: Vec<Value> = serde_json::from_str(listed.trim()).unwrap();
    let entry = listed
        .iter()
        .find(|k| k["id"] == id)
        .expect("revoked key listed");
    assert!(entry["revoked_at"].is_string());
    assert!(entry.get("api_key").is_none());
    let (ok, _) = cli(&db, &["api-keys", "revoke", id]).await;
    assert!(!ok, "revoking twice reports failure");
}

async fn another_organizations_jobs_and_assessments_are_404(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let other = create_key(&db, "globex").await;
    let other_key = other["api_key"].as_str().unwrap();

    let job_id = server.submit(&seed_request()).await;
    let status = server.wait_until_ended(&job_id).await;
    let assessment_id = status["result"]["assessment_id"].as_str().unwrap();
    for path in [
        format!("/api/v2/task-executions/status/{job_id}"),
        format!("/api/v2/task-executions/status/{job_id}?as_of=1"),
        format!("/api/v2/task-executions/{job_id}/events"),
        format!("/api/v2/assessments/{assessment_id}/info"),
        format!("/api/v2/assessments/{assessment_id}/questions"),
    ] {
        assert_eq!(server.get(&path).await.0, StatusCode::OK, "{path}");
        let (code, body) = server.get_with_key(&path, other_key).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
        assert!(body["error"].is_string());
    }

    let (code, feed) = server
        .get_with_key("/api/v2/events?limit=1000", other_key)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        feed["events"],
        json!([]),
        "the feed shows only the caller's events"
    );
    let (_, own_feed) = server.get("/api/v2/events?limit=1000").await;
    assert!(!own_feed["events"].as_array().unwrap().is_empty());

    let response = server.generate_with_key(&seed_request(), other_key).await;
    let (_, body) = json_of(response).await;
    let their_job = body["job_id"].as_str().unwrap();
    let path = format!("/api/v2/task-executions/status/{their_job}");
    assert_eq!(
        server.get_with_key(&path, other_key).await.0,
        StatusCode::OK
    );
    assert_eq!(server.get(&path).await.0, StatusCode::NOT_FOUND);
}

async fn keys_are_stored_only_as_hashes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let created = create_key(&db, "default").await;
    let key = created["api_key"].as_str().unwrap();
    let conn = db.connect().await;
    let owner = assessment_service::store::api_keys::active_owner(&conn, &hex_sha256(key))
        .await
        .unwrap()
        .expect("the key is found by its SHA-256");
    assert_eq!(owner.id, created["id"].as_str().unwrap());
    let rows = assessment_service::store::api_keys::list(&conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let prefix = &rows[0].key_prefix;
    assert!(key.starts_with(prefix.as_str()) && prefix.len() < key.len() / 2);
    assert!(
        !format!("{rows:?}").contains(key),
        "no stored column holds the key"
    );
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn serve_creates_and_prints_a_first_key_only_when_none_exists(backend: Backend) {
    let db = TestDb::new(backend).await;
    let options = || ServerOptions {
        bootstrap_key: None,
        env: Vec::new(),
    };
    let first = TestServer::start_with(&db, options()).await;
    let key = first
        .banner
        .iter()
        .find_map(|line| {
            line.trim()
                .strip_prefix("ak_")
                .map(|rest| format!("ak_{rest}"))
        })
        .expect("a first key is printed");
    let (code, _) = first
        .get_with_key(
            &format!("/api/v2/task-executions/status/{}", uuid::Uuid::new_v4()),
            &key,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "the printed key works");
    first.kill().await;

    let again = TestServer::start_with(&db, options()).await;
    assert!(
        !again.banner.iter().any(|line| line.contains("ak_")),
        "{:?}",
        again.banner
    );
}
