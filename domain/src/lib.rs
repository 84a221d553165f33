//! The domain of the assessment service: the `TaskExecution` aggregate that records one
//! assessment-generation job, the validated request values, and the assessment it produces.
//!
//! Pure code: no database, HTTP or clock access. Whatever a command needs (the time, the
//! generated assessment) is decided by the caller and carried in the command.

pub mod assessment;
pub mod request;
pub mod task_execution;

pub use assessment::{
    Assessment, Difficulty, Proctoring, Question, QuestionType, Section, SkillDetail, SkillSource,
    SkillWeight, TestCase,
};
pub use request::{
    Cutoff, ExperienceLevel, GenerationOptions, JobDescription, JobRole, NotificationUrl,
    RequestError,
};
pub use task_execution::{
    upcasters, JobRequested, Lifecycle, TaskExecution, TaskExecutionCommand, TaskExecutionError,
    TaskExecutionEvent,
};
