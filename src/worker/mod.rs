//! Background workers: claim queued jobs with a lease, and run each (`job`) while the lease is
//! renewed.
//!
//! A claim is a lease in `job_queue` renewed while the job runs. If the process dies, the lease
//! runs out and the job is claimed again (here after a restart, or by another instance) and run
//! to its end. Several instances on one PostgreSQL compete with `FOR UPDATE SKIP LOCKED`. Lease
//! times are read from the injected clock.

mod job;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::commands::CommandBus;
use crate::generator::llm::LlmClient;
use crate::generator::Engine;
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
    /// How long an idle worker waits for a wakeup before looking for a job anyway.
    pub poll: Duration,
}

/// A job this worker holds the lease of.
#[derive(Debug, Clone)]
struct Claim {
    job_id: String,
    organization_id: String,
    attempts: i32,
    owner: String,
    /// When the claim was asked for: its lease runs from then at the latest.
    leased_at: tokio::time::Instant,
}

pub struct Worker {
    db: Db,
    bus: CommandBus,
    engine: Arc<Engine>,
    llm: Option<LlmClient>,
    config: WorkerConfig,
    clock: Clock,
    jobs_queued: Arc<Notify>,
    instance: String,
}

impl Worker {
    pub fn new(
        db: Db,
        bus: CommandBus,
        engine: Arc<Engine>,
        llm: Option<LlmClient>,
        config: WorkerConfig,
        clock: Clock,
        jobs_queued: Arc<Notify>,
    ) -> Self {
        Self {
            db,
            bus,
            engine,
            llm,
            config,
            clock,
            jobs_queued,
            instance: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// Starts `concurrency` worker loops (none for 0).
    pub fn spawn(self) -> RunningWorkers {
        let worker = Arc::new(self);
        let (stop, stopping) = watch::channel(false);
        let tasks = (0..worker.config.concurrency)
            .map(|slot| tokio::spawn(worker.clone().run_slot(slot, stopping.clone())))
            .collect();
        RunningWorkers {
            worker,
            stop,
            tasks,
        }
    }

    /// Claims and runs jobs until `stopping` turns true. A claim in flight is let finish rather
    /// than cancelled: a cancelled query may still run on the database (SQLite's connection
    /// thread does not stop mid-statement), and would take a job after the shutdown freed it.
    async fn run_slot(self: Arc<Self>, slot: usize, mut stopping: watch::Receiver<bool>) {
        let owner = format!("{}/{slot}", self.instance);
        while !*stopping.borrow() {
            let idle = self.jobs_queued.notified();
            match self.claim(&owner).await {
                Ok(Some(claim)) => {
                    // Whatever the job still has in flight when it is dropped cannot take
                    // another lease: renewals and the release name this claim's owner.
                    tokio::select! {
                        () = self.process(claim) => {}
                        _ = stopping.wait_for(|stop| *stop) => return,
                    }
                    continue;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "claiming a job failed")
                }
            }
            tokio::select! {
                _ = tokio::time::timeout(self.config.poll, idle) => {}
                _ = stopping.wait_for(|stop| *stop) => return,
            }
        }
    }

    async fn claim(&self, owner: &str) -> anyhow::Result<Option<Claim>> {
        let lease = self.config.lease;
        // The lease runs from when the database took it, no later than now.
        let asked_at = tokio::time::Instant::now();
        let claimed = job_queue::claim(&self.db, owner, self.clock.for_leases(), lease).await?;
        Ok(claimed.map(|job| Claim {
            job_id: job.job_id,
            organization_id: job.organization_id,
            attempts: job.attempts,
            owner: owner.to_owned(),
            leased_at: asked_at,
        }))
    }

    /// Extends the lease until `claim` is no longer held; returns when it is lost, or when it
    /// could not be renewed for a whole lease (another worker may have it by then).
    async fn keep_lease(&self, claim: &Claim) -> anyhow::Result<()> {
        let mut renewed_at = claim.leased_at;
        loop {
            tokio::time::sleep(self.config.lease / 3).await;
            if renewed_at.elapsed() >= self.config.lease {
                anyhow::bail!("lease could not be renewed in time");
            }
            // The renewed lease runs from when the database took it, no later than now.
            let asked_at = tokio::time::Instant::now();
            let clock = self.clock.for_leases();
            let renewed = job_queue::renew(
                &self.db,
                &claim.job_id,
                &claim.owner,
                clock,
                self.config.lease,
            )
            .await;
            match renewed {
                Ok(false) => anyhow::bail!("lease lost"),
                Ok(true) => renewed_at = asked_at,
                Err(error) => {
                    tracing::warn!(%error, job_id = %claim.job_id, "lease renewal failed")
                }
            }
        }
    }

    /// Runs `claim`'s job while keeping its lease. The job runs as a task of its own and is
    /// never dropped in the middle of a database call (a cancelled call can leave a
    /// transaction open on a pooled connection): when the lease is lost, the job is told to
    /// stop and does so before its next write.
    async fn process(self: &Arc<Self>, claim: Claim) {
        let (cancel, cancelled) = watch::channel(false);
        let worker = self.clone();
        let job = claim.clone();
        let mut running = tokio::spawn(async move { worker.run(&job, cancelled).await });
        let outcome = tokio::select! {
            joined = &mut running => joined
                .unwrap_or_else(|error| Err(anyhow::anyhow!("the job's task failed: {error}"))),
            lost = self.keep_lease(&claim) => {
                let _ = cancel.send(true);
                let _ = running.await;
                lost
            }
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
}

/// The worker loops of this process.
pub struct RunningWorkers {
    worker: Arc<Worker>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// How long a shutdown waits for claims in flight before it gives up on them.
const CLAIMS_SETTLE: Duration = Duration::from_secs(10);

impl RunningWorkers {
    /// Stops the loops and gives up their leases, so the interrupted jobs are claimed again at
    /// once (by another instance, or by this one after a restart) instead of after the lease.
    /// A shutdown is not the job's fault: the claim does not count toward its attempts.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + CLAIMS_SETTLE;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                // A claim stuck that long is given up; a job it takes keeps its lease, which
                // runs out on its own.
                tracing::warn!("a worker loop did not stop in time");
                task.abort();
            }
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
