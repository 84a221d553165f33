//! Background workers: claim queued jobs with a lease, run the generation pipeline, and report
//! every step through the `TaskExecution` aggregate.
//!
//! A claim is a lease in `job_queue` renewed while the job runs. If the process dies, the lease
//! runs out and the job is claimed again (here after a restart, or by another instance) and run
//! to its end. Several instances on one PostgreSQL compete with `FOR UPDATE SKIP LOCKED`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use assessment_domain::{
    Assessment, Difficulty, JobRequested, Lifecycle, TaskExecution, TaskExecutionCommand,
    TaskExecutionEvent,
};
use chrono::Utc;
use cqrs_es::{Aggregate, AggregateError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::commands::CommandBus;
use crate::event_log;
use crate::generator::llm::{LlmClient, LlmError};
use crate::generator::{analysis, assembly, Candidate, Engine, GenerationError, Origin};
use crate::store::{job_queue, Db};

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
    organization_id: String,
    attempts: i32,
    owner: String,
}

pub struct Worker {
    db: Db,
    bus: CommandBus,
    engine: Arc<Engine>,
    llm: Option<LlmClient>,
    config: WorkerConfig,
    jobs_queued: Arc<Notify>,
    instance: String,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl Worker {
    pub fn new(
        db: Db,
        bus: CommandBus,
        engine: Arc<Engine>,
        llm: Option<LlmClient>,
        config: WorkerConfig,
        jobs_queued: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            bus,
            engine,
            llm,
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
        let now = now_ms();
        let until = now + self.config.lease.as_millis() as i64;
        let claimed = job_queue::claim(&self.db, owner, now, until).await?;
        Ok(claimed.map(|job| Claim {
            job_id: job.job_id,
            organization_id: job.organization_id,
            attempts: job.attempts,
            owner: owner.to_owned(),
        }))
    }

    /// Extends the lease until `claim` is no longer held; returns when it is lost, or when it
    /// could not be renewed for a whole lease (another worker may have it by then).
    async fn keep_lease(&self, claim: &Claim) -> anyhow::Result<()> {
        let mut renewed_at = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.config.lease / 3).await;
            if renewed_at.elapsed() >= self.config.lease {
                anyhow::bail!("lease could not be renewed in time");
            }
            let until = now_ms() + self.config.lease.as_millis() as i64;
            let renewed = job_queue::renew(&self.db, &claim.job_id, &claim.owner, until).await;
            match renewed {
                Ok(false) => anyhow::bail!("lease lost"),
                Ok(true) => renewed_at = tokio::time::Instant::now(),
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
                let released =
                    job_queue::release_finished(&self.db, &claim.job_id, &claim.owner).await;
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
        // Checked before the history is read: a job whose history cannot be read must not be
        // claimed forever.
        if claim.attempts > self.config.max_attempts {
            return self.give_up(claim).await;
        }
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

        progress.step("Starting task execution").await?;
        if claim.attempts > 1 || state.lifecycle() == Lifecycle::Processing {
            progress
                .log(format!(
                    "AI Progress: Resuming after an interruption (attempt {})...",
                    claim.attempts
                ))
                .await?;
        }
        let outcome = self.generate(&claim.job_id, request, &progress).await?;
        match outcome {
            Ok(assessment) => progress.complete(assessment).await,
            Err(error) => progress.fail(error.to_string()).await,
        }
    }

    /// Fails a job claimed too often. A job whose history cannot even be loaded is taken out of
    /// the queue with an error in the log, as nothing can be appended to it.
    async fn give_up(&self, claim: &Claim) -> anyhow::Result<()> {
        let reason = format!(
            "Assessment generation was interrupted {} times and has been stopped. Submit the job \
             again; if it keeps failing, contact support with this job id.",
            claim.attempts - 1
        );
        let command = TaskExecutionCommand::Fail {
            reason,
            at: Utc::now(),
        };
        match self
            .bus
            .execute(&claim.job_id, &claim.organization_id, command)
            .await
        {
            Ok(()) | Err(AggregateError::UserError(_)) => Ok(()),
            Err(AggregateError::DeserializationError(error)) => {
                tracing::error!(
                    job_id = %claim.job_id,
                    %error,
                    "the job's history cannot be read; it is taken out of the queue"
                );
                Ok(())
            }
            Err(error) => Err(anyhow::anyhow!(error.to_string())),
        }
    }

    /// The generation pipeline, reporting each step. The outer error is an interruption (the
    /// job is retried); the inner one is a job that cannot be generated (it fails).
    async fn generate(
        &self,
        job_id: &str,
        request: &JobRequested,
        progress: &Progress<'_>,
    ) -> anyhow::Result<Result<Assessment, GenerationError>> {
        let engine = &self.engine;
        let taxonomy = &engine.taxonomy;
        let options = &request.options;
        progress.step("Analyzing job requirements").await?;
        progress
            .log("AI Progress: Analyzing job requirements...")
            .await?;
        let must_have: Vec<usize> = options
            .skills
            .iter()
            .filter_map(|name| taxonomy.lookup(name))
            .collect();
        let mut analysis = analysis::analyze(
            taxonomy,
            &request.job_role,
            &request.job_description,
            &must_have,
            options.experience_level,
        );
        let mut llm = self.llm.as_ref();
        if let Some(model) = llm {
            match model
                .extract_skills(&request.job_role, &request.job_description)
                .await
            {
                Ok(names) => {
                    let added = analysis.add_skills(taxonomy, &request.job_description, &names);
                    progress
                        .log(format!(
                            "AI Progress: Language model reviewed the skills (added: {})",
                            if added.is_empty() {
                                "none".to_owned()
                            } else {
                                added.join(", ")
                            }
                        ))
                        .await?;
                }
                Err(error) => {
                    llm = None;
                    progress.log(llm_fallback(&error)).await?;
                }
            }
        }
        if analysis.skills.is_empty() {
            return Ok(Err(GenerationError::NoRecognizableSkills));
        }
        let families = taxonomy.families();
        let names: Vec<&str> = analysis.skills.iter().map(|s| s.name.as_str()).collect();
        progress
            .log(format!(
                "AI Progress: Identified {} skills for a {} {} role: {}",
                names.len(),
                analysis.seniority.as_str(),
                analysis
                    .role_family
                    .map_or("general", |f| families.info(f).name.as_str()),
                names.join(", ")
            ))
            .await?;
        let extracted: Vec<&str> = analysis
            .skills
            .iter()
            .filter(|s| s.known.is_none())
            .map(|s| s.name.as_str())
            .collect();
        if !extracted.is_empty() {
            progress
                .log(format!(
                    "AI Progress: Taken from the description (not in the skill taxonomy): {}",
                    extracted.join(", ")
                ))
                .await?;
        }

        progress.step("Searching question library").await?;
        let hardest = assembly::difficulty_mix(analysis.seniority)
            .last()
            .map_or(Difficulty::Medium, |(d, _)| *d);
        let total = analysis.skills.len();
        let wanted = options.question_count.unwrap_or(20) as usize / total + 2;
        let mut found = Vec::with_capacity(total);
        for (index, ranked) in analysis.skills.iter().enumerate() {
            let name = &ranked.name;
            progress
                .log(format!(
                    "AI Progress: Searching for skill: {name} ({}/{total})",
                    index + 1
                ))
                .await?;
            let context = match &ranked.context {
                Some(sentence) => format!("{}\n{sentence}", request.job_role),
                None => request.job_role.clone(),
            };
            let (mut skill_found, sourcing) =
                engine.candidates(ranked, &request.job_role, &context, wanted)?;
            progress
                .log(format!(
                    "AI Progress: Completed search for skill: {name} (found {} results)",
                    sourcing.library
                ))
                .await?;
            if Engine::is_thin(sourcing.library, wanted) {
                if let Some(model) = llm {
                    match model
                        .write_questions(&request.job_role, name, hardest, wanted.min(10))
                        .await
                    {
                        Ok(written) => {
                            progress
                                .log(format!(
                                    "AI Progress: Language model wrote {} extra questions for skill: {name}",
                                    written.len()
                                ))
                                .await?;
                            let model_questions = written.into_iter().map(|question| Candidate {
                                question,
                                origin: Origin::Model,
                                relevance: 1.0,
                            });
                            skill_found.candidates.splice(0..0, model_questions);
                        }
                        Err(error) => {
                            llm = None;
                            progress.log(llm_fallback(&error)).await?;
                        }
                    }
                }
                if sourcing.templates + sourcing.parent > 0 {
                    let parent = ranked
                        .parent
                        .map(|p| {
                            format!(" and {} from {}", sourcing.parent, taxonomy.skill(p).name)
                        })
                        .unwrap_or_default();
                    progress
                        .log(format!(
                            "AI Progress: Added {} scenario questions{parent} for skill: {name}",
                            sourcing.templates
                        ))
                        .await?;
                }
            }
            found.push(skill_found);
        }

        progress.step("Building assessment").await?;
        progress
            .log("AI Progress: Building assessment sections...")
            .await?;
        let assembled = assembly::assemble(
            taxonomy,
            &assembly::Request {
                assessment_id: uuid::Uuid::new_v4().to_string(),
                seed: job_id,
                job_role: &request.job_role,
                cutoff: request.cutoff,
                options,
            },
            &analysis,
            &found,
        );
        let assessment = match assembled {
            Ok(assessment) => assessment,
            Err(error) => return Ok(Err(error.into())),
        };
        let minutes = assessment
            .sections
            .iter()
            .map(|s| s.duration_seconds())
            .sum::<u32>()
            .div_ceil(60);
        progress
            .log(format!(
                "AI Progress: Assessment ready: {} questions in {} sections, {minutes} minutes",
                assessment.questions().count(),
                assessment.sections.len()
            ))
            .await?;
        Ok(Ok(assessment))
    }
}

fn llm_fallback(error: &LlmError) -> String {
    format!(
        "AI Progress: Language model unavailable ({error}); continuing with the built-in engine"
    )
}

/// The worker loops of this process.
pub struct RunningWorkers {
    worker: Arc<Worker>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningWorkers {
    /// Stops the loops and gives up their leases, so the interrupted jobs are claimed again at
    /// once (by another instance, or by this one after a restart) instead of after the lease.
    /// A shutdown is not the job's fault: the claim does not count toward its attempts.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        let released = job_queue::release_instance(&self.worker.db, &self.worker.instance).await;
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
