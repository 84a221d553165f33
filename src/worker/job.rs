//! Running one claimed job: fail it if it was claimed too often, skip it if it has ended,
//! else run the generation pipeline and record its result, every report of the pipeline
//! becoming a command on the job's aggregate.

use std::time::Duration;

use anyhow::Context;
use assessment_domain::{Lifecycle, TaskExecutionCommand};
use cqrs_es::AggregateError;

use super::{Claim, Worker};
use crate::clock::Clock;
use crate::commands::CommandBus;
use crate::generator::pipeline;
use crate::generator::progress::{lines, steps, Progress};
use crate::query;

impl Worker {
    /// Runs `claim`'s job to its end; an error is an interruption (the job is claimed again).
    pub(super) async fn run(&self, claim: &Claim) -> anyhow::Result<()> {
        // Checked before the history is read: a job whose history cannot be read must not be
        // claimed forever.
        if claim.attempts > self.config.max_attempts {
            return self.give_up(claim).await;
        }
        let Some(job) = query::job_to_run(&self.db, &claim.job_id).await? else {
            anyhow::bail!("job {} has no JobRequested event", claim.job_id);
        };
        if job.lifecycle.has_ended() {
            return Ok(());
        }
        let progress = BusProgress {
            bus: &self.bus,
            clock: &self.clock,
            job_id: &claim.job_id,
            organization_id: &job.request.organization_id,
            delay: self.config.step_delay,
        };

        progress.step(steps::STARTING).await?;
        if claim.attempts > 1 || job.lifecycle == Lifecycle::Processing {
            progress.log(lines::resuming(claim.attempts)).await?;
        }
        let outcome = pipeline::generate(
            &self.engine,
            self.llm.as_ref(),
            &claim.job_id,
            &job.request,
            &progress,
        )
        .await?;
        match outcome {
            Ok(assessment) => {
                progress
                    .send(TaskExecutionCommand::Complete {
                        assessment: Box::new(assessment),
                        at: self.clock.now(),
                    })
                    .await
            }
            Err(error) => {
                progress
                    .send(TaskExecutionCommand::Fail {
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

/// Records a job's progress as commands on its aggregate.
struct BusProgress<'a> {
    bus: &'a CommandBus,
    clock: &'a Clock,
    job_id: &'a str,
    organization_id: &'a str,
    delay: Duration,
}

impl BusProgress<'_> {
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
}

impl Progress for BusProgress<'_> {
    async fn step(&self, step: &'static str) -> anyhow::Result<()> {
        self.send(TaskExecutionCommand::StartStep {
            step: step.to_owned(),
            at: self.clock.now(),
        })
        .await
    }

    async fn log(&self, line: String) -> anyhow::Result<()> {
        self.send(TaskExecutionCommand::AppendLog {
            message: line,
            at: self.clock.now(),
        })
        .await
    }
}
