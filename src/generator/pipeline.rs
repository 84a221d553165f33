//! The generation pipeline of one job: analysis of the request, a search of the question
//! library per chosen skill (with a language model's questions or scenario questions for thin
//! skills), and assembly into an assessment, reporting each step through [`Progress`].

use assessment_domain::{Assessment, Difficulty, JobRequested};

use super::llm::LlmClient;
use super::progress::{lines, steps, Progress};
use super::{analysis, assembly, Candidate, Engine, GenerationError, Origin, RankedSkill};

/// Questions an assessment has when the request does not say.
pub const DEFAULT_QUESTION_COUNT: u32 = 20;

/// About how many questions of each of `skills` chosen skills an assessment of
/// `question_count` questions may use (a few more, so the draw can choose).
pub fn wanted_per_skill(question_count: Option<u32>, skills: usize) -> usize {
    question_count.unwrap_or(DEFAULT_QUESTION_COUNT) as usize / skills.max(1) + 2
}

/// The job's words a skill's library search ranks by: the role, and the sentence that asked for
/// the skill.
pub fn search_context(job_role: &str, skill: &RankedSkill) -> String {
    match &skill.context {
        Some(sentence) => format!("{job_role}\n{sentence}"),
        None => job_role.to_owned(),
    }
}

/// Generates the assessment `request` asks for. The outer error is an interruption (the job is
/// retried); the inner one is a job that cannot be generated (it fails). `seed` makes the
/// draw of questions repeatable (the job id). A language model that fails is dropped for the
/// rest of the job.
pub async fn generate(
    engine: &Engine,
    mut llm: Option<&LlmClient>,
    seed: &str,
    request: &JobRequested,
    progress: &impl Progress,
) -> anyhow::Result<Result<Assessment, GenerationError>> {
    let taxonomy = &engine.taxonomy;
    let options = &request.options;
    progress.step(steps::ANALYZING).await?;
    progress.log(lines::analyzing()).await?;
    let must_have: Vec<usize> = options
        .skills
        .iter()
        .filter_map(|name| taxonomy.lookup(name))
        .collect();
    let mut analysis = analysis::analyze(
        taxonomy,
        &request.job_role,
        &request.job_description,
        &must_have,
        options.experience_level,
    );
    if let Some(model) = llm {
        match model
            .extract_skills(&request.job_role, &request.job_description)
            .await
        {
            Ok(names) => {
                let added = analysis.add_skills(taxonomy, &request.job_description, &names);
                progress.log(lines::model_reviewed(&added)).await?;
            }
            Err(error) => {
                llm = None;
                progress.log(lines::model_unavailable(&error)).await?;
            }
        }
    }
    if analysis.skills.is_empty() {
        return Ok(Err(GenerationError::NoRecognizableSkills));
    }
    let names: Vec<&str> = analysis.skills.iter().map(|s| s.name.as_str()).collect();
    let family = analysis
        .role_family
        .map_or("general", |f| taxonomy.families().info(f).name.as_str());
    progress
        .log(lines::identified(
            analysis.seniority.as_str(),
            family,
            &names,
        ))
        .await?;
    let extracted: Vec<&str> = analysis
        .skills
        .iter()
        .filter(|s| s.known.is_none())
        .map(|s| s.name.as_str())
        .collect();
    if !extracted.is_empty() {
        progress.log(lines::extracted(&extracted)).await?;
    }

    progress.step(steps::SEARCHING).await?;
    let hardest = assembly::difficulty_mix(analysis.seniority)
        .last()
        .map_or(Difficulty::Medium, |(d, _)| *d);
    let total = analysis.skills.len();
    let wanted = wanted_per_skill(options.question_count, total);
    let mut found = Vec::with_capacity(total);
    for (index, ranked) in analysis.skills.iter().enumerate() {
        let name = &ranked.name;
        progress
            .log(lines::searching(name, index + 1, total))
            .await?;
        let context = search_context(&request.job_role, ranked);
        let (mut skill_found, sourcing) =
            engine.candidates(ranked, &request.job_role, &context, wanted)?;
        progress
            .log(lines::searched(name, sourcing.library))
            .await?;
        if Engine::is_thin(sourcing.library, wanted) {
            if let Some(model) = llm {
                match model
                    .write_questions(&request.job_role, name, hardest, wanted.min(10))
                    .await
                {
                    Ok(written) => {
                        progress
                            .log(lines::model_wrote(name, written.len()))
                            .await?;
                        let model_questions = written.into_iter().map(|question| Candidate {
                            question,
                            origin: Origin::Model,
                            relevance: 1.0,
                        });
                        skill_found.candidates.splice(0..0, model_questions);
                    }
                    Err(error) => {
                        llm = None;
                        progress.log(lines::model_unavailable(&error)).await?;
                    }
                }
            }
            if sourcing.templates + sourcing.parent > 0 {
                let parent = ranked
                    .parent
                    .map(|p| (sourcing.parent, taxonomy.skill(p).name.as_str()));
                progress
                    .log(lines::scenarios_added(name, sourcing.templates, parent))
                    .await?;
            }
        }
        found.push(skill_found);
    }

    progress.step(steps::BUILDING).await?;
    progress.log(lines::building()).await?;
    let assembled = assembly::assemble(
        taxonomy,
        &assembly::Request {
            assessment_id: uuid::Uuid::new_v4().to_string(),
            seed,
            job_role: &request.job_role,
            cutoff: request.cutoff,
            options,
        },
        &analysis,
        &found,
    );
    let assessment = match assembled {
        Ok(assessment) => assessment,
        Err(error) => return Ok(Err(error.into())),
    };
    let minutes = assessment
        .sections
        .iter()
        .map(|s| s.duration_seconds())
        .sum::<u32>()
        .div_ceil(60);
    progress
        .log(lines::ready(
            assessment.questions().count(),
            assessment.sections.len(),
            minutes,
        ))
        .await?;
    Ok(Ok(assessment))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use assessment_domain::GenerationOptions;
    use chrono::DateTime;

    use super::*;

    /// Keeps every report, as `step:` or `log:` lines.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Progress for Recorded {
        async fn step(&self, step: &'static str) -> anyhow::Result<()> {
            self.0.lock().unwrap().push(format!("step: {step}"));
            Ok(())
        }

        async fn log(&self, line: String) -> anyhow::Result<()> {
            self.0.lock().unwrap().push(format!("log: {line}"));
            Ok(())
        }
    }

    fn request(job_role: &str, job_description: &str) -> JobRequested {
        JobRequested {
            job_id: "job-1".to_owned(),
            organization_id: "acme".to_owned(),
            job_role: job_role.to_owned(),
            job_description: job_description.to_owned(),
            cutoff: 60,
            notification_url: None,
            options: GenerationOptions::default(),
            api_key_id: None,
            requested_at: DateTime::from_timestamp(1_760_000_000, 0).unwrap(),
        }
    }

    #[tokio::test]
    async fn every_step_and_skill_is_reported_in_order_and_the_assessment_tests_each_skill() {
        let engine = Engine::embedded().unwrap();
        let progress = Recorded::default();
        let job = request(
            "Senior Python Developer",
            "Build services in Python with Django and PostgreSQL; Docker and Kubernetes.",
        );
        let assessment = generate(&engine, None, "job-1", &job, &progress)
            .await
            .unwrap()
            .unwrap();
        let reports = progress.0.into_inner().unwrap();
        let steps: Vec<&str> = reports
            .iter()
            .filter_map(|r| r.strip_prefix("step: "))
            .collect();
        assert_eq!(steps, [steps::ANALYZING, steps::SEARCHING, steps::BUILDING]);
        let searched = reports
            .iter()
            .filter(|r| r.starts_with("log: AI Progress: Searching for skill: "))
            .count();
        let identified = reports
            .iter()
            .find(|r| r.starts_with("log: AI Progress: Identified "))
            .expect("the chosen skills are reported");
        assert!(identified.contains("Python"), "{identified}");
        assert!(searched >= 5, "{reports:#?}");
        assert!(reports
            .last()
            .unwrap()
            .starts_with("log: AI Progress: Assessment ready: "));
        assert!(assessment.questions().count() > 0);
    }

    /// A section's name, skills, and questions by skill and length.
    type SectionPlan = (String, Vec<String>, Vec<(String, u32)>);

    /// What two jobs of one description share: the skills, the sections, and each section's
    /// questions by skill and length.
    fn blueprint(assessment: &Assessment) -> Vec<SectionPlan> {
        assessment
            .sections
            .iter()
            .map(|s| {
                let mut slots: Vec<(String, u32)> = s
                    .questions
                    .iter()
                    .map(|q| (q.skill.clone(), q.duration_seconds))
                    .collect();
                slots.sort();
                (s.name.clone(), s.skills.clone(), slots)
            })
            .collect()
    }

    #[tokio::test]
    async fn the_seed_changes_the_questions_but_never_the_blueprint() {
        let engine = Engine::embedded().unwrap();
        let jobs = [
            (
                "Senior Python Developer",
                "We are looking for a Senior Python Developer with 5+ years of experience in \
                 Django, Flask, and FastAPI. The candidate should have strong knowledge of \
                 databases, REST APIs, and cloud technologies. Experience with Docker, \
                 Kubernetes, and CI/CD pipelines is preferred.",
            ),
            (
                "Senior Android Engineer",
                "Kotlin, Jetpack Compose, Room, Coroutines and Flow, Retrofit, Dagger/Hilt, \
                 MVVM and clean architecture; Gradle, Firebase, Play Store releases.",
            ),
            (
                "Network Engineer",
                "BGP, OSPF, VLANs, Cisco and Juniper switching, Palo Alto firewalls, \
                 site-to-site VPN, Wireshark, Python for network automation.",
            ),
            (
                "Junior Accountant",
                "Accounts payable and receivable, bank reconciliations, month-end close, \
                 VAT returns, Excel (VLOOKUP, pivot tables), Xero or Sage.",
            ),
        ];
        for (role, description) in jobs {
            let job = request(role, description);
            let mut first = None;
            let mut varied = false;
            for _ in 0..100 {
                let seed = uuid::Uuid::new_v4().to_string();
                let assessment = generate(&engine, None, &seed, &job, &Recorded::default())
                    .await
                    .unwrap()
                    .unwrap();
                let ids: Vec<String> = assessment.questions().map(|q| q.id.clone()).collect();
                match &first {
                    None => first = Some((blueprint(&assessment), ids)),
                    Some((plan, first_ids)) => {
                        assert_eq!(&blueprint(&assessment), plan, "{role}, seed {seed}");
                        varied |= &ids != first_ids;
                    }
                }
            }
            assert!(varied, "{role}: every seed drew the same questions");
        }
    }

    #[tokio::test]
    async fn a_job_naming_no_skill_fails_after_the_analysis_with_a_reason() {
        let engine = Engine::embedded().unwrap();
        let progress = Recorded::default();
        let job = request("Zzxq", "Qwv plorb zint.");
        let outcome = generate(&engine, None, "job-2", &job, &progress)
            .await
            .unwrap();
        assert_eq!(outcome.unwrap_err(), GenerationError::NoRecognizableSkills);
        let reports = progress.0.into_inner().unwrap();
        assert!(!reports.iter().any(|r| r.contains(steps::SEARCHING)));
    }
}
