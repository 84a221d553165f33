//! How a job reports its progress, and every text it reports: the step names and log lines a
//! client reads in the job's status (`current_step`, `logs`), kept in one place because they
//! are part of the API.

use std::future::Future;

/// Where the pipeline reports to. The worker's implementation records each report as an event
/// of the job; an error means the job cannot go on (it is retried or was finished elsewhere).
pub trait Progress {
    fn step(&self, step: &'static str) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn log(&self, line: String) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The steps of a job, in order.
pub mod steps {
    pub const STARTING: &str = "Starting task execution";
    pub const ANALYZING: &str = "Analyzing job requirements";
    pub const SEARCHING: &str = "Searching question library";
    pub const BUILDING: &str = "Building assessment";
}

/// The log lines, and the reason a job is given up with.
pub mod lines {
    use crate::generator::llm::LlmError;

    pub fn resuming(attempt: i32) -> String {
        format!("AI Progress: Resuming after an interruption (attempt {attempt})...")
    }

    pub fn analyzing() -> String {
        "AI Progress: Analyzing job requirements...".to_owned()
    }

    pub fn model_reviewed(added: &[String]) -> String {
        let added = if added.is_empty() {
            "none".to_owned()
        } else {
            added.join(", ")
        };
        format!("AI Progress: Language model reviewed the skills (added: {added})")
    }

    pub fn model_unavailable(error: &LlmError) -> String {
        format!(
            "AI Progress: Language model unavailable ({error}); continuing with the built-in \
             engine"
        )
    }

    pub fn identified(seniority: &str, family: &str, skills: &[&str]) -> String {
        format!(
            "AI Progress: Identified {} skills for a {seniority} {family} role: {}",
            skills.len(),
            skills.join(", ")
        )
    }

    pub fn extracted(skills: &[&str]) -> String {
        format!(
            "AI Progress: Taken from the description (not in the skill taxonomy): {}",
            skills.join(", ")
        )
    }

    pub fn searching(skill: &str, index: usize, total: usize) -> String {
        format!("AI Progress: Searching for skill: {skill} ({index}/{total})")
    }

    pub fn searched(skill: &str, found: usize) -> String {
        format!("AI Progress: Completed search for skill: {skill} (found {found} results)")
    }

    pub fn model_wrote(skill: &str, written: usize) -> String {
        format!("AI Progress: Language model wrote {written} extra questions for skill: {skill}")
    }

    /// `parent` is the parent skill's questions added, with its name.
    pub fn scenarios_added(skill: &str, templates: usize, parent: Option<(usize, &str)>) -> String {
        let parent = parent
            .map(|(count, name)| format!(" and {count} from {name}"))
            .unwrap_or_default();
        format!("AI Progress: Added {templates} scenario questions{parent} for skill: {skill}")
    }

    pub fn building() -> String {
        "AI Progress: Building assessment sections...".to_owned()
    }

    pub fn ready(questions: usize, sections: usize, minutes: u32) -> String {
        format!(
            "AI Progress: Assessment ready: {questions} questions in {sections} sections, \
             {minutes} minutes"
        )
    }

    /// Why a job claimed too often is failed.
    pub fn given_up(interruptions: i32) -> String {
        format!(
            "Assessment generation was interrupted {interruptions} times and has been stopped. \
             Submit the job again; if it keeps failing, contact support with this job id."
        )
    }
}
