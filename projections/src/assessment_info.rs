//! The assessment-info view: what `GET /api/v2/assessments/{id}/info` and `/questions` return.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use assessment_domain::{Assessment, Proctoring, Question, SkillDetail, TaskExecutionEvent};

use crate::time_format::{self, truncate};
use crate::{Recorded, TaskStatus};

/// The info view of one assessment, its questions, and the owner it is scoped to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentRecord {
    pub organization_id: String,
    pub job_id: String,
    pub info: AssessmentInfo,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentInfo {
    pub id: String,
    pub name: String,
    pub job_role: String,
    pub seniority: String,
    pub creation: CreationDetails,
    pub cutoff: u8,
    pub total_duration_minutes: u32,
    pub number_of_questions: usize,
    pub skills: Vec<String>,
    /// Each skill's origin (`taxonomy` or `extracted`), weight (`required` or `preferred`)
    /// and number of questions; empty for assessments generated before skills were described.
    #[serde(default)]
    pub skill_details: Vec<SkillInfo>,
    pub question_types: Vec<String>,
    pub sections: Vec<SectionInfo>,
    pub proctoring: Proctoring,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreationDetails {
    #[serde(with = "time_format")]
    pub created_at: DateTime<Utc>,
    /// The task execution (job) that generated the assessment.
    pub job_id: String,
    pub method: String,
}

/// One skill of the assessment as the info view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillInfo {
    #[serde(flatten)]
    pub detail: SkillDetail,
    pub question_count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionInfo {
    pub name: String,
    pub skills: Vec<String>,
    pub question_count: usize,
    pub duration_minutes: u32,
    pub question_types: Vec<String>,
}

fn minutes(seconds: u32) -> u32 {
    seconds.div_ceil(60)
}

fn question_types<'a>(questions: impl Iterator<Item = &'a Question>) -> Vec<String> {
    let kinds: BTreeSet<_> = questions.map(|q| q.kind).collect();
    kinds.into_iter().map(|k| k.as_str().to_owned()).collect()
}

impl AssessmentRecord {
    /// The record a `Completed` event creates, given the status of its job so far (for the
    /// owner). Any other event creates none.
    pub fn from_event(job: &TaskStatus, recorded: Recorded<'_>) -> Option<AssessmentRecord> {
        let TaskExecutionEvent::Completed {
            assessment,
            completed_at,
        } = recorded.event
        else {
            return None;
        };
        Some(Self::build(
            &job.organization_id,
            recorded.job_id,
            assessment,
            *completed_at,
        ))
    }

