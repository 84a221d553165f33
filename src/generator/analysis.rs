//! Reading a job: seniority (title, then years of experience), the field of the role, and the
//! skills it names, ranked by importance (required before preferred, how prominent).

use std::sync::LazyLock;

use assessment_domain::ExperienceLevel;
use regex::Regex;

use super::taxonomy::{whole_word_offsets, Family, Mention, Taxonomy};

/// Most and fewest skills an assessment is built on (fewer only if the job names fewer).
pub const MAX_SKILLS: usize = 10;
pub const MIN_SKILLS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seniority {
    Junior,
    Mid,
    Senior,
}

impl Seniority {
    pub fn as_str(self) -> &'static str {
        match self {
            Seniority::Junior => "junior",
            Seniority::Mid => "mid",
            Seniority::Senior => "senior",
        }
    }
}

impl From<ExperienceLevel> for Seniority {
    fn from(level: ExperienceLevel) -> Self {
        match level {
            ExperienceLevel::Junior => Seniority::Junior,
            ExperienceLevel::Mid => Seniority::Mid,
            ExperienceLevel::Senior => Seniority::Senior,
        }
    }
}

/// A chosen skill and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedSkill {
    pub skill: usize,
    /// Named outside any "preferred / nice to have" sentence, in the title, or demanded by the
    /// request.
    pub required: bool,
    pub mentions: usize,
    pub score: f32,
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub seniority: Seniority,
    pub years_of_experience: Option<u32>,
    pub role_family: Option<Family>,
    /// Chosen skills, most important first.
    pub skills: Vec<RankedSkill>,
}

impl Analysis {
    /// Adds skills another reader (the language model) named, within the role's field and the
    /// skill limit. Returns the skills added.
    pub fn add_skills(&mut self, taxonomy: &Taxonomy, names: &[String]) -> Vec<usize> {
        let mut added = Vec::new();
        for name in names {
            if self.skills.len() >= MAX_SKILLS {
                break;
            }
            let Some(index) = taxonomy.lookup(name) else {
                continue;
            };
            let family = taxonomy.skill(index).family;
            let in_field = self
                .role_family
                .is_none_or(|f| f.related().contains(&family));
            if in_field && !self.skills.iter().any(|s| s.skill == index) {
                self.skills.push(RankedSkill {
                    skill: index,
                    required: true,
                    mentions: 0,
                    score: 0.0,
                });
                added.push(index);
            }
        }
        added
    }
}

