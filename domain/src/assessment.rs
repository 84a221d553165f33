//! The assessment a job produces: sections of questions grouped by skill, and the proctoring
//! settings. `Completed` carries a whole `Assessment`, so the event history alone rebuilds
//! every read model.

use serde::{Deserialize, Serialize};

/// A generated skills assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// The assessment's own id, distinct from the job that produced it.
    pub id: String,
    pub name: String,
    pub job_role: String,
    /// Seniority the questions were pitched at, e.g. "junior", "mid", "senior".
    pub seniority: String,
    /// Minimum passing score, in percent.
    pub cutoff: u8,
    /// Skills covered, most important first.
    pub skills: Vec<String>,
    /// Where each skill of `skills` came from and how much the job asks for it (empty in
    /// assessments generated before skills were described).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skill_details: Vec<SkillDetail>,
    pub sections: Vec<Section>,
    pub proctoring: Proctoring,
}

/// One skill of an assessment: its origin and its weight in the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillDetail {
    pub name: String,
    pub source: SkillSource,
    pub weight: SkillWeight,
    /// Job family of the skill (`data/families.json`).
    pub family: String,
    /// `language`, `framework`, `tool`, `practice`, `knowledge` or `soft`.
    pub kind: String,
    /// The broader skill it belongs to, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// Where a skill of an assessment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillSource {
    /// The skill taxonomy (`GET /api/v2/skills`).
    Taxonomy,
    /// A phrase of the job description the taxonomy does not know.
    Extracted,
}

/// How much the job asks for a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillWeight {
    Required,
    Preferred,
}

impl Assessment {
    /// Every question of every section, in order.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }
}

/// A group of questions, usually one skill category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub name: String,
    pub skills: Vec<String>,
    pub questions: Vec<Question>,
}

impl Section {
    pub fn duration_seconds(&self) -> u32 {
        self.questions.iter().map(|q| q.duration_seconds).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub skill: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub difficulty: Difficulty,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Indexes into `options` of the correct answers (objective types only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correct_options: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// How an answer is marked (subjective and coding types).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rubric: Option<String>,
    /// The time a candidate is expected to need.
    pub duration_seconds: u32,
    /// Programming language of a coding question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Code the candidate starts from (coding questions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starter_code: Option<String>,
    /// Cases a coding answer must pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_cases: Vec<TestCase>,
}

/// One input and the output a correct solution gives for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    pub input: String,
    pub expected_output: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    MultipleChoice,
    MultipleSelect,
    TrueFalse,
    Coding,
    Subjective,
}

impl QuestionType {
    pub const ALL: [QuestionType; 5] = [
        QuestionType::MultipleChoice,
        QuestionType::MultipleSelect,
        QuestionType::TrueFalse,
        QuestionType::Coding,
        QuestionType::Subjective,
    ];

    pub fn parse(text: &str) -> Option<QuestionType> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionType::MultipleChoice => "multiple_choice",
            QuestionType::MultipleSelect => "multiple_select",
            QuestionType::TrueFalse => "true_false",
            QuestionType::Coding => "coding",
            QuestionType::Subjective => "subjective",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub const ALL: [Difficulty; 3] = [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard];

    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
        }
    }
}

/// How the candidate is watched while taking the assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proctoring {
    pub webcam_monitoring: bool,
    pub full_screen_required: bool,
    /// How many times the candidate may leave the tab before the attempt is flagged.
    pub tab_switch_limit: Option<u32>,
    pub copy_paste_blocked: bool,
    pub randomize_question_order: bool,
    pub randomize_option_order: bool,
    /// Record the screen for review (senior and technical roles).
    #[serde(default)]
    pub screen_recording: bool,
    /// Check the candidate's identity document before the start.
    #[serde(default)]
    pub identity_verification: bool,
    /// Paste is allowed inside the code editor of coding questions even when blocked elsewhere.
    #[serde(default)]
    pub allow_paste_in_code_editor: bool,
}