    fn build(
        organization_id: &str,
        job_id: &str,
        assessment: &Assessment,
        completed_at: DateTime<Utc>,
    ) -> AssessmentRecord {
        let sections: Vec<SectionInfo> = assessment
            .sections
            .iter()
            .map(|section| SectionInfo {
                name: section.name.clone(),
                skills: section.skills.clone(),
                question_count: section.questions.len(),
                duration_minutes: minutes(section.duration_seconds()),
                question_types: question_types(section.questions.iter()),
            })
            .collect();
        let total_seconds: u32 = assessment
            .sections
            .iter()
            .map(|s| s.duration_seconds())
            .sum();
        AssessmentRecord {
            organization_id: organization_id.to_owned(),
            job_id: job_id.to_owned(),
            info: AssessmentInfo {
                id: assessment.id.clone(),
                name: assessment.name.clone(),
                job_role: assessment.job_role.clone(),
                seniority: assessment.seniority.clone(),
                creation: CreationDetails {
                    created_at: truncate(completed_at),
                    job_id: job_id.to_owned(),
                    method: "ai_generated".to_owned(),
                },
                cutoff: assessment.cutoff,
                total_duration_minutes: minutes(total_seconds),
                number_of_questions: assessment.questions().count(),
                skills: assessment.skills.clone(),
                skill_details: assessment
                    .skill_details
                    .iter()
                    .map(|detail| SkillInfo {
                        detail: detail.clone(),
                        question_count: assessment
                            .questions()
                            .filter(|q| q.skill == detail.name)
                            .count(),
                    })
                    .collect(),
                question_types: question_types(assessment.questions()),
                sections,
                proctoring: assessment.proctoring.clone(),
            },
            questions: assessment.questions().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use assessment_domain::{
        Difficulty, QuestionType, Section, SkillDetail, SkillSource, SkillWeight,
    };
    use chrono::TimeZone;

    use super::*;
    use crate::TaskStatusView;

    fn question(id: &str, kind: QuestionType, seconds: u32) -> Question {
        Question {
            id: id.into(),
            skill: "Django".into(),
            kind,
            difficulty: Difficulty::Medium,
            text: "Which?".into(),
            options: vec!["a".into(), "b".into()],
            correct_options: vec![0],
            explanation: None,
            rubric: None,
            duration_seconds: seconds,
            language: None,
            starter_code: None,
            test_cases: vec![],
        }
    }

    #[test]
    fn a_completed_event_builds_the_info_with_derived_totals() {
        let at = Utc.with_ymd_and_hms(2025, 10, 9, 16, 51, 14).unwrap();
        let assessment = Assessment {
            id: "asm-1".into(),
            name: "Backend Assessment".into(),
            job_role: "Backend Developer".into(),
            seniority: "senior".into(),
            cutoff: 60,
            skills: vec!["Django".into(), "Docker".into()],
            skill_details: vec![
                SkillDetail {
                    name: "Django".into(),
                    source: SkillSource::Taxonomy,
                    weight: SkillWeight::Required,
                    family: "software".into(),
                    kind: "framework".into(),
                    parent: Some("Python".into()),
                },
                SkillDetail {
                    name: "Docker".into(),
                    source: SkillSource::Taxonomy,
                    weight: SkillWeight::Preferred,
                    family: "devops".into(),
                    kind: "tool".into(),
                    parent: None,
                },
            ],
            sections: vec![
                Section {
                    name: "Web Frameworks".into(),
                    skills: vec!["Django".into()],
                    questions: vec![
                        question("q1", QuestionType::MultipleChoice, 90),
                        question("q2", QuestionType::TrueFalse, 45),
                    ],
                },
                Section {
                    name: "DevOps".into(),
                    skills: vec!["Docker".into()],
                    questions: vec![question("q3", QuestionType::Subjective, 300)],
                },
            ],
            proctoring: Proctoring {
                webcam_monitoring: true,
                full_screen_required: true,
                tab_switch_limit: Some(2),
                copy_paste_blocked: true,
                randomize_question_order: true,
                randomize_option_order: true,
                screen_recording: false,
                identity_verification: false,
                allow_paste_in_code_editor: false,
            },
        };
        let job = TaskStatus {
            organization_id: "acme".into(),
            last_position: 3,
            view: TaskStatusView {
                id: "job-1".into(),
                kind: "assessment_creation".into(),
                status: assessment_domain::Lifecycle::Processing,
                current_step: None,
                recent_logs: vec![],
                result: None,
                notification_url: None,
                created_at: at,
                updated_at: at,
            },
        };
        let event = TaskExecutionEvent::Completed {
            assessment: Box::new(assessment),
            completed_at: at,
        };
        let record = AssessmentRecord::from_event(
            &job,
            Recorded {
                position: 4,
                job_id: "job-1",
                event: &event,
            },
        )
        .unwrap();
        assert_eq!(record.organization_id, "acme");
        assert_eq!(record.info.number_of_questions, 3);
        assert_eq!(record.info.total_duration_minutes, 8);
        assert_eq!(record.info.sections[0].duration_minutes, 3);
        assert_eq!(record.info.sections[0].question_count, 2);
        assert_eq!(
            record.info.question_types,
            vec!["multiple_choice", "true_false", "subjective"]
        );
        assert_eq!(record.info.creation.job_id, "job-1");
        assert_eq!(record.questions.len(), 3);
        let details = &record.info.skill_details;
        assert_eq!(details[0].detail.source, SkillSource::Taxonomy);
        assert_eq!(details[1].detail.weight, SkillWeight::Preferred);
        assert_eq!(
            details[0].question_count, 3,
            "every question here is Django's"
        );
        assert_eq!(details[1].question_count, 0);
        let json = serde_json::to_value(&record.info).unwrap();
        assert_eq!(json["skill_details"][0]["source"], "taxonomy");
        assert_eq!(json["skill_details"][1]["weight"], "preferred");
    }
}