/// Title words that decide the field, most specific first.
const ROLE_FIELDS: &[(&str, Family)] = &[
    ("data engineer", Family::Data),
    ("data scientist", Family::Data),
    ("data analyst", Family::Data),
    ("machine learning", Family::Data),
    ("bi developer", Family::Data),
    ("analytics", Family::Data),
    ("devops", Family::Devops),
    ("site reliability", Family::Devops),
    ("sre", Family::Devops),
    ("platform engineer", Family::Devops),
    ("cloud engineer", Family::Devops),
    ("infrastructure", Family::Devops),
    ("system administrator", Family::Devops),
    ("systems administrator", Family::Devops),
    ("sysadmin", Family::Devops),
    ("security", Family::Security),
    ("cyber", Family::Security),
    ("penetration tester", Family::Security),
    ("qa", Family::Qa),
    ("quality assurance", Family::Qa),
    ("tester", Family::Qa),
    ("test engineer", Family::Qa),
    ("sdet", Family::Qa),
    ("sales engineer", Family::Sales),
    ("designer", Family::Design),
    ("ux", Family::Design),
    ("ui", Family::Design),
    ("product manager", Family::Product),
    ("product owner", Family::Product),
    ("project manager", Family::Product),
    ("program manager", Family::Product),
    ("scrum master", Family::Product),
    ("business analyst", Family::Product),
    ("developer", Family::Software),
    ("engineer", Family::Software),
    ("programmer", Family::Software),
    ("software", Family::Software),
    ("full stack", Family::Software),
    ("frontend", Family::Software),
    ("front-end", Family::Software),
    ("backend", Family::Software),
    ("back-end", Family::Software),
    ("sales", Family::Sales),
    ("account executive", Family::Sales),
    ("business development", Family::Sales),
    ("sdr", Family::Sales),
    ("bdr", Family::Sales),
    ("account manager", Family::Sales),
    ("marketing", Family::Marketing),
    ("seo", Family::Marketing),
    ("content", Family::Marketing),
    ("social media", Family::Marketing),
    ("brand", Family::Marketing),
    ("growth", Family::Marketing),
    ("customer success", Family::Support),
    ("support", Family::Support),
    ("customer service", Family::Support),
    ("help desk", Family::Support),
    ("call center", Family::Support),
    ("call centre", Family::Support),
    ("accountant", Family::Finance),
    ("accounting", Family::Finance),
    ("finance", Family::Finance),
    ("financial", Family::Finance),
    ("controller", Family::Finance),
    ("auditor", Family::Finance),
    ("bookkeeper", Family::Finance),
    ("payroll", Family::Finance),
    ("tax", Family::Finance),
    ("recruiter", Family::Hr),
    ("human resources", Family::Hr),
    ("hr", Family::Hr),
    ("talent", Family::Hr),
    ("people partner", Family::Hr),
    ("logistics", Family::Operations),
    ("supply chain", Family::Operations),
    ("warehouse", Family::Operations),
    ("procurement", Family::Operations),
    ("operations", Family::Operations),
    ("inventory", Family::Operations),
    ("nurse", Family::Healthcare),
    ("nursing", Family::Healthcare),
    ("rn", Family::Healthcare),
    ("physician", Family::Healthcare),
    ("medical", Family::Healthcare),
    ("clinical", Family::Healthcare),
    ("caregiver", Family::Healthcare),
    ("phlebotomist", Family::Healthcare),
    ("healthcare", Family::Healthcare),
    ("pharmacist", Family::Healthcare),
];

const SENIOR_TITLES: &[&str] = &[
    "senior",
    "sr",
    "lead",
    "principal",
    "staff",
    "head",
    "chief",
    "director",
    "architect",
];
const JUNIOR_TITLES: &[&str] = &[
    "junior",
    "jr",
    "intern",
    "internship",
    "graduate",
    "trainee",
    "entry-level",
    "entry level",
    "apprentice",
];
const PREFERRED_MARKERS: &[&str] = &[
    "preferred",
    "nice to have",
    "nice-to-have",
    "bonus",
    "a plus",
    "desirable",
    "desired",
    "ideally",
    "optional",
    "familiarity with",
    "exposure to",
    "advantage",
    "would be great",
];

static YEARS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s*\+?\s*(?:(?:-|–|to)\s*\d{1,2}\s*\+?\s*)?(?:years?|yrs?)\b",
    )
    .expect("valid regex")
});

fn number(word: &str) -> Option<u32> {
    const WORDS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    word.parse().ok().or_else(|| {
        let lower = word.to_lowercase();
        WORDS.iter().position(|w| *w == lower).map(|i| i as u32 + 1)
    })
}

/// The fewest years of experience the text asks for, if it says.
pub fn years_of_experience(text: &str) -> Option<u32> {
    YEARS
        .captures_iter(text)
        .filter_map(|c| number(&c[1]))
        .filter(|years| *years <= 40)
        .min()
}

fn title_has(title: &str, words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| !whole_word_offsets(title, w).is_empty())
}

pub fn seniority(job_role: &str, text: &str) -> (Seniority, Option<u32>) {
    let title = job_role.to_lowercase();
    let years = years_of_experience(text);
    let level = if title_has(&title, SENIOR_TITLES) {
        Seniority::Senior
    } else if title_has(&title, JUNIOR_TITLES) {
        Seniority::Junior
    } else {
        match years {
            Some(y) if y >= 5 => Seniority::Senior,
            Some(y) if y <= 1 => Seniority::Junior,
            _ => Seniority::Mid,
        }
    };
    (level, years)
}

