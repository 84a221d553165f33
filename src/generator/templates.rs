//! Scenario questions written from templates (`data/templates.json`) for skills the library
//! has too few questions for: open questions with a rubric, one set per kind of skill, naming
//! the skill, the job and the ad's own sentence about it.

use assessment_domain::{Difficulty, Question, QuestionType};
use serde::Deserialize;

use super::taxonomy::SkillKind;

#[derive(Debug, Deserialize)]
struct Template {
    kinds: Vec<SkillKind>,
    difficulty: Difficulty,
    text: String,
    rubric: String,
}

#[derive(Debug, Deserialize)]
struct TemplatesFile {
    templates: Vec<Template>,
}

/// The templates, parsed once.
#[derive(Debug)]
pub struct Templates {
    templates: Vec<Template>,
}

/// What a template is filled with.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub skill: &'a str,
    pub kind: SkillKind,
    /// What the skill is, as a short noun phrase.
    pub about: Option<&'a str>,
    pub job_role: &'a str,
    /// The ad's sentence asking for the skill.
    pub context: Option<&'a str>,
}

/// Lower-case, hyphen-separated form of a name for ids.
pub fn slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// Keeps a value from the ad from breaking out of the sentence it is quoted in.
fn quoted(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect()
}

impl Templates {
    pub fn from_json(json: &str) -> anyhow::Result<Templates> {
        let file: TemplatesFile = serde_json::from_str(json)?;
        for kind in [
            SkillKind::Language,
            SkillKind::Framework,
            SkillKind::Tool,
            SkillKind::Practice,
            SkillKind::Knowledge,
            SkillKind::Soft,
        ] {
            for difficulty in Difficulty::ALL {
                anyhow::ensure!(
                    file.templates
                        .iter()
                        .any(|t| t.kinds.contains(&kind) && t.difficulty == difficulty),
                    "no {} template for kind {}",
                    difficulty.as_str(),
                    kind.as_str()
                );
            }
        }
        Ok(Templates {
            templates: file.templates,
        })
    }

    pub fn embedded() -> Templates {
        Templates::from_json(include_str!("../../data/templates.json"))
            .expect("data/templates.json is valid (checked by tests)")
    }

    /// The scenario questions for one skill, easiest first.
    pub fn questions(&self, subject: &Subject<'_>) -> Vec<Question> {
        let described = match subject.about {
            Some(about) if !about.trim().is_empty() => format!("{} ({about})", subject.skill),
            _ => subject.skill.to_owned(),
        };
        let context = subject
            .context
            .map(|c| format!(" The job ad asks for it like this: \"{}.\"", quoted(c)))
            .unwrap_or_default();
        let role = quoted(subject.job_role.trim());
        let skill = quoted(subject.skill);
        let fill = |text: &str| {
            text.replace("{skill_described}", &quoted(&described))
                .replace("{skill}", &skill)
                .replace("{role}", &role)
                .replace("{context}", &context)
        };
        let mut questions: Vec<Question> = self
            .templates
            .iter()
            .filter(|t| t.kinds.contains(&subject.kind))
            .enumerate()
            .map(|(index, template)| Question {
                id: format!(
                    "tpl-{}-{}-{}",
                    subject.kind.as_str(),
                    index + 1,
                    slug(subject.skill)
                ),
                skill: subject.skill.to_owned(),
                kind: QuestionType::Subjective,
                difficulty: template.difficulty,
                text: fill(&template.text),
                options: Vec::new(),
                correct_options: Vec::new(),
                explanation: None,
                rubric: Some(fill(&template.rubric)),
                duration_seconds: match template.difficulty {
                    Difficulty::Easy => 240,
                    Difficulty::Medium => 300,
                    Difficulty::Hard => 420,
                },
                language: None,
                starter_code: None,
                test_cases: Vec::new(),
            })
            .collect();
        questions.sort_by_key(|q| q.difficulty);
        questions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::library::check;

    #[test]
    fn every_kind_gets_valid_questions_that_name_the_skill_and_the_job() {
        let templates = Templates::embedded();
        for kind in [
            SkillKind::Language,
            SkillKind::Framework,
            SkillKind::Tool,
            SkillKind::Practice,
            SkillKind::Knowledge,
            SkillKind::Soft,
        ] {
            let questions = templates.questions(&Subject {
                skill: "Zorblax \"Pro\"",
                kind,
                about: Some("a made-up tool"),
                job_role: "Widget Analyst",
                context: Some("Hands-on experience with Zorblax for reporting"),
            });
            assert!(questions.len() >= 3, "{kind:?}");
            let levels: std::collections::BTreeSet<_> =
                questions.iter().map(|q| q.difficulty).collect();
            assert_eq!(levels.len(), 3, "{kind:?}");
            for question in &questions {
                check(question).unwrap();
                assert!(question.text.contains("Zorblax"), "{}", question.text);
                assert!(!question.text.contains('{'), "{}", question.text);
                let rubric = question.rubric.as_deref().unwrap();
                assert!(rubric.contains("Zorblax") || rubric.len() > 200, "{rubric}");
                assert!(question.id.starts_with("tpl-") && question.id.ends_with("zorblax-pro"));
            }
            let about_job = questions
                .iter()
                .filter(|q| q.text.contains("Widget Analyst") || q.text.contains("reporting"))
                .count();
            assert!(
                about_job >= 2,
                "{kind:?}: the job's context is in the questions"
            );
        }
    }

    #[test]
    fn slugs_are_lower_case_and_hyphenated() {
        assert_eq!(slug("C++ / Qt 6"), "c-qt-6");
        assert_eq!(slug("Kotlin Coroutines"), "kotlin-coroutines");
    }
}
