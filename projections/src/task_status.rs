//! The task-execution status view: what `GET /api/v2/task-executions/status/{job_id}` returns.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use assessment_domain::{Lifecycle, TaskExecutionEvent};

use crate::time_format::{self, truncate};
use crate::Recorded;

/// How many of the latest log entries the view keeps.
pub const RECENT_LOG_LIMIT: usize = 20;

/// The status view together with the owner it is scoped to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub organization_id: String,
    /// Position of the last event folded in.
    pub last_position: i64,
    pub view: TaskStatusView,
}

/// The seed API's status document, field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatusView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Serialized as the seed's status values: `pending`, `processing`, `completed`, `failed`.
    pub status: Lifecycle,
    pub current_step: Option<String>,
    pub recent_logs: Vec<LogEntry>,
    pub result: Option<Value>,
    pub notification_url: Option<String>,
    #[serde(with = "time_format")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time_format")]
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: i64,
    pub message: String,
    #[serde(with = "time_format")]
    pub created_at: DateTime<Utc>,
    pub task_execution_id: String,
}

pub const TASK_TYPE: &str = "assessment_creation";
pub const QUEUED_STEP: &str = "Queued for processing";
/// The seed's message for a job just accepted.
pub const QUEUED_MESSAGE: &str = "Assessment creation job has been queued successfully";
pub const COMPLETED_STEP: &str = "Assessment creation completed";
pub const FAILED_STEP: &str = "Assessment creation failed";

impl TaskStatus {
    /// Folds one event into the status of its job. `None` is a job not seen yet; events of a
    /// job that was never requested are ignored, as the aggregate cannot produce them.
    pub fn fold(state: Option<TaskStatus>, recorded: Recorded<'_>) -> Option<TaskStatus> {
        let at = truncate(recorded.event.occurred_at());
        let mut status = match (state, recorded.event) {
            (None, TaskExecutionEvent::JobRequested(requested)) => {
                return Some(TaskStatus {
                    organization_id: requested.organization_id.clone(),
                    last_position: recorded.position,
                    view: TaskStatusView {
                        id: recorded.job_id.to_owned(),
                        kind: TASK_TYPE.to_owned(),
                        status: Lifecycle::Pending,
                        current_step: Some(QUEUED_STEP.to_owned()),
                        recent_logs: Vec::new(),
                        result: None,
                        notification_url: requested.notification_url.clone(),
                        created_at: at,
                        updated_at: at,
                    },
                });
            }
            (None, _) => return None,
            (Some(status), _) => status,
        };
        let view = &mut status.view;
        match recorded.event {
            TaskExecutionEvent::JobRequested(_) => {}
            TaskExecutionEvent::StepStarted { step, .. } => {
                view.status = Lifecycle::Processing;
                view.current_step = Some(step.clone());
            }
            TaskExecutionEvent::LogAppended { message, .. } => {
                view.recent_logs.push(LogEntry {
                    id: recorded.position,
                    message: message.clone(),
                    created_at: at,
                    task_execution_id: recorded.job_id.to_owned(),
                });
                let excess = view.recent_logs.len().saturating_sub(RECENT_LOG_LIMIT);
                view.recent_logs.drain(..excess);
            }
            TaskExecutionEvent::Completed { assessment, .. } => {
                view.status = Lifecycle::Completed;
                view.current_step = Some(COMPLETED_STEP.to_owned());
                view.result = Some(json!({
                    "assessment_id": assessment.id,
                    "assessment_name": assessment.name,
                }));
            }
            TaskExecutionEvent::Failed { reason, .. } => {
                view.status = Lifecycle::Failed;
                view.current_step = Some(FAILED_STEP.to_owned());
                view.result = Some(json!({ "error": reason }));
            }
        }
        view.updated_at = at.max(view.updated_at);
        status.last_position = recorded.position;
        Some(status)
    }

