//! The embedded assessment generator: finds the skills a job description names, picks
//! questions for each, and assembles sections, timing and proctoring. Deterministic: the same
//! request always gives the same questions. No network.

use std::collections::BTreeMap;

use assessment_domain::{Assessment, Difficulty, Proctoring, Question, QuestionType, Section};
use sha2::{Digest, Sha256};

/// Most skills an assessment covers.
const MAX_SKILLS: usize = 10;
/// Most sections an assessment has.
const MAX_SECTIONS: usize = 6;

/// A skill of the catalog: canonical name, category, and the spellings job ads use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skill {
    pub name: &'static str,
    pub category: &'static str,
    aliases: &'static [&'static str],
}

const PROGRAMMING: &str = "Programming";
const WEB: &str = "Web Development";
const DATA: &str = "Data and Databases";
const CLOUD: &str = "Cloud and DevOps";
const SECURITY: &str = "Security";
const QUALITY: &str = "Quality Assurance";
const BUSINESS: &str = "Business and Sales";
const PEOPLE: &str = "Communication and Leadership";
const CARE: &str = "Healthcare";
const FINANCE: &str = "Finance";

macro_rules! skill {
    ($name:literal, $category:expr, [$($alias:literal),* $(,)?]) => {
        Skill { name: $name, category: $category, aliases: &[$name, $($alias),*] }
    };
}

static CATALOG: &[Skill] = &[
    skill!("Python", PROGRAMMING, []),
    skill!("Java", PROGRAMMING, []),
    skill!("JavaScript", PROGRAMMING, ["JS", "ECMAScript"]),
    skill!("TypeScript", PROGRAMMING, ["TS"]),
    skill!("Go", PROGRAMMING, ["Golang"]),
    skill!("Rust", PROGRAMMING, []),
    skill!("C++", PROGRAMMING, ["cpp"]),
    skill!("C#", PROGRAMMING, ["csharp", ".NET", "dotnet"]),
    skill!("Ruby", PROGRAMMING, []),
    skill!("PHP", PROGRAMMING, []),
    skill!("Kotlin", PROGRAMMING, []),
    skill!("Swift", PROGRAMMING, []),
    skill!("Django", WEB, []),
    skill!("Flask", WEB, []),
    skill!("FastAPI", WEB, []),
    skill!("React", WEB, ["React.js", "ReactJS"]),
    skill!("Angular", WEB, []),
    skill!("Vue.js", WEB, ["Vue", "VueJS"]),
    skill!("Node.js", WEB, ["Node", "NodeJS"]),
    skill!("Spring Boot", WEB, ["Spring"]),
    skill!("Ruby on Rails", WEB, ["Rails"]),
    skill!("REST APIs", WEB, ["REST", "RESTful", "REST API"]),
    skill!("GraphQL", WEB, []),
    skill!("HTML", WEB, ["HTML5"]),
    skill!("CSS", WEB, ["CSS3"]),
    skill!("SQL", DATA, []),
    skill!("Databases", DATA, ["database", "RDBMS"]),
    skill!("PostgreSQL", DATA, ["Postgres"]),
    skill!("MySQL", DATA, []),
    skill!("MongoDB", DATA, ["Mongo"]),
    skill!("Redis", DATA, []),
    skill!("Data Analysis", DATA, ["data analytics", "analyzing data"]),
    skill!("Machine Learning", DATA, ["ML"]),
    skill!("Pandas", DATA, []),
    skill!("Excel", DATA, ["Microsoft Excel", "spreadsheets"]),
    skill!("Tableau", DATA, []),
    skill!("Power BI", DATA, ["PowerBI"]),
    skill!("Data Security and Backup", DATA, ["data backup", "backups"]),
    skill!("Disaster Recovery Planning", CLOUD, ["disaster recovery"]),
    skill!("Docker", CLOUD, ["containers", "containerization"]),
    skill!("Kubernetes", CLOUD, ["k8s"]),
    skill!(
        "CI/CD",
        CLOUD,
        [
            "CI/CD pipelines",
            "continuous integration",
            "continuous delivery"
        ]
    ),
    skill!("AWS", CLOUD, ["Amazon Web Services"]),
    skill!("Azure", CLOUD, ["Microsoft Azure"]),
    skill!("Google Cloud", CLOUD, ["GCP"]),
    skill!("Cloud Computing", CLOUD, ["cloud technologies", "cloud"]),
    skill!("Terraform", CLOUD, []),
    skill!("Linux", CLOUD, []),
    skill!("Git", CLOUD, ["GitHub", "GitLab"]),
    skill!("Network Security", SECURITY, ["firewalls"]),
    skill!(
        "Penetration Testing",
        SECURITY,
        ["pentesting", "pen testing"]
    ),
    skill!("Identity and Access Management", SECURITY, ["IAM"]),
    skill!(
        "Test Automation",
        QUALITY,
        ["automated testing", "Selenium", "Cypress"]
    ),
    skill!("Manual Testing", QUALITY, ["test cases"]),
    skill!("Sales", BUSINESS, ["selling", "B2B sales"]),
    skill!("Cold Calling", BUSINESS, []),
    skill!("Lead Generation", BUSINESS, ["prospecting"]),
    skill!("CRM", BUSINESS, ["Salesforce", "HubSpot"]),
    skill!("Negotiation", BUSINESS, ["negotiating"]),
    skill!(
        "Digital Marketing",
        BUSINESS,
        ["SEO", "SEM", "Google Analytics", "GA4"]
    ),
    skill!(
        "Product Management",
        BUSINESS,
        ["product roadmap", "roadmapping"]
    ),
    skill!("Project Management", PEOPLE, ["Agile", "Scrum"]),
    skill!(
        "Customer Service",
        PEOPLE,
        ["customer support", "customer care"]
    ),
    skill!("Communication", PEOPLE, ["communication skills"]),
    skill!("Leadership", PEOPLE, ["team leadership", "mentoring"]),
    skill!("Recruiting", PEOPLE, ["recruitment", "talent acquisition"]),
    skill!("Patient Care", CARE, ["patient-care", "bedside care"]),
    skill!(
        "Medication Administration",
        CARE,
        ["administering medication", "medications"]
    ),
    skill!("Electronic Health Records", CARE, ["EHR", "EMR"]),
    skill!("Infection Control", CARE, []),
    skill!("Accounting", FINANCE, ["bookkeeping", "general ledger"]),
    skill!(
        "Financial Analysis",
        FINANCE,
        ["financial modeling", "forecasting"]
    ),
    skill!("Budgeting", FINANCE, ["budgets"]),
];

