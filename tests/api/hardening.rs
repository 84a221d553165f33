//! Hostile or careless use: what the service answers, and what it never shows.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::helpers::{
    event_count, json_of, seed_request, Backend, ServerOptions, TestDb, TestServer, BINARY,
};
use crate::on_both_backends;

/// Values a shell may hold when someone asks for help; none may appear in what is printed.
const SECRETS: [(&str, &str); 4] = [
    (
        "DATABASE_URL",
        "postgres://svc:db-pass-5d1c@127.0.0.1:1/assessments",
    ),
    ("BOOTSTRAP_API_KEY", "bootstrap-key-9a7e"),
    ("LLM_API_KEY", "llm-key-3f0b"),
    (
        "LLM_BASE_URL",
        "https://llm-user:llm-pass-77c2@llm.example/v1",
    ),
];

/// The subcommands a help text lists under "Commands:" (without `help` itself).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

async fn help_of(path: &[String], long: bool) -> String {
    let flag = if long { "--help" } else { "-h" };
    let output = Command::new(BINARY)
        .args(path)
        .arg(flag)
        .envs(SECRETS)
        .output()
        .await
        .expect("run assessment-service");
    assert!(output.status.success(), "{path:?} {flag} failed");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

#[tokio::test]
async fn no_help_text_prints_a_secret_from_the_environment() {
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        for long in [false, true] {
            let help = help_of(&path, long).await;
            for (name, value) in SECRETS {
                let secret = value.split(['@', ':']).find(|part| part.contains("-pass-"));
                for shown in std::iter::once(value).chain(secret) {
                    assert!(
                        !help.contains(shown),
                        "`{} {}` shows {name}:\n{help}",
                        path.join(" "),
                        if long { "--help" } else { "-h" }
                    );
                }
            }
            if long {
                for child in subcommands(&help) {
                    pending.push(path.iter().cloned().chain([child]).collect());
                }
            }
        }
        seen += 1;
    }
    // The root, serve, migrate, api-keys and its subcommands, replay, events, parked...
    assert!(seen >= 10, "only {seen} help texts found");
}

on_both_backends!(
    a_half_sent_request_is_closed_after_the_read_timeout,
    shutdown_ends_within_its_timeout_whatever_clients_do,
    requests_refused_before_any_route_answer_json_and_write_nothing,
    blank_text_and_empty_key_headers_are_read_as_nothing,
);

/// Sends `bytes` on a new connection and reads until the server closes it (or `limit`
/// passes); returns what came back.
async fn send_raw(server: &TestServer, bytes: &[u8], limit: Duration) -> Option<String> {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(bytes).await.expect("send");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut answer)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&answer).into_owned())
}

/// The JSON body of a raw HTTP answer.
fn body_of(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").expect("a complete answer");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer}"))
}

async fn a_half_sent_request_is_closed_after_the_read_timeout(backend: Backend) {
    let db = TestDb::new(backend).await;
    let options = ServerOptions::default().env("REQUEST_READ_TIMEOUT_SECONDS", 1);
    let server = TestServer::start_with(&db, options).await;

    // Headers never finished: the connection is closed without an answer.
    let answer = send_raw(&server, b"GET /health HTTP/1.1\r\nHost: x\r\n", LIMIT).await;
    assert_eq!(answer.as_deref(), Some(""), "closed, not left open");

    // A body that stops short: 408, and the connection closes.
    let request = format!(
        "POST /api/v2/assessments/generate-ai HTTP/1.1\r\nHost: x\r\napiKey: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"job_role\": \"Nurse\",",
        server.api_key
    );
    let answer = send_raw(&server, request.as_bytes(), LIMIT)
        .await
        .expect("the connection is closed after the answer");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(body_of(&answer)["error"]
        .as_str()
        .unwrap()
        .contains("not received within 1 s"));
    assert_eq!(event_count(&db.connect().await).await, 0, "nothing written");

    // The server still answers whole requests at once.
    let (code, _) = server.get("/health").await;
    assert_eq!(code, StatusCode::OK);
}

