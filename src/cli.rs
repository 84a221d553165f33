//! Command-line interface. Every option can also be set by its environment variable.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::api_keys::{self, DEFAULT_ORGANIZATION};
use crate::clock::Clock;
use crate::generator::llm::LlmConfig;
use crate::server::{self, ServeConfig};
use crate::store::{parked, Db, DEFAULT_SQLITE_URL};
use crate::webhooks::outbox;
use crate::webhooks::{RetrySchedule, WebhookConfig, DEFAULT_RETRY_SCHEDULE};
use crate::worker::WorkerConfig;
use crate::{projector, replay, transfer};

#[derive(Debug, Parser)]
#[command(name = "assessment-service", version, about)]
pub struct Cli {
    /// Database URL: `postgres://user@host/db` or `sqlite://path/file.sqlite`. Unset means the
    /// embedded SQLite file `./data/assessments.sqlite`.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API, the read-model subscription and the workers (the default).
    Serve(ServeArgs),
    /// Apply the database migrations this build has and the database lacks, and exit. Other
    /// commands create a brand-new database's schema but refuse an out-of-date one.
    Migrate,
    /// Manage API keys.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// Rebuild the read models from the event log and compare them with the stored ones.
    Replay(ReplayArgs),
    /// Move the event log in and out as JSON lines.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Events a subscription could not read and set aside to move on.
    #[command(subcommand)]
    Parked(ParkedCommand),
    /// Measure skill extraction on the benchmark job descriptions (no database needed).
    #[command(name = "quality-benchmark")]
    QualityBenchmark {
        /// A benchmark file instead of the embedded `data/benchmark/dev.json` and `test.json`.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// Print each description's missed, extracted and chosen skills (the `dev` part, or
        /// `--file`; the held-out `test` part is only summarized).
        #[arg(long)]
        details: bool,
        /// Also time the whole generation pipeline per job.
        #[arg(long)]
        speed: bool,
    },
}

#[derive(Debug, Clone, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seconds a client may take to send a request's headers, and its body: a connection that
    /// sends less in that time is closed.
    #[arg(long, env = "REQUEST_READ_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    request_read_timeout_seconds: u64,
    /// Seconds a graceful shutdown (SIGTERM, Ctrl-C) waits for requests in flight before the
    /// connections still open are closed.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3_600))]
    shutdown_timeout_seconds: u64,
    /// Seconds a subscription (read models, webhook outbox) may be behind the log before
    /// `/readyz` answers 503.
    #[arg(long, env = "READY_MAX_LAG_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    ready_max_lag_seconds: u64,
    /// Requests a second each API key may make, on this instance (0: no limit); more get 429.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    rate_limit_per_second: u32,
    /// Requests an API key may make at once before the rate applies (default: one second's).
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    rate_limit_burst: u32,
    /// Unfinished jobs an organization may have (0: no limit); more requests get 429.
    #[arg(long, env = "MAX_QUEUED_JOBS_PER_ORG", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
    max_queued_jobs_per_org: u32,
    /// Jobs generated at once by this process; 0 makes an API-only instance.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(0..=1024))]
    worker_concurrency: u16,
    /// Seconds a worker's claim on a job lasts without renewal; after a crash the job is
    /// picked up again once it runs out.
    #[arg(long, env = "JOB_LEASE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    job_lease_seconds: u64,
    /// Pause after each reported step, in milliseconds (to watch a job's progress).
    #[arg(long, env = "WORKER_STEP_DELAY_MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    worker_step_delay_ms: u64,
    /// Milliseconds an idle worker waits before looking for a job again when nothing woke it
    /// (a queued job wakes it at once, on another instance by PostgreSQL notification).
    #[arg(long, env = "WORKER_POLL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..=600_000))]
    worker_poll_ms: u64,
    /// Claims of one job after which it fails instead of being retried.
    #[arg(long, env = "JOB_MAX_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(i32).range(0..=100))]
    job_max_attempts: i32,
    /// An API key to accept (created in the default organization if missing).
    #[arg(long, env = "BOOTSTRAP_API_KEY", hide_env_values = true)]
    bootstrap_api_key: Option<String>,
    /// Base URL of an OpenAI-compatible API (e.g. `https://host/v1`); with a model and a key it
    /// refines skill extraction and writes extra questions.
    #[arg(long, env = "LLM_BASE_URL", hide_env_values = true)]
    llm_base_url: Option<String>,
    /// Model name sent to the LLM API.
    #[arg(long, env = "LLM_MODEL")]
    llm_model: Option<String>,
    /// Key for the LLM API.
    #[arg(long, env = "LLM_API_KEY", hide_env_values = true)]
    llm_api_key: Option<String>,
    /// Seconds one LLM call may take.
    #[arg(long, env = "LLM_TIMEOUT_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    llm_timeout_seconds: u64,
    /// Retries of a failed LLM call (timeouts, 429, 5xx, answers off the schema).
    #[arg(long, env = "LLM_MAX_RETRIES", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(0..=10))]
    llm_max_retries: u32,
    /// Seconds one webhook delivery may take.
    #[arg(long, env = "WEBHOOK_TIMEOUT_SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    webhook_timeout_seconds: u64,
    /// Waits before each webhook retry, e.g. `1s,5s,30s`; after the last the message is given up.
    #[arg(long, env = "WEBHOOK_RETRY_SCHEDULE", default_value = DEFAULT_RETRY_SCHEDULE)]
    webhook_retry_schedule: RetrySchedule,
    /// Allow webhooks to loopback, private, link-local and other internal addresses (local
    /// development and tests only).
    #[arg(long, env = "ALLOW_PRIVATE_WEBHOOK_TARGETS", default_value_t = false,
          action = clap::ArgAction::Set)]
    allow_private_webhook_targets: bool,
    /// Webhook deliveries in flight at once.
    #[arg(long, env = "WEBHOOK_CONCURRENCY", default_value_t = 16,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    webhook_concurrency: u16,
    /// Hours a rotated-out webhook secret keeps signing beside the new one.
    #[arg(long, env = "WEBHOOK_SECRET_GRACE_HOURS", default_value_t = 24,
          value_parser = clap::value_parser!(u64).range(0..=720))]
    webhook_secret_grace_hours: u64,
}