/// How senior the role is, from its title and the years of experience it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

    fn hardest(self) -> Difficulty {
        match self {
            Seniority::Junior => Difficulty::Easy,
            Seniority::Mid => Difficulty::Medium,
            Seniority::Senior => Difficulty::Hard,
        }
    }
}

/// What the description says: seniority and the skills named, most prominent first.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub seniority: Seniority,
    pub skills: Vec<Skill>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerationError {
    #[error(
        "No recognizable skills were found in the job description. Name the skills, tools or \
         duties the role needs (for example: Python, SQL, customer service, patient care) and \
         submit the job again."
    )]
    NoRecognizableSkills,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offsets where `needle` (already lowercase) occurs in `haystack` as a whole word: not
/// inside a longer word, and not followed by `+` or `#` ("C" is not in "C++").
fn word_matches(haystack: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    let mut start = 0;
    while let Some(offset) = haystack[start..].find(needle) {
        let at = start + offset;
        let end = at + needle.len();
        let before = haystack[..at].chars().next_back();
        let after = haystack[end..].chars().next();
        let starts_word = before.is_none_or(|c| !is_word_char(c));
        let ends_word = after.is_none_or(|c| !is_word_char(c) && c != '+' && c != '#');
        if starts_word && ends_word {
            found.push(at);
        }
        start = at + needle.len().max(1);
    }
    found
}

fn years_of_experience(text: &str) -> Option<u32> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let number = pair[0].trim_end_matches('+').trim_end_matches("-plus");
        let unit = pair[1];
        if unit.starts_with("year") || unit.starts_with("yr") {
            number.parse().ok()
        } else {
            None
        }
    })
}