/// Generous beside the 1 or 2 s timeouts the tests set, far below what the clients would hold.
const LIMIT: Duration = Duration::from_secs(20);

async fn shutdown_ends_within_its_timeout_whatever_clients_do(backend: Backend) {
    let db = TestDb::new(backend).await;
    // Clients may take a minute to send; the shutdown waits for them 2 s at most.
    let options = ServerOptions::default()
        .env("REQUEST_READ_TIMEOUT_SECONDS", 60)
        .env("SHUTDOWN_TIMEOUT_SECONDS", 2);
    let server = TestServer::start_with(&db, options).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut held = Vec::new();
    // One request whose body stops short (in flight), one whose headers do, one idle
    // connection after a whole request.
    let partial_body = format!(
        "POST /api/v2/assessments/generate-ai HTTP/1.1\r\nHost: x\r\napiKey: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{",
        server.api_key
    );
    for bytes in [
        partial_body.into_bytes(),
        b"GET /health HTTP/1.1\r\nHost: x\r\n".to_vec(),
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ] {
        let mut stream = TcpStream::connect(&address).await.expect("connect");
        stream.write_all(&bytes).await.expect("send");
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Before, the service waited for the slowest client (here a minute).
    server.terminate_within(LIMIT).await;
    assert_eq!(event_count(&db.connect().await).await, 0, "nothing written");
    drop(held);
}

async fn requests_refused_before_any_route_answer_json_and_write_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, ServerOptions::default()).await;
    let job_id = server.submit(&seed_request()).await;
    server.wait_until_ended(&job_id).await;
    let events = event_count(&db.connect().await).await;

    let key = &server.api_key;
    let long_url = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(9_000)
    );
    let big_headers = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(17_000)
    );
    let with_nul = |target: &str, method: &str| {
        format!("{method} {target} HTTP/1.1\r\nHost: x\r\napiKey: {key}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    };
    let cases = [
        (long_url, "414", "too long"),
        (big_headers, "431", "too large"),
        (
            with_nul("/api/v2/events?event_type=a%00b", "GET"),
            "400",
            "NUL",
        ),
        (with_nul("/api/v2/events?job_id=%00", "GET"), "400", "NUL"),
        (
            with_nul(
                &format!("/api/v2/task-executions/status/{job_id}%00"),
                "GET",
            ),
            "400",
            "NUL",
        ),
        (
            with_nul(
                &format!("/api/v2/task-executions/{job_id}/webhook-deliveries/msg%00x/redeliver"),
                "POST",
            ),
            "400",
            "NUL",
        ),
    ];
    for (request, status, says) in cases {
        let answer = send_raw(&server, request.as_bytes(), LIMIT)
            .await
            .expect("answered and closed");
        let head = answer.lines().next().unwrap_or_default().to_owned();
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
        let error = body_of(&answer)["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{head}: {error}");
    }
    assert_eq!(event_count(&db.connect().await).await, events);
}

async fn blank_text_and_empty_key_headers_are_read_as_nothing(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start_with(&db, ServerOptions::default()).await;
    // A role of zero-width spaces (and a description of joiners and a byte-order mark) is blank.
    for (role, description) in [
        ("\u{200B}\u{200B}\u{200B}", "Python and SQL"),
        ("Nurse", "\u{FEFF}\u{200D} \u{2060}"),
    ] {
        let body = json!({"job_role": role, "job_description": description});
        let (code, answer) = json_of(server.generate(&body).await).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["error"], "Job role and job description are required");
    }
    assert_eq!(event_count(&db.connect().await).await, 0, "nothing written");

    // An empty `apiKey` header does not hide the key in `X-API-Key`.
    let response = server
        .client
        .get(server.url("/api/v2/skills"))
        .header("apiKey", "")
        .header("X-API-Key", &server.api_key)
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    // With no key anywhere, still 401.
    let response = server
        .client
        .get(server.url("/api/v2/skills"))
        .header("apiKey", " ")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
