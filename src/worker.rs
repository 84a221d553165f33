//! Background workers: claim queued jobs with a lease, run the generation pipeline, and report
//! every step through the `TaskExecution` aggregate.
//!
//! A claim is a lease in `job_queue` renewed while the job runs. If the process dies, the lease
//! runs out and the job is claimed again (here after a restart, or by another instance) and run
//! to its end. Several instances on one PostgreSQL compete with `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use assessment_domain::{Lifecycle, TaskExecution, TaskExecutionCommand, TaskExecutionEvent};
use chrono::Utc;
use cqrs_es::{Aggregate, AggregateError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::commands::CommandBus;
use crate::db::Db;
use crate::event_log;
use crate::generator::{self, GenerationError};
use crate::with_pool;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Jobs run at once by this process; 0 runs none (an API-only instance).
    pub concurrency: usize,
    /// How long a claim holds without renewal.
    pub lease: Duration,
    /// Pause after each reported step; zero in production, longer to watch a job progress.
    pub step_delay: Duration,
    /// Claims of one job after which it is failed instead of retried.
    pub max_attempts: i32,
}

/// A job this worker holds the lease of.
#[derive(Debug, Clone)]
struct Claim {
    job_id: String,
    attempts: i32,
    owner: String,
}

pub struct Worker {
    db: Db,
    bus: CommandBus,
    config: WorkerConfig,
    jobs_queued: Arc<Notify>,
    instance: String,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Worker {
    pub fn new(db: Db, bus: CommandBus, config: WorkerConfig, jobs_queued: Arc<Notify>) -> Self {
        Self {
            db,
            bus,
            config,
            jobs_queued,
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Starts `concurrency` worker loops (none for 0).
    pub fn spawn(self) -> RunningWorkers {
        let worker = Arc::new(self);
        let tasks = (0..worker.config.concurrency)
            .map(|slot| tokio::spawn(worker.clone().run_slot(slot)))
            .collect();
        RunningWorkers { worker, tasks }
    }

    async fn run_slot(self: Arc<Self>, slot: usize) {
        let owner = format!("{}/{slot}", self.instance);
        loop {
            let idle = self.jobs_queued.notified();
            match self.claim(&owner).await {
                Ok(Some(claim)) => {
                    self.process(claim).await;
                    continue;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "claiming a job failed")
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), idle).await;
        }
    }

    async fn claim(&self, owner: &str) -> anyhow::Result<Option<Claim>> {
        let skip_locked = match self.db {
            Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Db::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE job_queue SET lease_owner = $1, lease_expires_ms = $2, attempts = attempts + 1
             WHERE job_id = (
                 SELECT job_id FROM job_queue
                 WHERE state = 'pending' AND (lease_expires_ms IS NULL OR lease_expires_ms < $3)
                 ORDER BY position LIMIT 1{skip_locked})
             RETURNING job_id, attempts"
        );
        let now = now_ms();
        let row: Option<(String, i32)> = with_pool!(&self.db, |pool| {
            sqlx::query_as(&sql)
                .bind(owner)
                .bind(now + self.config.lease.as_millis() as i64)
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(job_id, attempts)| Claim {
            job_id,
            attempts,
            owner: owner.to_owned(),
        }))
    }

    /// Extends the lease until `claim` is no longer held; returns when it is lost.
    async fn keep_lease(&self, claim: &Claim) -> anyhow::Result<()> {
        loop {
            tokio::time::sleep(self.config.lease / 3).await;
            let renewed = with_pool!(&self.db, |pool| {
                sqlx::query(
                    "UPDATE job_queue SET lease_expires_ms = $3
                     WHERE job_id = $1 AND lease_owner = $2 AND state = 'pending'",
                )
                .bind(&claim.job_id)
                .bind(&claim.owner)
                .bind(now_ms() + self.config.lease.as_millis() as i64)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            });
            match renewed {
                Ok(0) => anyhow::bail!("lease lost"),
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, job_id = %claim.job_id, "lease renewal failed")
                }
            }
        }
    }

    async fn process(&self, claim: Claim) {
        let outcome = tokio::select! {
            outcome = self.run(&claim) => outcome,
            lost = self.keep_lease(&claim) => lost,
        };
        match outcome {
            Ok(()) => {
                let released = with_pool!(&self.db, |pool| {
                    sqlx::query(
                        "UPDATE job_queue SET state = 'done', lease_owner = NULL,
                         lease_expires_ms = NULL WHERE job_id = $1 AND lease_owner = $2",
                    )
                    .bind(&claim.job_id)
                    .bind(&claim.owner)
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
                });
                if let Err(error) = released {
                    // The read-model subscription marks the job done from its terminal event.
                    tracing::warn!(%error, job_id = %claim.job_id, "releasing a finished job failed");
                }
            }
            Err(error) => {
                // The lease runs out and the job is claimed again.
                tracing::error!(error = format!("{error:#}"), job_id = %claim.job_id, "job interrupted");
            }
        }
    }

