//! Validated values of an assessment request. Each `parse` either returns a value the rest of
//! the system can trust or a `RequestError` whose message is safe to show the client.

use serde::{Deserialize, Serialize};

use crate::QuestionType;

/// Longest accepted job role, in characters.
pub const MAX_JOB_ROLE_CHARS: usize = 200;
/// Longest accepted job description, in characters.
pub const MAX_JOB_DESCRIPTION_CHARS: usize = 20_000;
/// Longest accepted notification URL, in bytes.
pub const MAX_NOTIFICATION_URL_LEN: usize = 2_048;
/// Passing score used when the request names none.
pub const DEFAULT_CUTOFF: u8 = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The seed API's own wording for a missing, null, non-string or blank role or description.
    #[error("Job role and job description are required")]
    MissingRoleOrDescription,
    #[error("job_role and job_description must not contain NUL characters")]
    NulCharacter,
    #[error("job_role must be at most {MAX_JOB_ROLE_CHARS} characters")]
    JobRoleTooLong,
    #[error("job_description must be at most {MAX_JOB_DESCRIPTION_CHARS} characters")]
    JobDescriptionTooLong,
    #[error("cutoff must be an integer between 0 and 100")]
    InvalidCutoff,
    #[error("notification_url must be an absolute http or https URL")]
    InvalidNotificationUrl,
    #[error("experience_level must be one of: junior, mid, senior")]
    InvalidExperienceLevel,
    #[error("question_count must be an integer between {MIN_QUESTIONS} and {MAX_QUESTIONS}")]
    InvalidQuestionCount,
    #[error("duration_minutes must be an integer between {MIN_DURATION_MINUTES} and {MAX_DURATION_MINUTES}")]
    InvalidDuration,
    #[error("question_types must be a non-empty list of: multiple_choice, multiple_select, true_false, coding, subjective")]
    InvalidQuestionTypes,
    #[error("skills must be a list of at most {MAX_REQUESTED_SKILLS} skill names")]
    InvalidSkills,
    #[error("unknown skills: {0} (GET /api/v2/skills lists the known ones)")]
    UnknownSkills(String),
    #[error("language must be one of: {}", CODING_LANGUAGES.join(", "))]
    InvalidLanguage,
}

/// Fewest and most questions a request may ask for.
pub const MIN_QUESTIONS: i64 = 5;
pub const MAX_QUESTIONS: i64 = 60;
/// Shortest and longest assessment a request may ask for, in minutes.
pub const MIN_DURATION_MINUTES: i64 = 10;
pub const MAX_DURATION_MINUTES: i64 = 180;
/// Most must-have skills a request may name.
pub const MAX_REQUESTED_SKILLS: usize = 10;
/// Languages coding questions can be written in.
pub const CODING_LANGUAGES: [&str; 18] = [
    "python",
    "javascript",
    "typescript",
    "java",
    "go",
    "rust",
    "cpp",
    "csharp",
    "c",
    "ruby",
    "php",
    "kotlin",
    "swift",
    "scala",
    "r",
    "bash",
    "sql",
    "dart",
];

/// Seniority a request may impose instead of the one read from the description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperienceLevel {
    Junior,
    Mid,
    Senior,
}

impl ExperienceLevel {
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "junior" | "entry" | "entry_level" => Ok(ExperienceLevel::Junior),
            "mid" | "intermediate" | "mid_level" => Ok(ExperienceLevel::Mid),
            "senior" | "lead" => Ok(ExperienceLevel::Senior),
            _ => Err(RequestError::InvalidExperienceLevel),
        }
    }
}

/// Optional controls over what the generator builds. All default to "decide from the job".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerationOptions {
    pub experience_level: Option<ExperienceLevel>,
    pub question_count: Option<u32>,
    pub duration_minutes: Option<u32>,
    /// Only these question types (empty: any).
    pub question_types: Vec<QuestionType>,
    /// Must-have skills, as canonical taxonomy names.
    pub skills: Vec<String>,
    /// Language of the role's coding questions.
    pub language: Option<String>,
}

