//! Submitting jobs, following them to their end, and reading the assessment.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    create_key, event_count, json_of, seed_request, Backend, ServerOptions, TestDb, TestServer,
};
use crate::on_both_backends;

on_both_backends!(
    an_accepted_job_is_pending_when_polled_at_once,
    the_seed_request_runs_to_an_assessment_built_from_its_description,
    cutoff_defaults_to_40,
    a_description_without_recognizable_skills_fails_with_a_reason,
    invalid_requests_get_json_errors_and_write_nothing,
    unknown_or_malformed_ids_are_404,
    unknown_routes_and_methods_get_json_errors,
    another_organizations_job_does_not_wait_behind_a_backlog,
);

fn is_uuid(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
}

fn is_seed_timestamp(value: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
}

async fn an_accepted_job_is_pending_when_polled_at_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    // No workers: the job stays queued, so what the client sees right after 202 is checked.
    let server =
        TestServer::start_with(&db, ServerOptions::default().env("WORKER_CONCURRENCY", 0)).await;

    let response = server.generate(&seed_request()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (_, body) = json_of(response).await;
    let job_id = body["job_id"].as_str().unwrap().to_owned();
    assert!(is_uuid(&job_id), "{body}");
    assert_eq!(
        body,
        json!({
            "job_id": job_id,
            "status": "pending",
            "message": "Assessment creation job has been queued successfully"
        })
    );

    let status = server.status(&job_id).await;
    assert_eq!(status["id"], job_id.as_str());
    assert_eq!(status["type"], "assessment_creation");
    assert_eq!(status["status"], "pending");
    assert_eq!(status["result"], Value::Null);
    assert_eq!(status["recent_logs"], json!([]));
    assert_eq!(
        status["notification_url"],
        "https://your-webhook-url.com/assessment-status"
    );
    assert!(is_seed_timestamp(&status["created_at"]), "{status}");
    assert!(is_seed_timestamp(&status["updated_at"]), "{status}");
    let fields: BTreeSet<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: BTreeSet<&str> = [
        "id",
        "type",
        "status",
        "current_step",
        "recent_logs",
        "result",
        "notification_url",
        "created_at",
        "updated_at",
    ]
    .into();
    assert_eq!(fields, expected);
}

async fn the_seed_request_runs_to_an_assessment_built_from_its_description(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server.submit(&seed_request()).await;

    let status = server.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let logs = status["recent_logs"].as_array().unwrap();
    assert!(!logs.is_empty());
    for pair in logs.windows(2) {
        assert!(pair[0]["id"].as_i64().unwrap() < pair[1]["id"].as_i64().unwrap());
    }
    for log in logs {
        assert_eq!(log["task_execution_id"], job_id.as_str());
        assert!(is_seed_timestamp(&log["created_at"]));
        assert!(
            log["message"]
                .as_str()
                .unwrap()
                .starts_with("AI Progress: "),
            "{log}"
        );
    }
    let messages: Vec<&str> = logs
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("AI Progress: Searching for skill: ")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(
            |m| m.starts_with("AI Progress: Completed search for skill: ") && m.contains("(found ")
        ),
        "{messages:?}"
    );

    let assessment_id = status["result"]["assessment_id"].as_str().unwrap();
    assert!(is_uuid(assessment_id));
    let (code, info) = server
        .get(&format!("/api/v2/assessments/{assessment_id}/info"))
        .await;
    assert_eq!(code, StatusCode::OK, "{info}");
    assert_eq!(info["id"], assessment_id);
    assert_eq!(info["job_role"], "Senior Python Developer");
    assert_eq!(info["cutoff"], 60);
    assert_eq!(info["seniority"], "senior");
    assert_eq!(info["creation"]["job_id"], job_id.as_str());
    let skills: Vec<&str> = info["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for named in ["Python", "Django", "Flask", "FastAPI"] {
        assert!(skills.contains(&named), "{named} missing from {skills:?}");
    }
    let description = seed_request()["job_description"]
        .as_str()
        .unwrap()
        .to_lowercase();
    let sections = info["sections"].as_array().unwrap();
    assert!(!sections.is_empty() && sections.len() <= 6);
    let question_total: u64 = sections
        .iter()
        .map(|s| s["question_count"].as_u64().unwrap())
        .sum();
    let minutes_total: u64 = sections
        .iter()
        .map(|s| s["duration_minutes"].as_u64().unwrap())
        .sum();
    assert_eq!(
        info["number_of_questions"].as_u64().unwrap(),
        question_total
    );
    assert!(info["total_duration_minutes"].as_u64().unwrap() <= minutes_total);
    assert!(info["total_duration_minutes"].as_u64().unwrap() > 0);
    assert!(info["proctoring"].is_object());
    assert!(!info["question_types"].as_array().unwrap().is_empty());

    let (code, questions) = server
        .get(&format!("/api/v2/assessments/{assessment_id}/questions"))
        .await;
    assert_eq!(code, StatusCode::OK);
    let questions = questions["questions"].as_array().unwrap();
    assert_eq!(questions.len() as u64, question_total);
    for question in questions {
        let skill = question["skill"].as_str().unwrap();
        assert!(skills.contains(&skill));
        // Every skill the assessment tests is one the description names (or its alias).
        let first_word = skill.split_whitespace().next().unwrap().to_lowercase();
        let first_word = first_word.trim_end_matches('s');
        assert!(
            description.contains(first_word),
            "{skill} is not in the description"
        );
    }
}

