//! Running one claimed job: fail it if it was claimed too often, skip it if it has ended,
//! else run the generation pipeline and record its result, every report of the pipeline
//! becoming a command on the job's aggregate. The aggregate stays in memory while the job runs,
//! and each step's events are appended together when the next step starts (each one at once
//! when a step delay is set, to watch them arrive).

use std::time::Duration;

use assessment_domain::{Lifecycle, TaskExecutionCommand};
use cqrs_es::AggregateError;
use tokio::sync::{watch, Mutex};

use super::{Claim, Worker};
use crate::clock::Clock;
use crate::commands::{CommandError, JobWriter};
use crate::generator::pipeline;
use crate::generator::progress::{lines, steps, Progress};
use crate::query;

impl Worker {
    /// Runs `claim`'s job to its end; an error is an interruption (the job is claimed again).
    /// `cancelled` turns true when the lease is lost: the job then stops before its next write.
    pub(super) async fn run(
        &self,
        claim: &Claim,
        cancelled: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        // Checked before the history is read: a job whose history cannot be read must not be
        // claimed forever.
        if claim.attempts > self.config.max_attempts {
            return self.give_up(claim).await;
        }
        let Some(job) = query::job_to_run(&self.db, &claim.job_id).await? else {
            anyhow::bail!("job {} has no JobRequested event", claim.job_id);
        };
        if job.lifecycle().has_ended() {
            return Ok(());
        }
        let resumed = claim.attempts > 1 || job.lifecycle() == Lifecycle::Processing;
        let query::JobToRun {
            request,
            aggregate,
            events,
        } = job;
        let writer = self
            .bus
            .writer(&claim.job_id, &request.organization_id, aggregate, events);
        let progress = WriterProgress {
            writer: Mutex::new(writer),
            clock: &self.clock,
            delay: self.config.step_delay,
            cancelled,
        };

        progress.step(steps::STARTING).await?;
        if resumed {
            progress.log(lines::resuming(claim.attempts)).await?;
        }
        let outcome = pipeline::generate(
            &self.engine,
            self.llm.as_ref(),
            &claim.job_id,
            &request,
            &progress,
        )
        .await?;
        match outcome {
            Ok(assessment) => {
                progress
                    .end(TaskExecutionCommand::Complete {
                        assessment: Box::new(assessment),
                        at: self.clock.now(),
                    })
                    .await
            }
            Err(error) => {
                progress
                    .end(TaskExecutionCommand::Fail {
                        reason: error.to_string(),
                        at: self.clock.now(),
                    })
                    .await
            }
        }
    }

    /// Fails a job claimed too often. A job whose history cannot even be loaded is taken out of
    /// the queue with an error in the log, as nothing can be appended to it.
    async fn give_up(&self, claim: &Claim) -> anyhow::Result<()> {
        let command = TaskExecutionCommand::Fail {
            reason: lines::given_up(claim.attempts - 1),
            at: self.clock.now(),
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
}

/// Records a job's progress as commands on its aggregate, held in memory by a writer.
struct WriterProgress<'a> {
    writer: Mutex<JobWriter>,
    clock: &'a Clock,
    delay: Duration,
    /// True once the lease is lost: nothing more is written.
    cancelled: watch::Receiver<bool>,
}

fn refused(error: CommandError) -> anyhow::Error {
    match error {
        // Another worker finished the job meanwhile (a lease taken over): nothing to add.
        AggregateError::UserError(error) => {
            anyhow::anyhow!(error).context("the job no longer accepts progress")
        }
        AggregateError::AggregateConflict => {
            anyhow::anyhow!("another worker wrote to the job meanwhile (its lease was taken over)")
        }
        error => anyhow::anyhow!(error.to_string()),
    }
}

impl WriterProgress<'_> {
    /// The writer, unless the lease was lost.
    async fn writer(&self) -> anyhow::Result<tokio::sync::MutexGuard<'_, JobWriter>> {
        if *self.cancelled.borrow() {
            anyhow::bail!("the lease was lost: the job stops here and is claimed again");
        }
        Ok(self.writer.lock().await)
    }

    /// Records `command`; with a step delay, appends it at once and pauses.
    async fn record(&self, command: TaskExecutionCommand) -> anyhow::Result<()> {
        let mut writer = self.writer().await?;
        writer.record(command).await.map_err(refused)?;
        if !self.delay.is_zero() {
            writer.flush().await.map_err(refused)?;
            drop(writer);
            tokio::time::sleep(self.delay).await;
        }
        Ok(())
    }

    /// Records the job's last command and appends everything not yet written.
    async fn end(&self, command: TaskExecutionCommand) -> anyhow::Result<()> {
        let mut writer = self.writer().await?;
        writer.record(command).await.map_err(refused)?;
        writer.flush().await.map_err(refused)
    }
}

impl Progress for WriterProgress<'_> {
    /// A new step appends the events of the one before it, together.
    async fn step(&self, step: &'static str) -> anyhow::Result<()> {
        self.writer().await?.flush().await.map_err(refused)?;
        self.record(TaskExecutionCommand::StartStep {
            step: step.to_owned(),
            at: self.clock.now(),
        })
        .await
    }

    async fn log(&self, line: String) -> anyhow::Result<()> {
        self.record(TaskExecutionCommand::AppendLog {
            message: line,
            at: self.clock.now(),
        })
        .await
    }
}