#[derive(Debug, Subcommand)]
enum ApiKeysCommand {
    /// Create a key; it is printed once and never again.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// The organization whose jobs and assessments the key can see.
        #[arg(long, default_value = DEFAULT_ORGANIZATION)]
        organization: String,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never the keys themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by its id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
enum EventsCommand {
    /// Write the log (or one job's events) to standard output as JSON lines.
    Export {
        #[arg(long)]
        job: Option<String>,
    },
    /// Load an export into an empty event store (`-` reads standard input); then `replay`
    /// builds the read models.
    Import { file: std::path::PathBuf },
}

#[derive(Debug, Subcommand)]
enum ParkedCommand {
    /// List the parked events nobody has resolved yet.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Read a parked event again (after an upgrade that can read it): the read models fold
    /// its job afresh, the webhooks queue its message; it is unparked. Changes nothing if it
    /// still cannot be read.
    Retry {
        /// `read_models` or `webhooks`.
        subscription: String,
        /// The event's position in the log.
        position: i64,
    },
    /// Mark a parked event resolved: the subscription stays past it for good.
    Skip {
        /// `read_models` or `webhooks`.
        subscription: String,
        /// The event's position in the log.
        position: i64,
    },
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// Only compare: print every difference and exit non-zero if there is one.
    #[arg(long)]
    verify: bool,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<ExitCode> {
        if let Some(Command::QualityBenchmark {
            file,
            details,
            speed,
        }) = &self.command
        {
            crate::quality::run(crate::quality::Options {
                file: file.as_deref(),
                details: *details,
                speed: *speed,
            })?;
            return Ok(ExitCode::SUCCESS);
        }
        let url = self
            .database_url
            .unwrap_or_else(|| DEFAULT_SQLITE_URL.to_owned());
        let command = self
            .command
            .unwrap_or_else(|| Command::Serve(ServeArgs::from_env()));
        // Settings are checked before anything is opened.
        let serve_config = match &command {
            Command::Serve(args) => Some(args.clone().into_config()?),
            _ => None,
        };
        let db = Db::connect(&url).await?;
        if matches!(command, Command::Migrate) {
            db.migrate().await?;
        } else {
            db.require_current_schema().await?;
        }
        match command {
            Command::Serve(_) => {
                let config = serve_config.expect("checked above");
                server::serve(db, config).await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Migrate => {
                println!("migrations applied ({})", db.backend_name());
                Ok(ExitCode::SUCCESS)
            }
            Command::ApiKeys(command) => run_api_keys(&db, command).await,
            Command::Replay(args) => replay::run(&db, args.verify).await,
            Command::Events(EventsCommand::Export { job }) => {
                let stdout = std::io::stdout();
                let mut out = std::io::BufWriter::new(stdout.lock());
                let count = transfer::export(&db, job.as_deref(), &mut out).await?;
                std::io::Write::flush(&mut out)?;
                eprintln!("exported {count} events");
                Ok(ExitCode::SUCCESS)
            }
            Command::Events(EventsCommand::Import { file }) => {
                let count = if file.as_os_str() == "-" {
                    transfer::import(&db, std::io::stdin().lock()).await?
                } else {
                    let reader = std::io::BufReader::new(std::fs::File::open(&file)?);
                    transfer::import(&db, reader).await?
                };
                println!("imported {count} events; run `assessment-service replay` to build the read models");
                Ok(ExitCode::SUCCESS)
            }
            Command::Parked(command) => run_parked(&db, command).await,
            Command::QualityBenchmark { .. } => unreachable!("handled before connecting"),
        }
    }
}

impl ServeArgs {
    /// What `serve` runs with when no subcommand is given: environment, then defaults.
    fn from_env() -> ServeArgs {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            args: ServeArgs,
        }
        Defaults::parse_from(["serve"]).args
    }