pub fn analyze(job_role: &str, job_description: &str) -> Analysis {
    let role = job_role.to_lowercase();
    let original = format!("{job_role}\n{job_description}");
    let text = original.to_lowercase();

    let title_says = |words: &[&str]| words.iter().any(|w| !word_matches(&role, w).is_empty());
    let seniority = if title_says(&["senior", "sr", "lead", "principal", "staff", "head"]) {
        Seniority::Senior
    } else if title_says(&["junior", "jr", "intern", "graduate", "trainee", "entry"]) {
        Seniority::Junior
    } else {
        match years_of_experience(&text) {
            Some(years) if years >= 5 => Seniority::Senior,
            Some(years) if years <= 1 => Seniority::Junior,
            _ => Seniority::Mid,
        }
    };

    // Rank by how often a skill is named, then by where it is first named.
    let mut ranked: Vec<(usize, usize, Skill)> = CATALOG
        .iter()
        .filter_map(|skill| {
            let hits: Vec<usize> = skill
                .aliases
                .iter()
                .flat_map(|alias| {
                    // Short names ("Go", "ML", "JS") are ordinary words in lower case.
                    if alias.len() <= 2 {
                        word_matches(&original, alias)
                    } else {
                        word_matches(&text, &alias.to_lowercase())
                    }
                })
                .collect();
            let first = *hits.iter().min()?;
            Some((hits.len(), first, *skill))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut skills: Vec<Skill> = ranked.into_iter().map(|(_, _, s)| s).collect();
    skills.truncate(MAX_SKILLS);
    Analysis { seniority, skills }
}

fn question_id(skill: &str, template: usize) -> String {
    let digest = Sha256::digest(format!("{skill}/{template}").as_bytes());
    format!("q_{}", &hex::encode(digest)[..16])
}

fn is_technical(category: &str) -> bool {
    matches!(
        category,
        PROGRAMMING | WEB | DATA | CLOUD | SECURITY | QUALITY
    )
}

/// The questions the library holds for `skill` up to the difficulty `seniority` calls for.
pub fn search(skill: &Skill, seniority: Seniority) -> Vec<Question> {
    let name = skill.name;
    let mut questions = vec![
        Question {
            id: question_id(name, 0),
            skill: name.to_owned(),
            kind: QuestionType::TrueFalse,
            difficulty: Difficulty::Easy,
            text: format!(
                "Writing down the assumptions behind work that relies on {name} makes it easier \
                 for others to review and maintain."
            ),
            options: vec!["True".into(), "False".into()],
            correct_options: vec![0],
            explanation: Some(
                "Recorded assumptions let reviewers check the reasoning, not just the result."
                    .into(),
            ),
            rubric: None,
            duration_seconds: 45,
        },
        Question {
            id: question_id(name, 1),
            skill: name.to_owned(),
            kind: QuestionType::MultipleChoice,
            difficulty: Difficulty::Medium,
            text: format!(
                "Your work with {name} produced a result that a stakeholder disputes. What do \
                 you do first?"
            ),
            options: vec![
                "Reproduce the result and check it against the original requirements".into(),
                "Defend the result without looking at it again".into(),
                "Quietly change the result to match the stakeholder's expectation".into(),
                "Escalate to management before investigating".into(),
            ],
            correct_options: vec![0],
            explanation: Some(
                "Verifying against the requirements settles the dispute on evidence.".into(),
            ),
            rubric: None,
            duration_seconds: 90,
        },
        Question {
            id: question_id(name, 2),
            skill: name.to_owned(),
            kind: QuestionType::Subjective,
            difficulty: Difficulty::Medium,
            text: format!(
                "Describe a piece of work where you applied {name}. What was the goal, which \
                 decisions did you make, and what would you do differently now?"
            ),
            options: vec![],
            correct_options: vec![],
            explanation: None,
            rubric: Some(format!(
                "Strong answers name a concrete situation, explain the {name}-specific choices \
                 and their trade-offs, and reflect honestly on the outcome."
            )),
            duration_seconds: 300,
        },
        Question {
            id: question_id(name, 3),
            skill: name.to_owned(),
            kind: QuestionType::Subjective,
            difficulty: Difficulty::Hard,
            text: format!(
                "A critical deliverable depends on {name} and the deadline cannot move. Which \
                 risks do you look for, and how do you reduce them without lowering quality?"
            ),
            options: vec![],
            correct_options: vec![],
            explanation: None,
            rubric: Some(
                "Look for prioritised risks, early verification, clear communication of \
                 trade-offs, and a fallback plan."
                    .into(),
            ),
            duration_seconds: 420,
        },
    ];
    questions.retain(|q| q.difficulty <= seniority.hardest());
    questions
}

/// Builds the assessment from the skills found and the questions found for each.
pub fn assemble(
    assessment_id: String,
    job_role: &str,
    cutoff: u8,
    analysis: &Analysis,
    found: Vec<(Skill, Vec<Question>)>,
) -> Result<Assessment, GenerationError> {
    let mut by_category: BTreeMap<&str, Section> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (skill, questions) in found {
        if questions.is_empty() {
            continue;
        }
        let section = by_category.entry(skill.category).or_insert_with(|| {
            order.push(skill.category);
            Section {
                name: skill.category.to_owned(),
                skills: Vec::new(),
                questions: Vec::new(),
            }
        });
        section.skills.push(skill.name.to_owned());
        section.questions.extend(questions);
    }
    let sections: Vec<Section> = order
        .into_iter()
        .take(MAX_SECTIONS)
        .filter_map(|category| by_category.remove(category))
        .collect();
    if sections.is_empty() {
        return Err(GenerationError::NoRecognizableSkills);
    }
    let skills = sections.iter().flat_map(|s| s.skills.clone()).collect();
    let technical = analysis.skills.iter().any(|s| is_technical(s.category));
    Ok(Assessment {
        id: assessment_id,
        name: format!("{job_role} Assessment"),
        job_role: job_role.to_owned(),
        seniority: analysis.seniority.as_str().to_owned(),
        cutoff,
        skills,
        sections,
        proctoring: Proctoring {
            webcam_monitoring: technical || analysis.seniority == Seniority::Senior,
            full_screen_required: true,
            tab_switch_limit: Some(if technical { 2 } else { 3 }),
            copy_paste_blocked: technical,
            randomize_question_order: true,
            randomize_option_order: true,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(analysis: &Analysis) -> Vec<&'static str> {
        analysis.skills.iter().map(|s| s.name).collect()
    }

    #[test]
    fn finds_the_skills_of_the_seed_example() {
        let analysis = analyze(
            "Senior Python Developer",
            "We are looking for a Senior Python Developer with 5+ years of experience in \
             Django, Flask, and FastAPI. The candidate should have strong knowledge of \
             databases, REST APIs, and cloud technologies. Experience with Docker, Kubernetes, \
             and CI/CD pipelines is preferred.",
        );
        assert_eq!(analysis.seniority, Seniority::Senior);
        let found = names(&analysis);
        for expected in [
            "Python",
            "Django",
            "Flask",
            "FastAPI",
            "Docker",
            "Kubernetes",
        ] {
            assert!(
                found.contains(&expected),
                "{expected} missing from {found:?}"
            );
        }
    }

    #[test]
    fn matches_whole_words_only() {
        let found = names(&analyze("Engineer", "Good JavaScript and C++ skills"));
        assert!(found.contains(&"JavaScript"));
        assert!(found.contains(&"C++"));
        assert!(!found.contains(&"Java"), "{found:?}");
        assert!(!found.contains(&"Go"), "{found:?}");
    }

    #[test]
    fn seniority_comes_from_title_then_years() {
        assert_eq!(
            analyze("Junior Analyst", "SQL").seniority,
            Seniority::Junior
        );
        assert_eq!(
            analyze("Analyst", "SQL, 7 years of experience").seniority,
            Seniority::Senior
        );
        assert_eq!(
            analyze("Analyst", "SQL, 3 years of experience").seniority,
            Seniority::Mid
        );
    }

    #[test]
    fn gibberish_yields_no_skills_and_no_assessment() {
        let analysis = analyze("Qwerty", "asdf zxcv lorem ipsum");
        assert!(analysis.skills.is_empty());
        assert_eq!(
            assemble("a".into(), "Qwerty", 40, &analysis, vec![]),
            Err(GenerationError::NoRecognizableSkills)
        );
    }

    #[test]
    fn the_same_input_gives_the_same_questions() {
        let skill = analyze("Nurse", "Patient care").skills[0];
        assert_eq!(
            search(&skill, Seniority::Mid),
            search(&skill, Seniority::Mid)
        );
        assert!(search(&skill, Seniority::Junior).len() < search(&skill, Seniority::Senior).len());
    }
}
