//! The `assessment-service` binary: `serve` (the default), `migrate`, `api-keys`, `replay`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // One JSON object per line for log shippers, each line of a request with its request id.
    match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok("text") | Ok("") | Err(_) => logs.init(),
        Ok(other) => {
            eprintln!("error: LOG_FORMAT must be text or json, not {other:?}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let cli = assessment_service::cli::Cli::parse();
    match cli.run().await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
