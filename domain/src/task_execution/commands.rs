//! Commands a `TaskExecution` accepts. Each carries the time it happened, decided by the caller.

use chrono::{DateTime, Utc};

use super::events::JobRequested;
use crate::Assessment;

#[derive(Debug, Clone, PartialEq)]
pub enum TaskExecutionCommand {
    /// Queue a new job with everything the client asked for.
    RequestAssessment(Box<JobRequested>),
    /// Enter a named step of the pipeline; the first one starts processing.
    StartStep { step: String, at: DateTime<Utc> },
    /// Record a progress message.
    AppendLog { message: String, at: DateTime<Utc> },
    /// Finish with the generated assessment.
    Complete {
        assessment: Box<Assessment>,
        at: DateTime<Utc>,
    },
    /// Finish without an assessment, with a reason a person can act on.
    Fail { reason: String, at: DateTime<Utc> },
}
