//! An optional OpenAI-compatible language model (`/chat/completions`). It refines skill
//! extraction and writes questions where the library has too few. Answers are requested with a
//! JSON schema and checked against it on arrival; timeouts and retries bound every call. Any
//! failure is reported to the caller, which goes on with the embedded engine.

use std::time::Duration;

use assessment_domain::{Difficulty, Question, QuestionType};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// How to reach the model. The key is never logged.
#[derive(Clone)]
pub struct LlmConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: String,
    pub timeout: Duration,
    pub max_retries: u32,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    #[error("the model did not answer in time")]
    Timeout,
    #[error("the model could not be reached: {0}")]
    Unreachable(String),
    #[error("the model answered HTTP {0}")]
    Status(u16),
    #[error("the model's answer did not match the expected schema: {0}")]
    InvalidAnswer(String),
}

#[derive(Clone, Debug)]
pub struct LlmClient {
    config: LlmConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillsAnswer {
    skills: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionsAnswer {
    questions: Vec<WrittenQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenQuestion {
    #[serde(rename = "type")]
    kind: QuestionType,
    text: String,
    #[serde(default)]
    options: Vec<String>,
    #[serde(default)]
    answer: Vec<usize>,
    #[serde(default)]
    explanation: Option<String>,
    #[serde(default)]
    rubric: Option<String>,
    time_seconds: u32,
}

fn skills_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["skills"],
        "properties": {
            "skills": {"type": "array", "maxItems": 15, "items": {"type": "string", "maxLength": 80}}
        }
    })
}

fn questions_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["questions"],
        "properties": {"questions": {"type": "array", "maxItems": 10, "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["type", "text", "options", "answer", "explanation", "rubric", "time_seconds"],
            "properties": {
                "type": {"enum": ["multiple_choice", "true_false", "subjective"]},
                "text": {"type": "string"},
                "options": {"type": "array", "items": {"type": "string"}},
                "answer": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                "explanation": {"type": ["string", "null"]},
                "rubric": {"type": ["string", "null"]},
                "time_seconds": {"type": "integer", "minimum": 20, "maximum": 900}
            }
        }}}
    })
}

impl WrittenQuestion {
    /// The question if it passes the library's own checks (and is of a type the model may
    /// write).
    fn check(self, skill: &str, difficulty: Difficulty) -> Result<Question, String> {
        let digest = Sha256::digest(format!("{skill}\n{}", self.text).as_bytes());
        let question = Question {
            id: format!("llm-{}", &hex::encode(digest)[..12]),
            skill: skill.to_owned(),
            kind: self.kind,
            difficulty,
            text: self.text,
            options: self.options,
            correct_options: self.answer,
            explanation: self.explanation,
            rubric: self.rubric,
            duration_seconds: self.time_seconds,
            language: None,
            starter_code: None,
            test_cases: Vec::new(),
        };
        let allowed = matches!(
            question.kind,
            QuestionType::MultipleChoice | QuestionType::TrueFalse | QuestionType::Subjective
        );
        if !allowed {
            return Err(format!("a {} question", question.kind.as_str()));
        }
        super::library::check(&question)?;
        Ok(question)
    }
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()?;
        Ok(Self { config, http })
    }

    /// One schema-constrained completion, parsed as `T`; retried on timeouts, 429, 5xx and
    /// answers off the schema.
    async fn complete<T: DeserializeOwned>(
        &self,
        name: &str,
        schema: Value,
        prompt: String,
    ) -> Result<T, LlmError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": "You help build skills assessments for recruiters. Answer only with JSON that matches the given schema."},
                {"role": "user", "content": prompt}
            ],
            "response_format": {"type": "json_schema", "json_schema": {"name": name, "strict": true, "schema": schema}}
        });
        let mut last_error = LlmError::Timeout;
        for attempt in 0..=self.config.max_retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt.min(5))).await;
            }
            let sent = self
                .http
                .post(&url)
                .bearer_auth(&self.config.api_key)
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) if error.is_timeout() => {
                    last_error = LlmError::Timeout;
                    continue;
                }
                Err(error) => {
                    last_error = LlmError::Unreachable(error.without_url().to_string());
                    continue;
                }
            };
            let status = response.status();
            if !status.is_success() {
                last_error = LlmError::Status(status.as_u16());
                if status.as_u16() == 429 || status.is_server_error() {
                    continue;
                }
                return Err(last_error);
            }
            let completion = match response.json::<Completion>().await {
                Ok(completion) => completion,
                Err(error) if error.is_timeout() => {
                    last_error = LlmError::Timeout;
                    continue;
                }
                Err(_) => {
                    last_error = LlmError::InvalidAnswer("not a chat completion".into());
                    continue;
                }
            };
            let content = completion
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.message.content)
                .unwrap_or_default();
            match serde_json::from_str(&content) {
                Ok(answer) => return Ok(answer),
                Err(error) => last_error = LlmError::InvalidAnswer(error.to_string()),
            }
        }
        Err(last_error)
    }

    /// The skills the job needs, as the model reads it.
    pub async fn extract_skills(
        &self,
        job_role: &str,
        job_description: &str,
    ) -> Result<Vec<String>, LlmError> {
        let prompt = format!(
            "List the 5 to 10 skills (tools, technologies, professional skills) a candidate for \
             this job must be assessed on, most important first, as short canonical names.\n\n\
             Job role: {job_role}\n\nJob description:\n{job_description}"
        );
        let answer: SkillsAnswer = self.complete("skills", skills_schema(), prompt).await?;
        Ok(answer
            .skills
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect())
    }

    /// Up to `count` new questions on `skill`; unusable ones are dropped, and an answer with no
    /// usable question is an error.
    pub async fn write_questions(
        &self,
        job_role: &str,
        skill: &str,
        difficulty: Difficulty,
        count: usize,
    ) -> Result<Vec<Question>, LlmError> {
        let prompt = format!(
            "Write {count} original {level} assessment questions on the skill \"{skill}\" for \
             candidates for the role \"{job_role}\". Use types multiple_choice (4 options, one \
             answer index), true_false (options [\"True\", \"False\"]) or subjective (no \
             options, a rubric). Give an explanation for objective questions and a realistic \
             time_seconds.",
            level = difficulty.as_str()
        );
        let answer: QuestionsAnswer = self
            .complete("questions", questions_schema(), prompt)
            .await?;
        let questions: Vec<Question> = answer
            .questions
            .into_iter()
            .filter_map(|q| q.check(skill, difficulty).ok())
            .take(count)
            .collect();
        if questions.is_empty() {
            return Err(LlmError::InvalidAnswer("no usable question".into()));
        }
        Ok(questions)
    }
}