async fn cutoff_defaults_to_40(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server
        .submit(&json!({
            "job_role": "Registered Nurse",
            "job_description": "Patient care, medication administration and infection control on a busy ward."
        }))
        .await;
    let status = server.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(status["notification_url"], Value::Null);
    let assessment_id = status["result"]["assessment_id"].as_str().unwrap();
    let (_, info) = server
        .get(&format!("/api/v2/assessments/{assessment_id}/info"))
        .await;
    assert_eq!(info["cutoff"], 40);
    let skills = info["skills"].to_string();
    assert!(skills.contains("Patient Care"), "{skills}");
    assert!(!skills.contains("Python"), "{skills}");
}

async fn a_description_without_recognizable_skills_fails_with_a_reason(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let job_id = server
        .submit(&json!({"job_role": "Qwerty", "job_description": "asdf zxcv lorem ipsum"}))
        .await;
    let status = server.wait_until_ended(&job_id).await;
    assert_eq!(status["status"], "failed", "{status}");
    let reason = status["result"]["error"].as_str().unwrap();
    assert!(reason.contains("No recognizable skills"), "{reason}");
}

async fn invalid_requests_get_json_errors_and_write_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    const REQUIRED: &str = "Job role and job description are required";
    const CUTOFF: &str = "cutoff must be an integer between 0 and 100";
    const URL: &str = "notification_url must be an absolute http or https URL";
    let valid = |extra: Value| {
        let mut body = json!({"job_role": "Developer", "job_description": "Python and SQL"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body.to_string()
    };
    let cases: Vec<(String, &str, StatusCode, &str)> = vec![
        (
            "{}".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_role": "Dev"}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_description": "Python"}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_role": null, "job_description": "Python"}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_role": 5, "job_description": "Python"}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_role": "Dev", "job_description": ["Python"]}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_role": "  ", "job_description": "Python"}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            json!({"job_role": "Dev", "job_description": "\n\t"}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            REQUIRED,
        ),
        (
            valid(json!({"cutoff": 101})),
            "application/json",
            StatusCode::BAD_REQUEST,
            CUTOFF,
        ),
        (
            valid(json!({"cutoff": -1})),
            "application/json",
            StatusCode::BAD_REQUEST,
            CUTOFF,
        ),
        (
            valid(json!({"cutoff": "60"})),
            "application/json",
            StatusCode::BAD_REQUEST,
            CUTOFF,
        ),
        (
            valid(json!({"cutoff": 60.5})),
            "application/json",
            StatusCode::BAD_REQUEST,
            CUTOFF,
        ),
        (
            valid(json!({"notification_url": "not a url"})),
            "application/json",
            StatusCode::BAD_REQUEST,
            URL,
        ),
        (
            valid(json!({"notification_url": "ftp://example.com/x"})),
            "application/json",
            StatusCode::BAD_REQUEST,
            URL,
        ),
        (
            valid(json!({"notification_url": "/relative/path"})),
            "application/json",
            StatusCode::BAD_REQUEST,
            URL,
        ),
        (
            valid(json!({"notification_url": 42})),
            "application/json",
            StatusCode::BAD_REQUEST,
            URL,
        ),
        (
            valid(json!({"job_description": "x".repeat(20_001)})),
            "application/json",
            StatusCode::BAD_REQUEST,
            "job_description must be at most 20000 characters",
        ),
        (
            valid(json!({"job_role": "x".repeat(201)})),
            "application/json",
            StatusCode::BAD_REQUEST,
            "job_role must be at most 200 characters",
        ),
        (
            "{\"job_role\": ".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "Request body is not valid JSON",
        ),
        (
            "[1, 2]".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "Request body must be a JSON object",
        ),
        (
            valid(json!({})),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ),
        (
            valid(json!({"job_description": "y".repeat(70_000)})),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large (limit 65536 bytes)",
        ),
    ];
    for (body, content_type, expected_status, expected_error) in cases {
        let response = server
            .client
            .post(server.url("/api/v2/assessments/generate-ai"))
            .header("apiKey", &server.api_key)
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (code, error) = json_of(response).await;
        let shown: String = body.chars().take(80).collect();
        assert_eq!(code, expected_status, "{shown}: {error}");
        let message = error["error"].as_str().unwrap_or_default();
        assert!(message.starts_with(expected_error), "{shown}: {error}");
        assert_eq!(error.as_object().unwrap().len(), 1, "{error}");
    }
    assert_eq!(event_count(&db.connect().await).await, 0);
}