    /// Marks the job failed for an event of it at `position` that could not be read (it was
    /// parked: see `assessment-service parked`); a later event that can be read folds in as
    /// usual. `None` for a job not seen yet.
    pub fn unreadable(
        state: Option<TaskStatus>,
        position: i64,
        event_type: &str,
        recorded_at: DateTime<Utc>,
    ) -> Option<TaskStatus> {
        let mut status = state?;
        let view = &mut status.view;
        view.status = Lifecycle::Failed;
        view.current_step = Some(FAILED_STEP.to_owned());
        view.result = Some(json!({
            "error": format!(
                "Event {position} ({event_type}) of this job could not be read, so its status \
                 may be incomplete; an operator can see it with `assessment-service parked list`"
            ),
        }));
        view.updated_at = truncate(recorded_at).max(view.updated_at);
        status.last_position = position;
        Some(status)
    }

    /// Folds a whole history, oldest first.
    pub fn from_history<'a>(events: impl IntoIterator<Item = Recorded<'a>>) -> Option<TaskStatus> {
        events.into_iter().fold(None, TaskStatus::fold)
    }
}

#[cfg(test)]
mod tests {
    use assessment_domain::{JobRequested, TaskExecutionEvent};
    use chrono::TimeZone;

    use super::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 9, 16, 51, second).unwrap()
    }

    fn history() -> Vec<TaskExecutionEvent> {
        let mut events = vec![
            TaskExecutionEvent::JobRequested(Box::new(JobRequested {
                job_id: "job-1".into(),
                organization_id: "acme".into(),
                job_role: "Nurse".into(),
                job_description: "Patient care".into(),
                cutoff: 40,
                notification_url: None,
                options: Default::default(),
                api_key_id: None,
                requested_at: at(0),
            })),
            TaskExecutionEvent::StepStarted {
                step: "Starting task execution".into(),
                started_at: at(1),
            },
        ];
        for i in 0..25 {
            events.push(TaskExecutionEvent::LogAppended {
                message: format!("AI Progress: step {i}"),
                logged_at: at(2),
            });
        }
        events.push(TaskExecutionEvent::Failed {
            reason: "No recognizable skills".into(),
            failed_at: at(5),
        });
        events
    }

    fn fold(events: &[TaskExecutionEvent]) -> Option<TaskStatus> {
        TaskStatus::from_history(events.iter().enumerate().map(|(i, event)| Recorded {
            position: 100 + i as i64,
            job_id: "job-1",
            event,
        }))
    }

    #[test]
    fn a_requested_job_is_pending() {
        let status = fold(&history()[..1]).unwrap();
        assert_eq!(status.view.status, Lifecycle::Pending);
        assert_eq!(status.organization_id, "acme");
        assert_eq!(status.view.kind, "assessment_creation");
        assert!(status.view.result.is_none());
    }

    #[test]
    fn logs_keep_the_latest_entries_oldest_first_with_increasing_ids() {
        let status = fold(&history()[..27]).unwrap();
        assert_eq!(status.view.status, Lifecycle::Processing);
        let logs = &status.view.recent_logs;
        assert_eq!(logs.len(), RECENT_LOG_LIMIT);
        assert_eq!(logs.last().unwrap().message, "AI Progress: step 24");
        assert!(logs.windows(2).all(|w| w[0].id < w[1].id));
    }

    #[test]
    fn a_failed_job_carries_its_reason() {
        let status = fold(&history()).unwrap();
        assert_eq!(status.view.status, Lifecycle::Failed);
        assert_eq!(
            status.view.result,
            Some(json!({"error": "No recognizable skills"}))
        );
        assert_eq!(status.view.updated_at, at(5));
    }

    #[test]
    fn events_of_an_unknown_job_are_ignored() {
        assert!(fold(&history()[1..]).is_none());
    }

    #[test]
    fn the_view_serializes_in_the_seed_format_and_back() {
        let status = fold(&history()).unwrap();
        let json = serde_json::to_value(&status.view).unwrap();
        assert_eq!(json["created_at"], "2025-10-09T16:51:00");
        assert_eq!(json["type"], "assessment_creation");
        let back: TaskStatusView = serde_json::from_value(json).unwrap();
        assert_eq!(back, status.view);
    }
}
