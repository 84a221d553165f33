//! Settings are checked before the service opens anything: a value out of range, one that
//! cannot work, or a partial language-model configuration stops it at once with a message
//! naming the setting.

use tokio::process::Command;

use crate::helpers::BINARY;

/// Runs `serve` (the default command) with `settings` on a fresh SQLite path; returns whether
/// it failed, its error output, and whether the database file was created.
async fn serve_with(settings: &[(&str, &str)]) -> (bool, String, bool) {
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("never.sqlite");
    let mut command = Command::new(BINARY);
    command
        .env("DATABASE_URL", format!("sqlite://{}", file.display()))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env_remove("LLM_BASE_URL")
        .env_remove("LLM_MODEL")
        .env_remove("LLM_API_KEY");
    for (name, value) in settings {
        command.env(name, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(30), command.output())
        .await
        .expect("a refused setting stops the process at once")
        .unwrap();
    (
        !output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        file.exists(),
    )
}

#[tokio::test]
async fn a_setting_out_of_range_stops_the_service_naming_it() {
    for (name, value) in [
        ("JOB_LEASE_SECONDS", "0"),
        ("WEBHOOK_CONCURRENCY", "0"),
        ("JOB_MAX_ATTEMPTS", "101"),
        ("WEBHOOK_TIMEOUT_SECONDS", "many"),
    ] {
        let (failed, stderr, created) = serve_with(&[(name, value)]).await;
        assert!(failed, "{name}={value} was accepted");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(!created, "{name}: the database was opened");
    }
}

#[tokio::test]
async fn a_setting_that_cannot_work_stops_the_service_without_echoing_secrets() {
    let short_key = "shortkey-123";
    for (settings, named) in [
        (vec![("BOOTSTRAP_API_KEY", short_key)], "BOOTSTRAP_API_KEY"),
        (
            vec![
                ("LLM_BASE_URL", "not a url"),
                ("LLM_MODEL", "m"),
                ("LLM_API_KEY", "k"),
            ],
            "LLM_BASE_URL",
        ),
        (
            vec![
                ("LLM_BASE_URL", "https://llm.example/v1"),
                ("LLM_MODEL", " "),
                ("LLM_API_KEY", "k"),
            ],
            "LLM_MODEL",
        ),
    ] {
        let (failed, stderr, created) = serve_with(&settings).await;
        assert!(failed, "{settings:?} was accepted");
        assert!(stderr.contains(named), "{named}: {stderr}");
        assert!(!stderr.contains(short_key), "a secret was echoed: {stderr}");
        assert!(!created, "{named}: the database was opened");
    }
}

#[tokio::test]
async fn a_partial_language_model_configuration_stops_the_service() {
    let (failed, stderr, created) = serve_with(&[("LLM_MODEL", "some-model")]).await;
    assert!(failed, "{stderr}");
    assert!(
        stderr.contains("LLM_BASE_URL") && stderr.contains("LLM_API_KEY"),
        "{stderr}"
    );
    assert!(!created);
}
