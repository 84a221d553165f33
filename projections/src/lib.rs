//! Read models of the service and the pure folds that build them from events.
//!
//! The same fold serves the live subscription, a rebuild from the log and a job folded on the
//! fly, so every path gives the same view for the same events. No I/O here.

pub mod assessment_info;
pub mod task_status;
mod time_format;
pub mod webhook;

pub use assessment_info::{
    AssessmentInfo, AssessmentRecord, CreationDetails, SectionInfo, SkillInfo,
};
pub use task_status::{LogEntry, TaskStatus, TaskStatusView, QUEUED_MESSAGE, RECENT_LOG_LIMIT};
pub use webhook::webhook_payload;

use assessment_domain::TaskExecutionEvent;

/// One event as read from the log, with its place in it.
#[derive(Debug, Clone, Copy)]
pub struct Recorded<'a> {
    /// Global position in commit order; also the id of a log entry.
    pub position: i64,
    /// The job (aggregate) the event belongs to.
    pub job_id: &'a str,
    pub event: &'a TaskExecutionEvent,
}
