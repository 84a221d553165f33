//! Events of a `TaskExecution`. Their `event_type` names and versions are part of the stored
//! history: rename nothing, and add a new version (with an upcaster) to change a shape.

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use serde::{Deserialize, Serialize};

use crate::{Assessment, GenerationOptions};

/// Everything the request said, plus its owner and when it was accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequested {
    pub job_id: String,
    pub organization_id: String,
    pub job_role: String,
    pub job_description: String,
    pub cutoff: u8,
    pub notification_url: Option<String>,
    /// The optional generation controls (since 2.0; the upcaster fills them in for 1.0).
    pub options: GenerationOptions,
    /// The API key that asked; its webhook secret signs the job's notifications (since 2.0).
    pub api_key_id: Option<String>,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskExecutionEvent {
    JobRequested(Box<JobRequested>),
    StepStarted {
        step: String,
        started_at: DateTime<Utc>,
    },
    LogAppended {
        message: String,
        logged_at: DateTime<Utc>,
    },
    Completed {
        assessment: Box<Assessment>,
        completed_at: DateTime<Utc>,
    },
    Failed {
        reason: String,
        failed_at: DateTime<Utc>,
    },
}

impl TaskExecutionEvent {
    /// When the event happened, as decided by the command that caused it.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            TaskExecutionEvent::JobRequested(requested) => requested.requested_at,
            TaskExecutionEvent::StepStarted { started_at, .. } => *started_at,
            TaskExecutionEvent::LogAppended { logged_at, .. } => *logged_at,
            TaskExecutionEvent::Completed { completed_at, .. } => *completed_at,
            TaskExecutionEvent::Failed { failed_at, .. } => *failed_at,
        }
    }

    /// Whether this event ends the job.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TaskExecutionEvent::Completed { .. } | TaskExecutionEvent::Failed { .. }
        )
    }
}

impl DomainEvent for TaskExecutionEvent {
    fn event_type(&self) -> String {
        match self {
            TaskExecutionEvent::JobRequested(_) => "JobRequested",
            TaskExecutionEvent::StepStarted { .. } => "StepStarted",
            TaskExecutionEvent::LogAppended { .. } => "LogAppended",
            TaskExecutionEvent::Completed { .. } => "Completed",
            TaskExecutionEvent::Failed { .. } => "Failed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            TaskExecutionEvent::JobRequested(_) => "2.0",
            _ => "1.0",
        }
        .to_owned()
    }
}