    /// The settings checked beyond their own ranges: a bootstrap key long enough to be a
    /// secret, and a language model given its URL (a valid http(s) URL), model and key
    /// together. Errors name the setting, never a secret's value.
    fn into_config(self) -> anyhow::Result<ServeConfig> {
        if let Some(key) = &self.bootstrap_api_key {
            anyhow::ensure!(
                key.trim().len() >= 16,
                "BOOTSTRAP_API_KEY must be at least 16 characters"
            );
        }
        for (name, value) in [
            ("LLM_BASE_URL", &self.llm_base_url),
            ("LLM_MODEL", &self.llm_model),
            ("LLM_API_KEY", &self.llm_api_key),
        ] {
            anyhow::ensure!(
                value.as_ref().is_none_or(|v| !v.trim().is_empty()),
                "{name} is set but empty: give it a value or unset it"
            );
        }
        if let Some(base_url) = &self.llm_base_url {
            let parsed = url::Url::parse(base_url)
                .map_err(|error| anyhow::anyhow!("LLM_BASE_URL is not a URL: {error}"))?;
            anyhow::ensure!(
                matches!(parsed.scheme(), "http" | "https"),
                "LLM_BASE_URL must be an http or https URL"
            );
        }
        let llm = match (self.llm_base_url, self.llm_model, self.llm_api_key) {
            (Some(base_url), Some(model), Some(api_key)) => Some(LlmConfig {
                base_url,
                model,
                api_key,
                timeout: Duration::from_secs(self.llm_timeout_seconds),
                max_retries: self.llm_max_retries,
            }),
            (None, None, None) => None,
            (base_url, model, api_key) => {
                let missing: Vec<&str> = [
                    ("LLM_BASE_URL", base_url.is_none()),
                    ("LLM_MODEL", model.is_none()),
                    ("LLM_API_KEY", api_key.is_none()),
                ]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(name, _)| name)
                .collect();
                anyhow::bail!(
                    "a language model needs LLM_BASE_URL, LLM_MODEL and LLM_API_KEY together; \
                     missing: {} (or unset all three to run without one)",
                    missing.join(", ")
                );
            }
        };
        Ok(ServeConfig {
            listen: self.listen,
            request_read_timeout: Duration::from_secs(self.request_read_timeout_seconds),
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_seconds),
            ready_max_lag: Duration::from_secs(self.ready_max_lag_seconds),
            rate_per_second: self.rate_limit_per_second,
            rate_burst: self.rate_limit_burst,
            max_queued_jobs: self.max_queued_jobs_per_org,
            bootstrap_api_key: self.bootstrap_api_key,
            llm,
            webhooks: WebhookConfig {
                timeout: Duration::from_secs(self.webhook_timeout_seconds),
                retry_schedule: self.webhook_retry_schedule.0,
                allow_private_targets: self.allow_private_webhook_targets,
                concurrency: usize::from(self.webhook_concurrency),
                secret_grace: Duration::from_secs(self.webhook_secret_grace_hours * 3_600),
            },
            worker: WorkerConfig {
                concurrency: usize::from(self.worker_concurrency),
                lease: Duration::from_secs(self.job_lease_seconds),
                step_delay: Duration::from_millis(self.worker_step_delay_ms),
                max_attempts: self.job_max_attempts,
                poll: Duration::from_millis(self.worker_poll_ms),
            },
        })
    }
}