impl GenerationOptions {
    pub fn parse_question_count(value: i64) -> Result<u32, RequestError> {
        if (MIN_QUESTIONS..=MAX_QUESTIONS).contains(&value) {
            Ok(value as u32)
        } else {
            Err(RequestError::InvalidQuestionCount)
        }
    }

    pub fn parse_duration(value: i64) -> Result<u32, RequestError> {
        if (MIN_DURATION_MINUTES..=MAX_DURATION_MINUTES).contains(&value) {
            Ok(value as u32)
        } else {
            Err(RequestError::InvalidDuration)
        }
    }

    pub fn parse_question_types<'a>(
        names: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Result<Vec<QuestionType>, RequestError> {
        let mut kinds = Vec::new();
        for name in names {
            let kind = name
                .and_then(QuestionType::parse)
                .ok_or(RequestError::InvalidQuestionTypes)?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Err(RequestError::InvalidQuestionTypes);
        }
        Ok(kinds)
    }

    pub fn parse_language(text: &str) -> Result<String, RequestError> {
        let lower = text.trim().to_ascii_lowercase();
        let canonical = match lower.as_str() {
            "c++" => "cpp",
            "c#" => "csharp",
            "golang" => "go",
            "js" | "node" | "node.js" => "javascript",
            "ts" => "typescript",
            "shell" | "sh" => "bash",
            other => other,
        };
        CODING_LANGUAGES
            .iter()
            .find(|known| **known == canonical)
            .map(|known| (*known).to_owned())
            .ok_or(RequestError::InvalidLanguage)
    }
}

/// A character that shows nothing: white space, a control character other than NUL (refused on
/// its own), or one of Unicode's invisible format characters (zero-width spaces and joiners,
/// the byte-order mark, direction marks, invisible operators, fillers that render blank).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || (c.is_control() && c != '\0')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `raw` without what shows nothing at either end; blank (invisible only) text is empty.
pub fn trim_invisible(raw: &str) -> &str {
    raw.trim_matches(is_invisible)
}

/// The job title, trimmed and non-empty (text that shows nothing counts as empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRole(String);