pub fn role_family(job_role: &str) -> Option<Family> {
    let title = job_role.to_lowercase();
    ROLE_FIELDS
        .iter()
        .find(|(words, _)| !whole_word_offsets(&title, words).is_empty())
        .map(|(_, family)| *family)
}

/// Byte ranges of the sentences that mark what they name as merely preferred.
fn preferred_spans(text: &str) -> Vec<(usize, usize)> {
    let lower = text.to_lowercase();
    let mut spans = Vec::new();
    let mut start = 0;
    let bytes = lower.as_bytes();
    for (index, c) in lower.char_indices() {
        let ends_sentence = matches!(c, '\n' | ';' | '•' | '!' | '?')
            || (c == '.' && bytes.get(index + 1).is_none_or(|b| b.is_ascii_whitespace()));
        if ends_sentence || index + c.len_utf8() == lower.len() {
            let end = index + c.len_utf8();
            let sentence = &lower[start..end];
            if PREFERRED_MARKERS.iter().any(|m| sentence.contains(m)) {
                spans.push((start, end));
            }
            start = end;
        }
    }
    spans
}

/// Reads the job. `must_have` skills (taxonomy indexes) come first, whatever the text says.
pub fn analyze(
    taxonomy: &Taxonomy,
    job_role: &str,
    job_description: &str,
    must_have: &[usize],
    level: Option<ExperienceLevel>,
) -> Analysis {
    let (read_level, years) = seniority(job_role, job_description);
    let seniority = level.map(Seniority::from).unwrap_or(read_level);
    let title_family = role_family(job_role);

    let title_mentions: Vec<usize> = taxonomy.find(job_role).iter().map(|m| m.skill).collect();
    let preferred = preferred_spans(job_description);
    let length = job_description.len().max(1) as f32;
    let mut mentions = taxonomy.find(job_description);
    for skill in &title_mentions {
        if !mentions.iter().any(|m| m.skill == *skill) {
            mentions.push(Mention {
                skill: *skill,
                offsets: vec![0],
            });
        }
    }
    let mut ranked: Vec<(RankedSkill, Family)> = mentions
        .into_iter()
        .map(|mention| {
            let skill = taxonomy.skill(mention.skill);
            let in_title = title_mentions.contains(&mention.skill);
            let required = in_title
                || mention
                    .offsets
                    .iter()
                    .any(|at| !preferred.iter().any(|(s, e)| (*s..*e).contains(at)));
            let first = *mention.offsets.iter().min().unwrap_or(&0) as f32;
            let mut score = if required { 3.0 } else { 1.5 };
            if in_title {
                score += 4.0;
            }
            score += 0.75 * (mention.offsets.len().saturating_sub(1).min(4)) as f32;
            score += 1.0 - (first / length).min(1.0);
            if skill.family == Family::General {
                score *= 0.5;
            }
            if Some(skill.family) == title_family {
                score *= 1.2;
            }
            (
                RankedSkill {
                    skill: mention.skill,
                    required,
                    mentions: mention.offsets.len(),
                    score,
                },
                skill.family,
            )
        })
        .collect();

    // With no field in the title, the field is the one the named skills weigh most in.
    let role_family = title_family.or_else(|| {
        let mut weights: Vec<(Family, f32)> = Vec::new();
        for (ranked, family) in ranked.iter().filter(|(_, f)| *f != Family::General) {
            match weights.iter_mut().find(|(f, _)| f == family) {
                Some((_, weight)) => *weight += ranked.score,
                None => weights.push((*family, ranked.score)),
            }
        }
        weights
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(f, _)| f)
    });
    if let Some(field) = role_family {
        ranked.retain(|(_, family)| field.related().contains(family));
    }
    ranked.sort_by(|a, b| {
        b.0.score
            .total_cmp(&a.0.score)
            .then(a.0.skill.cmp(&b.0.skill))
    });

    let mut chosen: Vec<RankedSkill> = must_have
        .iter()
        .map(|&skill| RankedSkill {
            skill,
            required: true,
            mentions: 0,
            score: f32::MAX,
        })
        .collect();
    let take = |general: bool, limit: usize, chosen: &mut Vec<RankedSkill>| {
        for (candidate, family) in &ranked {
            if chosen.len() >= limit {
                break;
            }
            if (*family == Family::General) == general
                && !chosen.iter().any(|c| c.skill == candidate.skill)
            {
                chosen.push(candidate.clone());
            }
        }
    };
    take(false, MAX_SKILLS, &mut chosen);
    take(true, MIN_SKILLS, &mut chosen);
    Analysis {
        seniority,
        years_of_experience: years,
        role_family,
        skills: chosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "We are looking for a Senior Python Developer with 5+ years of experience in Django, Flask, and FastAPI. The candidate should have strong knowledge of databases, REST APIs, and cloud technologies. Experience with Docker, Kubernetes, and CI/CD pipelines is preferred.";

    fn names(taxonomy: &Taxonomy, analysis: &Analysis) -> Vec<String> {
        analysis
            .skills
            .iter()
            .map(|s| taxonomy.skill(s.skill).name.clone())
            .collect()
    }

    #[test]
    fn the_seed_example_yields_its_skills_at_senior_level() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(&taxonomy, "Senior Python Developer", SEED, &[], None);
        assert_eq!(analysis.seniority, Seniority::Senior);
        assert_eq!(analysis.role_family, Some(Family::Software));
        let skills = names(&taxonomy, &analysis);
        for expected in [
            "Python",
            "Django",
            "Flask",
            "FastAPI",
            "REST APIs",
            "Docker",
            "Kubernetes",
            "CI/CD",
        ] {
            assert!(
                skills.contains(&expected.to_owned()),
                "{expected} not in {skills:?}"
            );
        }
        assert_eq!(skills[0], "Python", "the title's skill ranks first");
        let docker = analysis
            .skills
            .iter()
            .find(|s| taxonomy.skill(s.skill).name == "Docker")
            .unwrap();
        assert!(!docker.required, "Docker is only preferred");
    }

    #[test]
    fn seniority_comes_from_the_title_then_the_years() {
        assert_eq!(seniority("Junior Analyst", "").0, Seniority::Junior);
        assert_eq!(seniority("Lead Nurse", "").0, Seniority::Senior);
        assert_eq!(
            seniority("Analyst", "at least 7 years of SQL").0,
            Seniority::Senior
        );
        assert_eq!(
            seniority("Analyst", "3-5 years of experience").0,
            Seniority::Mid
        );
        assert_eq!(
            seniority("Analyst", "two years of experience"),
            (Seniority::Mid, Some(2))
        );
        assert_eq!(
            seniority("Analyst", "1 year of experience").0,
            Seniority::Junior
        );
        assert_eq!(seniority("Analyst", "").0, Seniority::Mid);
    }

    #[test]
    fn a_sales_role_gets_no_programming_skill() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(
            &taxonomy,
            "Sales Development Representative",
            "Cold calling, prospecting and CRM hygiene in Salesforce. Go-getter attitude; \
             Python or SQL would be a plus.",
            &[],
            None,
        );
        assert_eq!(analysis.role_family, Some(Family::Sales));
        for ranked in &analysis.skills {
            let skill = taxonomy.skill(ranked.skill);
            assert!(!skill.programming, "{} in a sales assessment", skill.name);
        }
        assert!(names(&taxonomy, &analysis).contains(&"Cold Calling".to_owned()));
    }

    #[test]
    fn must_have_skills_come_first() {
        let taxonomy = Taxonomy::embedded();
        let rust = taxonomy.lookup("Rust").unwrap();
        let analysis = analyze(&taxonomy, "Backend Developer", SEED, &[rust], None);
        assert_eq!(analysis.skills[0].skill, rust);
        assert!(analysis.skills.len() <= MAX_SKILLS);
    }

    #[test]
    fn gibberish_names_no_skill() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(&taxonomy, "Qwerty", "asdf zxcv lorem ipsum", &[], None);
        assert!(analysis.skills.is_empty());
    }
}
