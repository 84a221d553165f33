//! The optional language model, against a local server that speaks the OpenAI chat
//! completions API: it adds skills and questions when it answers well, and the job goes on
//! with the embedded engine when it fails, hangs or answers off the schema.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::helpers::{
    assessment_of, job_logs, run_job, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    a_working_model_adds_skills_and_questions,
    a_failing_model_leaves_the_embedded_engine_in_charge,
);

const MODEL_KEY: &str = "test-llm-key";

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Helpful,
    ServerError,
    OffSchema,
    Hangs,
}

#[derive(Clone)]
struct FakeModel {
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
}

fn completion(content: Value) -> Json<Value> {
    Json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content.to_string()}}]
    }))
}

async fn chat_completions(
    State(model): State<FakeModel>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    model.calls.fetch_add(1, Ordering::SeqCst);
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {MODEL_KEY}"));
    if !authorized {
        return Err(StatusCode::UNAUTHORIZED);
    }
    match model.behaviour {
        Behaviour::ServerError => return Err(StatusCode::INTERNAL_SERVER_ERROR),
        Behaviour::Hangs => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return Err(StatusCode::GATEWAY_TIMEOUT);
        }
        Behaviour::OffSchema => return Ok(completion(json!({"answer": "I think Python"}))),
        Behaviour::Helpful => {}
    }
    let schema = request["response_format"]["json_schema"]["name"].as_str();
    match schema {
        Some("skills") => Ok(completion(json!({
            "skills": ["Python", "Rust", "Kubernetes", "Underwater Basket Weaving"]
        }))),
        Some("questions") => {
            let prompt = request["messages"][1]["content"]
                .as_str()
                .unwrap_or_default();
            let skill = prompt.split('"').nth(1).unwrap_or("the skill");
            Ok(completion(json!({"questions": [
                {"type": "multiple_choice", "text": format!("Model question one about {skill}?"),
                 "options": ["a", "b", "c", "d"], "answer": [2],
                 "explanation": "c is right", "rubric": null, "time_seconds": 60},
                {"type": "true_false", "text": format!("Model statement about {skill}."),
                 "options": ["True", "False"], "answer": [0],
                 "explanation": "it is true", "rubric": null, "time_seconds": 40},
                {"type": "subjective", "text": format!("Model scenario about {skill}?"),
                 "options": [], "answer": [], "explanation": null,
                 "rubric": "names trade-offs", "time_seconds": 240},
                {"type": "multiple_choice", "text": "Broken: answer points nowhere",
                 "options": ["a", "b", "c"], "answer": [7],
                 "explanation": "x", "rubric": null, "time_seconds": 60}
            ]})))
        }
        _ => Err(StatusCode::BAD_REQUEST),
    }
}

/// Starts the fake model; returns its base URL and call counter.
async fn fake_model(behaviour: Behaviour) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .with_state(FakeModel {
            behaviour,
            calls: calls.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/v1"), calls)
}

fn with_model(base_url: &str) -> ServerOptions {
    ServerOptions::default()
        .env("LLM_BASE_URL", base_url)
        .env("LLM_MODEL", "test-model")
        .env("LLM_API_KEY", MODEL_KEY)
        .env("LLM_TIMEOUT_SECONDS", 1)
        .env("LLM_MAX_RETRIES", 1)
}

fn backend_job() -> Value {
    json!({
        "job_role": "Backend Developer",
        "job_description": "Build services in Python with Django and PostgreSQL.",
        "question_count": 40
    })
}

async fn a_working_model_adds_skills_and_questions(backend: Backend) {
    let (url, calls) = fake_model(Behaviour::Helpful).await;
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, with_model(&url)).await;
    let status = run_job(&server, &backend_job()).await;
    let (info, questions) = assessment_of(&server, &status).await;
    let skills = info["skills"].to_string();
    assert!(
        skills.contains("Rust") && skills.contains("Kubernetes"),
        "{skills}"
    );
    assert!(
        !skills.contains("Basket"),
        "unknown skills are ignored: {skills}"
    );
    let written: Vec<&Value> = questions
        .iter()
        .filter(|q| q["id"].as_str().unwrap().starts_with("llm-"))
        .collect();
    assert!(!written.is_empty(), "the model's questions are used");
    assert!(
        written
            .iter()
            .all(|q| !q["text"].as_str().unwrap().starts_with("Broken")),
        "a question off the rules is dropped"
    );
    let logs = job_logs(&db, status["id"].as_str().unwrap()).await;
    assert!(
        logs.iter()
            .any(|l| l.contains("Language model reviewed the skills (added: Rust")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("Language model wrote")),
        "{logs:?}"
    );
    assert!(calls.load(Ordering::SeqCst) >= 2);
}

async fn a_failing_model_leaves_the_embedded_engine_in_charge(backend: Backend) {
    for (behaviour, reason) in [
        (Behaviour::ServerError, "the model answered HTTP 500"),
        (Behaviour::OffSchema, "did not match the expected schema"),
        (Behaviour::Hangs, "the model did not answer in time"),
    ] {
        let (url, calls) = fake_model(behaviour).await;
        let db = TestDb::new(backend).await;
        let server = TestServer::start_with(&db, with_model(&url)).await;
        let status = run_job(&server, &backend_job()).await;
        let (info, questions) = assessment_of(&server, &status).await;
        assert!(info["skills"].to_string().contains("Django"));
        assert!(questions
            .iter()
            .all(|q| !q["id"].as_str().unwrap().starts_with("llm-")));
        let logs = job_logs(&db, status["id"].as_str().unwrap()).await;
        let fallback = logs
            .iter()
            .find(|l| l.contains("Language model unavailable"))
            .unwrap_or_else(|| panic!("no fallback line in {logs:?}"));
        assert!(fallback.contains(reason), "{fallback}");
        assert!(
            fallback.ends_with("continuing with the built-in engine"),
            "{fallback}"
        );
        // One call and one retry, then the model is left alone for the rest of the job.
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{fallback}");
        server.kill().await;
    }
}