impl JobRole {
    pub fn parse(raw: &str) -> Result<Self, RequestError> {
        let trimmed = trim_invisible(raw);
        if trimmed.is_empty() {
            return Err(RequestError::MissingRoleOrDescription);
        }
        if trimmed.contains('\0') {
            return Err(RequestError::NulCharacter);
        }
        if trimmed.chars().count() > MAX_JOB_ROLE_CHARS {
            return Err(RequestError::JobRoleTooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The job description, trimmed and non-empty (text that shows nothing counts as empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDescription(String);

impl JobDescription {
    pub fn parse(raw: &str) -> Result<Self, RequestError> {
        let trimmed = trim_invisible(raw);
        if trimmed.is_empty() {
            return Err(RequestError::MissingRoleOrDescription);
        }
        if trimmed.contains('\0') {
            return Err(RequestError::NulCharacter);
        }
        if trimmed.chars().count() > MAX_JOB_DESCRIPTION_CHARS {
            return Err(RequestError::JobDescriptionTooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Minimum passing score in percent, 0 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cutoff(u8);

impl Cutoff {
    /// `None` means the request did not name a cutoff, so the default applies.
    pub fn parse(raw: Option<i64>) -> Result<Self, RequestError> {
        match raw {
            None => Ok(Self(DEFAULT_CUTOFF)),
            Some(value @ 0..=100) => Ok(Self(value as u8)),
            Some(_) => Err(RequestError::InvalidCutoff),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// Where status updates of the job are posted: an absolute http(s) URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationUrl(String);

impl NotificationUrl {
    pub fn parse(raw: &str) -> Result<Self, RequestError> {
        let trimmed = raw.trim();
        if trimmed.len() > MAX_NOTIFICATION_URL_LEN {
            return Err(RequestError::InvalidNotificationUrl);
        }
        let url = url::Url::parse(trimmed).map_err(|_| RequestError::InvalidNotificationUrl)?;
        let has_host = url.host_str().is_some_and(|h| !h.is_empty());
        if !matches!(url.scheme(), "http" | "https") || !has_host {
            return Err(RequestError::InvalidNotificationUrl);
        }
        Ok(Self(url.to_string()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_role_or_description_is_missing() {
        assert_eq!(
            JobRole::parse("  "),
            Err(RequestError::MissingRoleOrDescription)
        );
        assert_eq!(
            JobDescription::parse("\n"),
            Err(RequestError::MissingRoleOrDescription)
        );
        for invisible in [
            "\u{200B}\u{200B}",
            "\u{FEFF} \u{2060}",
            "\u{200D}\u{3164}\u{00AD}",
        ] {
            assert_eq!(
                JobRole::parse(invisible),
                Err(RequestError::MissingRoleOrDescription),
                "{invisible:?}"
            );
            assert_eq!(
                JobDescription::parse(invisible),
                Err(RequestError::MissingRoleOrDescription),
                "{invisible:?}"
            );
        }
        assert_eq!(
            JobRole::parse("\u{200B}Nurse\u{200B}")
                .unwrap()
                .into_inner(),
            "Nurse"
        );
        assert_eq!(
            JobRole::parse("\u{200B}\0"),
            Err(RequestError::NulCharacter)
        );
    }

    #[test]
    fn role_and_description_are_trimmed_and_limited() {
        assert_eq!(JobRole::parse(" Nurse ").unwrap().into_inner(), "Nurse");
        let long = "x".repeat(MAX_JOB_DESCRIPTION_CHARS + 1);
        assert_eq!(
            JobDescription::parse(&long),
            Err(RequestError::JobDescriptionTooLong)
        );
        let long_role = "x".repeat(MAX_JOB_ROLE_CHARS + 1);
        assert_eq!(
            JobRole::parse(&long_role),
            Err(RequestError::JobRoleTooLong)
        );
    }

    #[test]
    fn cutoff_defaults_to_40_and_stays_within_0_to_100() {
        assert_eq!(Cutoff::parse(None).unwrap().value(), 40);
        assert_eq!(Cutoff::parse(Some(0)).unwrap().value(), 0);
        assert_eq!(Cutoff::parse(Some(100)).unwrap().value(), 100);
        assert_eq!(Cutoff::parse(Some(101)), Err(RequestError::InvalidCutoff));
        assert_eq!(Cutoff::parse(Some(-1)), Err(RequestError::InvalidCutoff));
    }

    #[test]
    fn generation_controls_are_checked() {
        assert_eq!(
            ExperienceLevel::parse("Senior"),
            Ok(ExperienceLevel::Senior)
        );
        assert_eq!(
            ExperienceLevel::parse("guru"),
            Err(RequestError::InvalidExperienceLevel)
        );
        assert_eq!(GenerationOptions::parse_question_count(5), Ok(5));
        assert!(GenerationOptions::parse_question_count(61).is_err());
        assert!(GenerationOptions::parse_duration(9).is_err());
        assert_eq!(
            GenerationOptions::parse_question_types([Some("coding"), Some("coding")]),
            Ok(vec![QuestionType::Coding])
        );
        assert!(GenerationOptions::parse_question_types([Some("essay")]).is_err());
        assert!(GenerationOptions::parse_question_types([]).is_err());
        assert_eq!(GenerationOptions::parse_language("C++").unwrap(), "cpp");
        assert!(GenerationOptions::parse_language("cobol").is_err());
    }

    #[test]
    fn notification_url_must_be_absolute_http() {
        assert!(NotificationUrl::parse("https://example.com/hook").is_ok());
        assert!(NotificationUrl::parse("http://127.0.0.1:9000/x").is_ok());
        for bad in [
            "/relative",
            "ftp://example.com",
            "mailto:a@b.c",
            "https://",
            "not a url",
        ] {
            assert_eq!(
                NotificationUrl::parse(bad),
                Err(RequestError::InvalidNotificationUrl),
                "{bad}"
            );
        }
    }
}