async fn run_api_keys(db: &Db, command: ApiKeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        ApiKeysCommand::Create {
            name,
            organization,
            json,
        } => {
            let created = api_keys::create(db, &name, &organization, Clock::system().now()).await?;
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                println!(
                    "API key created (shown once, store it now): {}",
                    created.api_key
                );
                println!(
                    "id: {}  organization: {}",
                    created.info.id, created.info.organization_id
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ApiKeysCommand::List { json } => {
            let keys = api_keys::list(db).await?;
            if json {
                println!("{}", serde_json::to_string(&keys)?);
            } else {
                println!(
                    "{:<36}  {:<12}  {:<16}  {:<20}  {:<20}  NAME",
                    "ID", "PREFIX", "ORGANIZATION", "CREATED", "REVOKED"
                );
                for key in keys {
                    println!(
                        "{:<36}  {:<12}  {:<16}  {:<20}  {:<20}  {}",
                        key.id,
                        key.key_prefix,
                        key.organization_id,
                        key.created_at,
                        key.revoked_at.as_deref().unwrap_or("-"),
                        key.name
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ApiKeysCommand::Revoke { id } => {
            if api_keys::revoke(db, &id, Clock::system().now()).await? {
                println!("revoked {id}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no active key with id {id}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn run_parked(db: &Db, command: ParkedCommand) -> anyhow::Result<ExitCode> {
    match command {
        ParkedCommand::List { json } => {
            let events = parked::unresolved(db).await?;
            if json {
                println!("{}", serde_json::to_string(&events)?);
            } else if events.is_empty() {
                println!("no parked events");
            } else {
                println!(
                    "{:<12}  {:>10}  {:<36}  {:<16}  {:<24}  ERROR",
                    "SUBSCRIPTION", "POSITION", "JOB", "EVENT", "PARKED"
                );
                for event in events {
                    println!(
                        "{:<12}  {:>10}  {:<36}  {:<16}  {:<24}  {}",
                        event.subscription,
                        event.position,
                        event.job_id,
                        event.event_type,
                        event
                            .parked_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        event.error
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ParkedCommand::Retry {
            subscription,
            position,
        } => {
            let retried = match subscription.as_str() {
                projector::READ_MODELS => replay::retry_parked(db, position).await?,
                outbox::WEBHOOKS => outbox::retry_parked(db, &Clock::system(), position).await?,
                other => anyhow::bail!(
                    "no subscription {other:?}; the subscriptions are {} and {}",
                    projector::READ_MODELS,
                    outbox::WEBHOOKS
                ),
            };
            if retried {
                println!("event {position} of {subscription} read and unparked");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no unresolved parked event at {position} of {subscription}");
                Ok(ExitCode::FAILURE)
            }
        }
        ParkedCommand::Skip {
            subscription,
            position,
        } => {
            if parked::resolve(db, &subscription, position).await? {
                println!("event {position} of {subscription} resolved: it stays unread");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no unresolved parked event at {position} of {subscription}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