    async fn run(&self, claim: &Claim) -> anyhow::Result<()> {
        let history = event_log::load_job(&self.db, &claim.job_id).await?;
        let Some(TaskExecutionEvent::JobRequested(request)) = history.first().map(|e| &e.event)
        else {
            anyhow::bail!("job {} has no JobRequested event", claim.job_id);
        };
        let mut state = TaskExecution::default();
        for decoded in &history {
            state.apply(decoded.event.clone());
        }
        if state.lifecycle().has_ended() {
            return Ok(());
        }
        let progress = Progress {
            bus: &self.bus,
            job_id: &claim.job_id,
            organization_id: &request.organization_id,
            delay: self.config.step_delay,
        };
        if claim.attempts > self.config.max_attempts {
            return progress
                .fail(format!(
                    "Assessment generation was interrupted {} times and has been stopped. Submit \
                     the job again; if it keeps failing, contact support with this job id.",
                    claim.attempts - 1
                ))
                .await;
        }

        progress.step("Starting task execution").await?;
        if claim.attempts > 1 || state.lifecycle() == Lifecycle::Processing {
            progress
                .log(format!(
                    "AI Progress: Resuming after an interruption (attempt {})...",
                    claim.attempts
                ))
                .await?;
        }
        progress.step("Analyzing job requirements").await?;
        progress
            .log("AI Progress: Analyzing job requirements...")
            .await?;
        let analysis = generator::analyze(&request.job_role, &request.job_description);
        if analysis.skills.is_empty() {
            return progress
                .fail(GenerationError::NoRecognizableSkills.to_string())
                .await;
        }
        let names: Vec<&str> = analysis.skills.iter().map(|s| s.name).collect();
        progress
            .log(format!(
                "AI Progress: Identified {} skills ({} level): {}",
                names.len(),
                analysis.seniority.as_str(),
                names.join(", ")
            ))
            .await?;

        progress.step("Searching question library").await?;
        let total = analysis.skills.len();
        let mut found = Vec::with_capacity(total);
        for (index, skill) in analysis.skills.iter().enumerate() {
            progress
                .log(format!(
                    "AI Progress: Searching for skill: {} ({}/{total})",
                    skill.name,
                    index + 1
                ))
                .await?;
            let questions = generator::search(skill, analysis.seniority);
            progress
                .log(format!(
                    "AI Progress: Completed search for skill: {} (found {} results)",
                    skill.name,
                    questions.len()
                ))
                .await?;
            found.push((*skill, questions));
        }

        progress.step("Building assessment").await?;
        progress
            .log("AI Progress: Building assessment sections...")
            .await?;
        let assembled = generator::assemble(
            uuid::Uuid::new_v4().to_string(),
            &request.job_role,
            request.cutoff,
            &analysis,
            found,
        );
        match assembled {
            Ok(assessment) => {
                progress
                    .log(format!(
                        "AI Progress: Assessment ready: {} questions in {} sections",
                        assessment.questions().count(),
                        assessment.sections.len()
                    ))
                    .await?;
                progress.complete(assessment).await
            }
            Err(error) => progress.fail(error.to_string()).await,
        }
    }
}

/// The worker loops of this process.
pub struct RunningWorkers {
    worker: Arc<Worker>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningWorkers {
    /// Stops the loops and gives up their leases, so the interrupted jobs are claimed again at
    /// once (by another instance, or by this one after a restart) instead of after the lease.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        let released = with_pool!(&self.worker.db, |pool| {
            sqlx::query(
                "UPDATE job_queue SET lease_owner = NULL, lease_expires_ms = NULL
                 WHERE state = 'pending' AND lease_owner LIKE $1",
            )
            .bind(format!("{}/%", self.worker.instance))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        match released {
            Ok(count) if count > 0 => {
                tracing::info!(count, "released the leases of interrupted jobs")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "releasing leases at shutdown failed"),
        }
    }
}

/// Reports a job's progress as commands on its aggregate.
struct Progress<'a> {
    bus: &'a CommandBus,
    job_id: &'a str,
    organization_id: &'a str,
    delay: Duration,
}

impl Progress<'_> {
    async fn send(&self, command: TaskExecutionCommand) -> anyhow::Result<()> {
        match self
            .bus
            .execute(self.job_id, self.organization_id, command)
            .await
        {
            Ok(()) => {}
            // Another worker finished the job meanwhile (a lease taken over): nothing to add.
            Err(AggregateError::UserError(error)) => {
                return Err(anyhow::anyhow!(error)).context("the job no longer accepts progress")
            }
            Err(error) => return Err(anyhow::anyhow!(error.to_string())),
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(())
    }

    async fn step(&self, step: &str) -> anyhow::Result<()> {
        self.send(TaskExecutionCommand::StartStep {
            step: step.to_owned(),
            at: Utc::now(),
        })
        .await
    }

    async fn log(&self, message: impl Into<String>) -> anyhow::Result<()> {
        self.send(TaskExecutionCommand::AppendLog {
            message: message.into(),
            at: Utc::now(),
        })
        .await
    }

    async fn complete(&self, assessment: assessment_domain::Assessment) -> anyhow::Result<()> {
        self.send(TaskExecutionCommand::Complete {
            assessment: Box::new(assessment),
            at: Utc::now(),
        })
        .await
    }

    async fn fail(&self, reason: String) -> anyhow::Result<()> {
        self.send(TaskExecutionCommand::Fail {
            reason,
            at: Utc::now(),
        })
        .await
    }
}
