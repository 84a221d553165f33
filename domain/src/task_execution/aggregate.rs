//! The rules of a job's life: requested once, steps and logs while it runs, one ending.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{TaskExecutionCommand, TaskExecutionEvent};

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// No `JobRequested` yet: the aggregate does not exist.
    #[default]
    Unrequested,
    Pending,
    Processing,
    Completed,
    Failed,
}

impl Lifecycle {
    pub fn has_ended(self) -> bool {
        matches!(self, Lifecycle::Completed | Lifecycle::Failed)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskExecution {
    lifecycle: Lifecycle,
}

impl TaskExecution {
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    fn ensure_running(&self) -> Result<(), TaskExecutionError> {
        match self.lifecycle {
            Lifecycle::Unrequested => Err(TaskExecutionError::NotRequested),
            Lifecycle::Pending | Lifecycle::Processing => Ok(()),
            Lifecycle::Completed | Lifecycle::Failed => Err(TaskExecutionError::AlreadyEnded),
        }
    }
}

/// A command the job's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskExecutionError {
    #[error("task execution has already been requested")]
    AlreadyRequested,
    #[error("task execution has not been requested")]
    NotRequested,
    #[error("task execution has already ended")]
    AlreadyEnded,
    #[error("task execution cannot complete before it has started processing")]
    NotStarted,
}

impl Aggregate for TaskExecution {
    const TYPE: &'static str = "TaskExecution";
    type Command = TaskExecutionCommand;
    type Event = TaskExecutionEvent;
    type Error = TaskExecutionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        let event = match command {
            TaskExecutionCommand::RequestAssessment(requested) => {
                if self.lifecycle != Lifecycle::Unrequested {
                    return Err(TaskExecutionError::AlreadyRequested);
                }
                TaskExecutionEvent::JobRequested(requested)
            }
            TaskExecutionCommand::StartStep { step, at } => {
                self.ensure_running()?;
                TaskExecutionEvent::StepStarted {
                    step,
                    started_at: at,
                }
            }
            TaskExecutionCommand::AppendLog { message, at } => {
                self.ensure_running()?;
                TaskExecutionEvent::LogAppended {
                    message,
                    logged_at: at,
                }
            }
            TaskExecutionCommand::Complete { assessment, at } => {
                self.ensure_running()?;
                if self.lifecycle != Lifecycle::Processing {
                    return Err(TaskExecutionError::NotStarted);
                }
                TaskExecutionEvent::Completed {
                    assessment,
                    completed_at: at,
                }
            }
            TaskExecutionCommand::Fail { reason, at } => {
                self.ensure_running()?;
                TaskExecutionEvent::Failed {
                    reason,
                    failed_at: at,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        self.lifecycle = match event {
            TaskExecutionEvent::JobRequested(_) => Lifecycle::Pending,
            TaskExecutionEvent::StepStarted { .. } => Lifecycle::Processing,
            TaskExecutionEvent::LogAppended { .. } => self.lifecycle,
            TaskExecutionEvent::Completed { .. } => Lifecycle::Completed,
            TaskExecutionEvent::Failed { .. } => Lifecycle::Failed,
        };
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use cqrs_es::test::TestFramework;

    use super::*;
    use crate::task_execution::JobRequested;
    use crate::{Assessment, Proctoring};

    type Given = TestFramework<TaskExecution>;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 10, 9, 16, 51, second).unwrap()
    }

    fn requested() -> JobRequested {
        JobRequested {
            job_id: "6efe0833-332a-4b78-b022-e2275f8204aa".into(),
            organization_id: "acme".into(),
            job_role: "Senior Python Developer".into(),
            job_description: "Django, Flask and FastAPI".into(),
            cutoff: 60,
            notification_url: None,
            options: Default::default(),
            api_key_id: None,
            requested_at: at(0),
        }
    }

    fn assessment() -> Box<Assessment> {
        Box::new(Assessment {
            id: "a-1".into(),
            name: "Senior Python Developer Assessment".into(),
            job_role: "Senior Python Developer".into(),
            seniority: "senior".into(),
            cutoff: 60,
            skill_details: vec![],
            skills: vec!["Django".into()],
            sections: vec![],
            proctoring: Proctoring {
                webcam_monitoring: true,
                full_screen_required: true,
                tab_switch_limit: Some(3),
                copy_paste_blocked: true,
                randomize_question_order: true,
                randomize_option_order: true,
                screen_recording: false,
                identity_verification: false,
                allow_paste_in_code_editor: false,
            },
        })
    }

    fn step_started(step: &str, second: u32) -> TaskExecutionEvent {
        TaskExecutionEvent::StepStarted {
            step: step.into(),
            started_at: at(second),
        }
    }

    #[test]
    fn a_new_job_is_requested() {
        Given::with(())
            .given_no_previous_events()
            .when(TaskExecutionCommand::RequestAssessment(Box::new(
                requested(),
            )))
            .then_expect_events(vec![TaskExecutionEvent::JobRequested(
                Box::new(requested()),
            )]);
    }

    #[test]
    fn a_job_is_requested_only_once() {
        Given::with(())
            .given(vec![TaskExecutionEvent::JobRequested(
                Box::new(requested()),
            )])
            .when(TaskExecutionCommand::RequestAssessment(Box::new(
                requested(),
            )))
            .then_expect_error(TaskExecutionError::AlreadyRequested);
    }

    #[test]
    fn a_step_needs_a_requested_job() {
        Given::with(())
            .given_no_previous_events()
            .when(TaskExecutionCommand::StartStep {
                step: "Starting task execution".into(),
                at: at(1),
            })
            .then_expect_error(TaskExecutionError::NotRequested);
    }

    #[test]
    fn a_log_needs_a_requested_job() {
        Given::with(())
            .given_no_previous_events()
            .when(TaskExecutionCommand::AppendLog {
                message: "AI Progress: Analyzing job requirements...".into(),
                at: at(1),
            })
            .then_expect_error(TaskExecutionError::NotRequested);
    }

    #[test]
    fn the_first_step_moves_a_pending_job_to_processing() {
        let mut job = TaskExecution::default();
        job.apply(TaskExecutionEvent::JobRequested(Box::new(requested())));
        assert_eq!(job.lifecycle(), Lifecycle::Pending);
        job.apply(step_started("Starting task execution", 1));
        assert_eq!(job.lifecycle(), Lifecycle::Processing);
        Given::with(())
            .given(vec![TaskExecutionEvent::JobRequested(
                Box::new(requested()),
            )])
            .when(TaskExecutionCommand::StartStep {
                step: "Starting task execution".into(),
                at: at(1),
            })
            .then_expect_events(vec![step_started("Starting task execution", 1)]);
    }

    #[test]
    fn logs_are_appended_while_processing() {
        Given::with(())
            .given(vec![
                TaskExecutionEvent::JobRequested(Box::new(requested())),
                step_started("Starting task execution", 1),
            ])
            .when(TaskExecutionCommand::AppendLog {
                message: "AI Progress: Analyzing job requirements...".into(),
                at: at(2),
            })
            .then_expect_events(vec![TaskExecutionEvent::LogAppended {
                message: "AI Progress: Analyzing job requirements...".into(),
                logged_at: at(2),
            }]);
    }

    #[test]
    fn a_processing_job_completes_with_its_assessment() {
        Given::with(())
            .given(vec![
                TaskExecutionEvent::JobRequested(Box::new(requested())),
                step_started("Starting task execution", 1),
            ])
            .when(TaskExecutionCommand::Complete {
                assessment: assessment(),
                at: at(3),
            })
            .then_expect_events(vec![TaskExecutionEvent::Completed {
                assessment: assessment(),
                completed_at: at(3),
            }]);
    }

    #[test]
    fn a_pending_job_cannot_complete_before_processing() {
        Given::with(())
            .given(vec![TaskExecutionEvent::JobRequested(
                Box::new(requested()),
            )])
            .when(TaskExecutionCommand::Complete {
                assessment: assessment(),
                at: at(3),
            })
            .then_expect_error(TaskExecutionError::NotStarted);
    }

    #[test]
    fn a_pending_job_can_fail() {
        Given::with(())
            .given(vec![TaskExecutionEvent::JobRequested(
                Box::new(requested()),
            )])
            .when(TaskExecutionCommand::Fail {
                reason: "no skills".into(),
                at: at(2),
            })
            .then_expect_events(vec![TaskExecutionEvent::Failed {
                reason: "no skills".into(),
                failed_at: at(2),
            }]);
    }

    #[test]
    fn a_job_that_never_was_requested_cannot_fail() {
        Given::with(())
            .given_no_previous_events()
            .when(TaskExecutionCommand::Fail {
                reason: "no skills".into(),
                at: at(2),
            })
            .then_expect_error(TaskExecutionError::NotRequested);
    }

    fn completed_job() -> Vec<TaskExecutionEvent> {
        vec![
            TaskExecutionEvent::JobRequested(Box::new(requested())),
            step_started("Starting task execution", 1),
            TaskExecutionEvent::Completed {
                assessment: assessment(),
                completed_at: at(3),
            },
        ]
    }

    fn failed_job() -> Vec<TaskExecutionEvent> {
        vec![
            TaskExecutionEvent::JobRequested(Box::new(requested())),
            TaskExecutionEvent::Failed {
                reason: "no skills".into(),
                failed_at: at(2),
            },
        ]
    }

    #[test]
    fn an_ended_job_accepts_no_step_log_or_second_ending() {
        for history in [completed_job(), failed_job()] {
            let commands = [
                TaskExecutionCommand::StartStep {
                    step: "again".into(),
                    at: at(9),
                },
                TaskExecutionCommand::AppendLog {
                    message: "again".into(),
                    at: at(9),
                },
                TaskExecutionCommand::Complete {
                    assessment: assessment(),
                    at: at(9),
                },
                TaskExecutionCommand::Fail {
                    reason: "again".into(),
                    at: at(9),
                },
            ];
            for command in commands {
                Given::with(())
                    .given(history.clone())
                    .when(command)
                    .then_expect_error(TaskExecutionError::AlreadyEnded);
            }
        }
    }

    #[test]
    fn an_ended_job_cannot_be_requested_again() {
        Given::with(())
            .given(completed_job())
            .when(TaskExecutionCommand::RequestAssessment(Box::new(
                requested(),
            )))
            .then_expect_error(TaskExecutionError::AlreadyRequested);
    }

    #[test]
    fn events_have_stable_types_and_explicit_versions() {
        use cqrs_es::DomainEvent;
        let names: Vec<String> = completed_job()
            .into_iter()
            .chain(failed_job())
            .chain([TaskExecutionEvent::LogAppended {
                message: "m".into(),
                logged_at: at(1),
            }])
            .map(|e| {
                let expected = if e.event_type() == "JobRequested" {
                    "2.0"
                } else {
                    "1.0"
                };
                assert_eq!(e.event_version(), expected);
                e.event_type()
            })
            .collect();
        for expected in [
            "JobRequested",
            "StepStarted",
            "LogAppended",
            "Completed",
            "Failed",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}");
        }
    }
}