async fn unknown_or_malformed_ids_are_404(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let unknown = uuid::Uuid::new_v4();
    for (path, message) in [
        (
            format!("/api/v2/task-executions/status/{unknown}"),
            "Task execution not found",
        ),
        (
            "/api/v2/task-executions/status/not-a-uuid".to_owned(),
            "Task execution not found",
        ),
        (
            format!("/api/v2/assessments/{unknown}/info"),
            "Assessment not found",
        ),
        (
            "/api/v2/assessments/42/info".to_owned(),
            "Assessment not found",
        ),
        (
            format!("/api/v2/assessments/{unknown}/questions"),
            "Assessment not found",
        ),
    ] {
        let (code, body) = server.get(&path).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, json!({ "error": message }), "{path}");
    }
}

async fn unknown_routes_and_methods_get_json_errors(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let (code, body) = server.get("/api/v2/nothing-here").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());

    for (method, path) in [
        (reqwest::Method::GET, "/api/v2/assessments/generate-ai"),
        (
            reqwest::Method::DELETE,
            "/api/v2/task-executions/status/abc",
        ),
    ] {
        let response = server
            .client
            .request(method, server.url(path))
            .header("apiKey", &server.api_key)
            .send()
            .await
            .unwrap();
        let (code, body) = json_of(response).await;
        assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert!(body["error"].is_string(), "{body}");
    }
}

/// Organizations take turns for the workers: with one worker and one organization's backlog
/// queued first, another organization's job runs next, not after the backlog.
async fn another_organizations_job_does_not_wait_behind_a_backlog(backend: Backend) {
    const BACKLOG: usize = 30;
    let db = TestDb::new(backend).await;
    let server =
        TestServer::start_with(&db, ServerOptions::default().env("WORKER_CONCURRENCY", 1)).await;
    let other = create_key(&db, "globex").await;
    let other_key = other["api_key"].as_str().unwrap();

    let mut backlog = Vec::new();
    for _ in 0..BACKLOG {
        backlog.push(server.submit(&seed_request()).await);
    }
    let job_id = server.submit_with_key(&seed_request(), other_key).await;
    let status = server.wait_until_ended_with_key(&job_id, other_key).await;
    assert_eq!(status["status"], "completed", "{status}");
    let mut ended = 0;
    for id in &backlog {
        let status = server.status(id).await;
        if matches!(status["status"].as_str(), Some("completed" | "failed")) {
            ended += 1;
        }
    }
    // First come, first served would have run the whole backlog first.
    assert!(
        ended < BACKLOG / 3,
        "{ended} of the backlog's {BACKLOG} jobs ended before the other organization's one"
    );
}
