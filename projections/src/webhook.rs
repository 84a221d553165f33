//! The notification a job's event becomes: the seed's webhook payload
//! `{job_id, status, message, timestamp}`, with `result` on the final update.

use chrono::SecondsFormat;
use serde_json::{json, Value};

use assessment_domain::{Lifecycle, TaskExecutionEvent};

use crate::task_status::QUEUED_MESSAGE;

/// The payload announcing `event` of job `job_id`.
pub fn webhook_payload(job_id: &str, event: &TaskExecutionEvent) -> Value {
    let (status, message, result) = match event {
        TaskExecutionEvent::JobRequested(_) => {
            (Lifecycle::Pending, QUEUED_MESSAGE.to_owned(), None)
        }
        TaskExecutionEvent::StepStarted { step, .. } => (Lifecycle::Processing, step.clone(), None),
        TaskExecutionEvent::LogAppended { message, .. } => {
            (Lifecycle::Processing, message.clone(), None)
        }
        TaskExecutionEvent::Completed { assessment, .. } => (
            Lifecycle::Completed,
            "Assessment creation completed".to_owned(),
            Some(json!({"assessment_id": assessment.id, "assessment_name": assessment.name})),
        ),
        TaskExecutionEvent::Failed { reason, .. } => (
            Lifecycle::Failed,
            reason.clone(),
            Some(json!({ "error": reason })),
        ),
    };
    let mut payload = json!({
        "job_id": job_id,
        "status": status,
        "message": message,
        "timestamp": event.occurred_at().to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    if let Some(result) = result {
        payload["result"] = result;
    }
    payload
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn a_log_is_a_processing_update_and_a_failure_carries_its_reason() {
        let at = Utc.with_ymd_and_hms(2024, 1, 15, 10, 30, 0).unwrap();
        let log = TaskExecutionEvent::LogAppended {
            message: "AI Progress: Analyzing job requirements...".into(),
            logged_at: at,
        };
        assert_eq!(
            webhook_payload("job-1", &log),
            json!({
                "job_id": "job-1",
                "status": "processing",
                "message": "AI Progress: Analyzing job requirements...",
                "timestamp": "2024-01-15T10:30:00Z"
            })
        );
        let failed = TaskExecutionEvent::Failed {
            reason: "No skills".into(),
            failed_at: at,
        };
        let payload = webhook_payload("job-1", &failed);
        assert_eq!(payload["status"], "failed");
        assert_eq!(payload["result"]["error"], "No skills");
    }
}
