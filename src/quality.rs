//! `assessment-service quality-benchmark`: runs the skill analysis on the job descriptions of
//! `data/benchmark/` and reports, for the `dev` part (tuned on) and the `test` part (held out,
//! never tuned on), how many of the skills a recruiter expects it finds (recall), how many it
//! picks from a family the role does not belong to, and how many descriptions yield fewer than
//! five skills; then how long the whole generation pipeline takes per job.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use assessment_domain::{Assessment, GenerationOptions};
use serde::Deserialize;

use crate::generator::analysis::{self, Analysis, RankedSkill, MIN_SKILLS};
use crate::generator::text::segment;
use crate::generator::{assembly, pipeline, Engine, Taxonomy};

#[derive(Deserialize)]
struct BenchmarkFile {
    jobs: Vec<BenchmarkJob>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BenchmarkJob {
    pub id: String,
    pub family: String,
    pub job_role: String,
    pub job_description: String,
    pub expected_skills: Vec<String>,
}

pub const DEV: &str = include_str!("../data/benchmark/dev.json");
pub const TEST: &str = include_str!("../data/benchmark/test.json");

/// What one job gave.
#[derive(Debug)]
pub struct JobResult {
    pub id: String,
    pub family: String,
    pub job_role: String,
    pub expected: usize,
    pub found: usize,
    pub missing: Vec<String>,
    /// Why each missing skill was missed, in the order of `missing`.
    pub why_missed: Vec<Miss>,
    pub wrong_field: Vec<String>,
    pub extracted: Vec<String>,
    pub chosen: Vec<String>,
}

/// Why an expected skill is not among the chosen ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Miss {
    /// No skill of the taxonomy goes by that name.
    Unknown,
    /// The taxonomy knows it, but the ad uses none of its spellings, not even loosely.
    NotNamed,
    /// Named, but outside the fields the job's family takes skills from.
    OutsideField,
    /// Named and in the field, but ranked below the skills chosen (or only in noise).
    RankedOut,
    /// Not named, but a skill under it was chosen (a specific form of what the recruiter
    /// named).
    ChildChosen,
    /// Not named, but a skill above it was chosen (a broader form of what the recruiter named).
    ParentChosen,
}

impl Miss {
    pub fn as_str(self) -> &'static str {
        match self {
            Miss::Unknown => "unknown",
            Miss::NotNamed => "not named",
            Miss::OutsideField => "outside field",
            Miss::RankedOut => "ranked out",
            Miss::ChildChosen => "child chosen",
            Miss::ParentChosen => "parent chosen",
        }
    }
}

/// Why `expected` was missed by `analysis`; `named` holds the known skills the job's title and
/// description name, exactly or loosely.
fn why_missed(
    taxonomy: &Taxonomy,
    named: &HashSet<usize>,
    analysis: &Analysis,
    expected: &str,
) -> Miss {
    let Some(known) = written_forms(expected).find_map(|form| taxonomy.lookup(form)) else {
        return Miss::Unknown;
    };
    if !named.contains(&known) {
        let chosen: Vec<usize> = analysis.skills.iter().filter_map(|s| s.known).collect();
        if chosen
            .iter()
            .any(|&c| taxonomy.ancestors(c).any(|a| a == known))
        {
            return Miss::ChildChosen;
        }
        if taxonomy.ancestors(known).any(|a| chosen.contains(&a)) {
            return Miss::ParentChosen;
        }
        Miss::NotNamed
    } else if analysis
        .role_family
        .is_some_and(|family| !taxonomy.fits(family, known))
    {
        Miss::OutsideField
    } else {
        Miss::RankedOut
    }
}

/// The known skills `texts` name, exactly or loosely.
fn named_in(taxonomy: &Taxonomy, texts: &[&str]) -> HashSet<usize> {
    let mut named = HashSet::new();
    for text in texts {
        let exact = taxonomy.find(text);
        let sentences: Vec<(usize, usize)> = segment(text)
            .iter()
            .map(|unit| (unit.start, unit.end))
            .collect();
        let loose = taxonomy.find_loose(text, &sentences, &exact);
        named.extend(exact.iter().chain(&loose).map(|m| m.skill));
    }
    named
}

#[derive(Debug)]
pub struct Report {
    pub jobs: Vec<JobResult>,
    /// The time the analyses took, without the scoring and explaining around them.
    pub analysis_time: Duration,
}

impl Report {
    pub fn recall(&self) -> f64 {
        let expected: usize = self.jobs.iter().map(|j| j.expected).sum();
        let found: usize = self.jobs.iter().map(|j| j.found).sum();
        found as f64 / expected.max(1) as f64
    }

    pub fn wrong_field(&self) -> usize {
        self.jobs.iter().map(|j| j.wrong_field.len()).sum()
    }

    pub fn chosen(&self) -> usize {
        self.jobs.iter().map(|j| j.chosen.len()).sum()
    }

    pub fn extracted(&self) -> usize {
        self.jobs.iter().map(|j| j.extracted.len()).sum()
    }

    /// Descriptions that yield fewer than five skills.
    pub fn thin(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.chosen.len() < MIN_SKILLS)
            .count()
    }

    /// Descriptions naming five or more requirements that still yield fewer than five skills.
    pub fn thin_despite_requirements(&self) -> usize {
        self.jobs
            .iter()
            .filter(|j| j.expected >= MIN_SKILLS && j.chosen.len() < MIN_SKILLS)
            .count()
    }

    /// Recall per job family: (found, expected).
    pub fn per_family(&self) -> BTreeMap<&str, (usize, usize)> {
        let mut families: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for job in &self.jobs {
            let entry = families.entry(job.family.as_str()).or_default();
            entry.0 += job.found;
            entry.1 += job.expected;
        }
        families
    }
}

fn normalized(name: &str) -> String {
    let words: Vec<String> = name
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '+' && c != '#')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let mut joined = words.join(" ");
    if joined.len() > 3 && joined.ends_with('s') && !joined.ends_with("ss") {
        joined.pop();
    }
    joined
}

/// Whether a chosen skill is the expected one: the same taxonomy entry (by name or alias), or
/// the same words. A name written with its abbreviation, "Good Manufacturing Practice (GMP)",
/// is either.
fn covers(taxonomy: &Taxonomy, chosen: &RankedSkill, expected: &str) -> bool {
    written_forms(expected).any(|name| match (chosen.known, taxonomy.lookup(name)) {
        (Some(known), Some(wanted)) if known == wanted => true,
        _ => normalized(&chosen.name) == normalized(name),
    })
}

/// A recruiter's name for a skill as written, then, for "Name (ABBR)", the name and the
/// abbreviation.
fn written_forms(expected: &str) -> impl Iterator<Item = &str> {
    let parts = expected
        .trim_end()
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once('('))
        .map(|(name, short)| [name.trim(), short.trim()]);
    std::iter::once(expected).chain(parts.into_iter().flatten())
}

pub fn parse(json: &str) -> anyhow::Result<Vec<BenchmarkJob>> {
    let file: BenchmarkFile = serde_json::from_str(json)?;
    Ok(file.jobs)
}

pub fn analyze_job(taxonomy: &Taxonomy, job: &BenchmarkJob) -> Analysis {
    analysis::analyze(taxonomy, &job.job_role, &job.job_description, &[], None)
}

/// Analyses every job and scores it, on as many threads as the machine has (each job's
/// analysis is timed on its own thread, so `analysis_time` is CPU time spent analysing).
pub fn evaluate(taxonomy: &Taxonomy, jobs: &[BenchmarkJob]) -> anyhow::Result<Report> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = jobs.len().div_ceil(threads).max(1);
    let scored: Vec<anyhow::Result<Vec<(JobResult, Duration)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || chunk.iter().map(|job| score(taxonomy, job)).collect())
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a benchmark thread panicked"))
            .collect()
    });
    let mut results = Vec::with_capacity(jobs.len());
    let mut analysis_time = Duration::ZERO;
    for part in scored {
        for (result, time) in part? {
            results.push(result);
            analysis_time += time;
        }
    }
    Ok(Report {
        jobs: results,
        analysis_time,
    })
}

/// One job's analysis, scored against its expected skills, and how long the analysis took.
fn score(taxonomy: &Taxonomy, job: &BenchmarkJob) -> anyhow::Result<(JobResult, Duration)> {
    let family = taxonomy
        .families()
        .parse(&job.family)
        .ok_or_else(|| anyhow::anyhow!("{}: unknown family {}", job.id, job.family))?;
    let started = Instant::now();
    let analysis = analyze_job(taxonomy, job);
    let analysis_time = started.elapsed();
    let missing: Vec<String> = job
        .expected_skills
        .iter()
        .filter(|name| !analysis.skills.iter().any(|s| covers(taxonomy, s, name)))
        .cloned()
        .collect();
    let named = match missing.is_empty() {
        true => HashSet::new(),
        false => named_in(taxonomy, &[&job.job_description, &job.job_role]),
    };
    let why = missing
        .iter()
        .map(|name| why_missed(taxonomy, &named, &analysis, name))
        .collect();
    let wrong_field = analysis
        .skills
        .iter()
        .filter(|s| s.known.is_some_and(|known| !taxonomy.fits(family, known)))
        .map(|s| s.name.clone())
        .collect();
    let result = JobResult {
        id: job.id.clone(),
        family: job.family.clone(),
        job_role: job.job_role.clone(),
        expected: job.expected_skills.len(),
        found: job.expected_skills.len() - missing.len(),
        missing,
        why_missed: why,
        wrong_field,
        extracted: analysis
            .skills
            .iter()
            .filter(|s| s.known.is_none())
            .map(|s| s.name.clone())
            .collect(),
        chosen: analysis.skills.iter().map(|s| s.name.clone()).collect(),
    };
    Ok((result, analysis_time))
}

fn print_summary(name: &str, report: &Report) {
    println!(
        "{name}: {} descriptions, recall {:.3} ({} of {} expected skills), wrong-field {} of {} \
         chosen, extracted {}, fewer than 5 skills: {} ({} of them naming 5+ requirements)",
        report.jobs.len(),
        report.recall(),
        report.jobs.iter().map(|j| j.found).sum::<usize>(),
        report.jobs.iter().map(|j| j.expected).sum::<usize>(),
        report.wrong_field(),
        report.chosen(),
        report.extracted(),
        report.thin(),
        report.thin_despite_requirements(),
    );
    let mut why: BTreeMap<Miss, usize> = BTreeMap::new();
    for miss in report.jobs.iter().flat_map(|j| &j.why_missed) {
        *why.entry(*miss).or_default() += 1;
    }
    let why: Vec<String> = why
        .iter()
        .map(|(miss, count)| format!("{} {count}", miss.as_str()))
        .collect();
    println!(
        "{:width$}  missed: {}",
        "",
        why.join(", "),
        width = name.len()
    );
}

fn print_families(dev: &Report, test: &Report) {
    let dev_families = dev.per_family();
    let test_families = test.per_family();
    let mut names: Vec<&str> = dev_families
        .keys()
        .chain(test_families.keys())
        .copied()
        .collect();
    names.sort_unstable();
    names.dedup();
    println!();
    println!(
        "{:<22} {:>12} {:>12}",
        "family", "dev recall", "test recall"
    );
    let cell = |entry: Option<&(usize, usize)>| match entry {
        Some((found, expected)) => format!(
            "{:.2} {:>2}/{:<2}",
            *found as f64 / (*expected).max(1) as f64,
            found,
            expected
        ),
        None => "-".to_owned(),
    };
    for name in names {
        println!(
            "{name:<22} {:>12} {:>12}",
            cell(dev_families.get(name)),
            cell(test_families.get(name))
        );
    }
}

fn print_details(report: &Report) {
    println!("{:<8} {:<40} {:>7}  notes", "id", "job", "found");
    for job in &report.jobs {
        let mut notes = Vec::new();
        if !job.missing.is_empty() {
            let missing: Vec<String> = job
                .missing
                .iter()
                .zip(&job.why_missed)
                .map(|(name, why)| format!("{name} [{}]", why.as_str()))
                .collect();
            notes.push(format!("missing: {}", missing.join(", ")));
        }
        if !job.wrong_field.is_empty() {
            notes.push(format!("wrong field: {}", job.wrong_field.join(", ")));
        }
        if !job.extracted.is_empty() {
            notes.push(format!("extracted: {}", job.extracted.join(", ")));
        }
        notes.push(format!("chosen: {}", job.chosen.join(", ")));
        println!(
            "{:<8} {:<40} {:>3}/{:<3}  {}",
            job.id,
            job.job_role.chars().take(40).collect::<String>(),
            job.found,
            job.expected,
            notes.join("; ")
        );
    }
    println!();
}

/// The whole pipeline for one description with default options, as a worker runs it without a
/// language model: analysis, library search per skill, assembly.
fn assemble_job(engine: &Engine, job: &BenchmarkJob) -> anyhow::Result<Option<Assessment>> {
    assemble_seeded(engine, job, &job.id)
}

/// [`assemble_job`] with another seed, as another job id would draw.
fn assemble_seeded(
    engine: &Engine,
    job: &BenchmarkJob,
    seed: &str,
) -> anyhow::Result<Option<Assessment>> {
    let options = GenerationOptions::default();
    let analysis = analyze_job(&engine.taxonomy, job);
    if analysis.skills.is_empty() {
        return Ok(None);
    }
    let wanted = pipeline::wanted_per_skill(options.question_count, analysis.skills.len());
    let mut found = Vec::with_capacity(analysis.skills.len());
    for skill in &analysis.skills {
        let context = pipeline::search_context(&job.job_role, skill);
        found.push(engine.candidates(skill, &job.job_role, &context, wanted)?.0);
    }
    let assessment = assembly::assemble(
        &engine.taxonomy,
        &assembly::Request {
            assessment_id: job.id.clone(),
            seed,
            job_role: &job.job_role,
            cutoff: 40,
            options: &options,
        },
        &analysis,
        &found,
    )?;
    Ok(Some(assessment))
}

/// Times of the whole pipeline over the descriptions, each run on one thread: wall time
/// bounds the CPU time from above.
fn pipeline_times(engine: &Engine, jobs: &[BenchmarkJob]) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(jobs.len());
    for job in jobs {
        let started = Instant::now();
        assemble_job(engine, job)?;
        times.push(started.elapsed());
    }
    Ok(times)
}

/// How the assessments themselves fare: of the skills the analysis chose, how many the
/// assembled assessment tests, and the recall of the tested skills alone.
fn assessment_recall(engine: &Engine, jobs: &[BenchmarkJob]) -> anyhow::Result<String> {
    let (mut kept, mut chosen, mut found, mut expected) = (0, 0, 0, 0);
    for job in jobs {
        let analysis = analyze_job(&engine.taxonomy, job);
        let tested: Vec<&RankedSkill> = match assemble_job(engine, job)? {
            Some(assessment) => analysis
                .skills
                .iter()
                .filter(|s| assessment.skills.contains(&s.name))
                .collect(),
            None => Vec::new(),
        };
        kept += tested.len();
        chosen += analysis.skills.len();
        expected += job.expected_skills.len();
        found += job
            .expected_skills
            .iter()
            .filter(|name| tested.iter().any(|s| covers(&engine.taxonomy, s, name)))
            .count();
    }
    Ok(format!(
        "the assessments test {kept} of {chosen} chosen skills; recall on the tested skills {:.3} \
         ({found} of {expected})",
        found as f64 / expected.max(1) as f64
    ))
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

pub struct Options<'a> {
    pub file: Option<&'a Path>,
    pub details: bool,
    pub speed: bool,
}

pub fn run(options: Options<'_>) -> anyhow::Result<()> {
    let started = Instant::now();
    let taxonomy = Taxonomy::embedded();
    let loaded = started.elapsed();
    if let Some(path) = options.file {
        let jobs = parse(&std::fs::read_to_string(path)?)?;
        let report = evaluate(&taxonomy, &jobs)?;
        if options.details {
            print_details(&report);
        }
        print_summary(&path.display().to_string(), &report);
        return Ok(());
    }
    let dev_jobs = parse(DEV)?;
    let test_jobs = parse(TEST)?;
    let dev = evaluate(&taxonomy, &dev_jobs)?;
    let test = evaluate(&taxonomy, &test_jobs)?;
    let analysis_time = dev.analysis_time + test.analysis_time;
    if options.details {
        // Only the part tuned on: the test part stays unread job by job.
        print_details(&dev);
    }
    print_summary("dev ", &dev);
    print_summary("test", &test);
    print_families(&dev, &test);
    println!();
    println!(
        "analysis of {} descriptions: {:.1} ms of analysing on {} threads (taxonomy load {:.1} \
         ms), {:.2} ms per description",
        dev_jobs.len() + test_jobs.len(),
        millis(analysis_time),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        millis(loaded),
        millis(analysis_time) / (dev_jobs.len() + test_jobs.len()).max(1) as f64
    );
    if options.speed {
        let engine = Engine::embedded()?;
        let mut all: Vec<BenchmarkJob> = dev_jobs.iter().chain(&test_jobs).cloned().collect();
        // The longest description a request may carry.
        let mut long = dev_jobs
            .iter()
            .max_by_key(|j| j.job_description.len())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("empty benchmark"))?;
        let paragraph = format!("{}\n\n", long.job_description);
        long.job_description = paragraph.chars().cycle().take(20_000).collect();
        long.id = "long-20k".to_owned();
        all.push(long.clone());
        println!("dev : {}", assessment_recall(&engine, &dev_jobs)?);
        println!("test: {}", assessment_recall(&engine, &test_jobs)?);
        // Warm up caches once, then measure.
        pipeline_times(&engine, &all)?;
        let mut times = pipeline_times(&engine, &all)?;
        let long_time = times.pop().unwrap_or_default();
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
        println!(
            "pipeline per job (analysis + search + assembly, one thread): mean {:.2} ms, p50 \
             {:.2} ms, p95 {:.2} ms, max {:.2} ms; a {}-character description {:.2} ms",
            millis(mean),
            millis(at(0.5)),
            millis(at(0.95)),
            millis(*times.last().unwrap_or(&Duration::ZERO)),
            long.job_description.chars().count(),
            millis(long_time)
        );
    }
    println!("total {:.0} ms", millis(started.elapsed()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::analysis::{Seniority, ALWAYS_TESTED};
    use assessment_domain::Difficulty;

    #[test]
    fn a_name_written_with_its_abbreviation_matches_either() {
        let taxonomy = Taxonomy::embedded();
        let gmp = taxonomy.lookup("Good Manufacturing Practice").unwrap();
        let chosen = RankedSkill::known(&taxonomy, gmp, true, 1.0);
        for expected in [
            "Good Manufacturing Practice (GMP)",
            "GMP",
            "Good Manufacturing Practice",
            "Current Good Manufacturing Practice (cGMP)",
        ] {
            assert!(covers(&taxonomy, &chosen, expected), "{expected}");
        }
        for expected in [
            "Good Laboratory Practice (GLP)",
            "Manufacturing (GMP audits)",
        ] {
            assert!(!covers(&taxonomy, &chosen, expected), "{expected}");
        }
    }

    #[test]
    fn the_benchmark_is_large_split_and_spans_forty_families() {
        let taxonomy = Taxonomy::embedded();
        let dev = parse(DEV).unwrap();
        let test = parse(TEST).unwrap();
        assert!(dev.len() + test.len() >= 120);
        let mut families: Vec<&str> = dev.iter().chain(&test).map(|j| j.family.as_str()).collect();
        families.sort_unstable();
        families.dedup();
        assert!(families.len() >= 40, "{} families", families.len());
        for job in dev.iter().chain(&test) {
            assert!(
                taxonomy.families().parse(&job.family).is_some(),
                "{}: {}",
                job.id,
                job.family
            );
        }
        let ids: std::collections::HashSet<&str> =
            dev.iter().chain(&test).map(|j| j.id.as_str()).collect();
        assert_eq!(ids.len(), dev.len() + test.len(), "ids are unique");
    }

    /// Whatever the draw, a senior assessment asks more hard questions than easy ones, even
    /// when its length forces shorter questions.
    #[test]
    fn senior_assessments_lean_hard_under_every_seed() {
        let engine = Engine::embedded().unwrap();
        let mut checked = 0;
        let mut failed = Vec::new();
        for job in parse(DEV).unwrap() {
            let analysis = analyze_job(&engine.taxonomy, &job);
            if analysis.seniority != Seniority::Senior {
                continue;
            }
            for seed in 0..20 {
                let seed = format!("{}-{seed}", job.id);
                let Some(assessment) = assemble_seeded(&engine, &job, &seed).unwrap() else {
                    continue;
                };
                let count = |level: Difficulty| {
                    assessment
                        .questions()
                        .filter(|q| q.difficulty == level)
                        .count()
                };
                let (hard, easy) = (count(Difficulty::Hard), count(Difficulty::Easy));
                if hard <= easy {
                    failed.push(format!("{seed}: {hard} hard, {easy} easy"));
                }
                checked += 1;
            }
        }
        assert!(checked >= 200, "{checked} senior assessments");
        assert!(
            failed.is_empty(),
            "{} of {checked}: {failed:?}",
            failed.len()
        );
    }

    /// Two jobs from one description draw different questions: over the skills with 12 or more
    /// library questions, at most a fifth repeat overall, and at most half for 98% of the
    /// pairs of seeds tried on the dev descriptions that test five such questions or more.
    #[test]
    fn two_seeds_share_at_most_half_of_the_deep_questions() {
        let engine = Engine::embedded().unwrap();
        let deep = |assessment: &Assessment| -> Vec<String> {
            assessment
                .questions()
                .filter(|q| engine.library.count(&q.skill) >= 12)
                .map(|q| q.id.clone())
                .collect()
        };
        let (mut pairs, mut shared_total, mut deep_total) = (0, 0, 0);
        let mut over = Vec::new();
        for job in parse(DEV).unwrap() {
            for pair in 0..5 {
                let draw = |side: &str| {
                    assemble_seeded(&engine, &job, &format!("{}-{pair}-{side}", job.id))
                        .unwrap()
                        .map(|a| deep(&a))
                };
                let (Some(a), Some(b)) = (draw("a"), draw("b")) else {
                    continue;
                };
                if a.len() < 5 {
                    continue;
                }
                let shared = a.iter().filter(|id| b.contains(id)).count();
                if shared * 2 > a.len() {
                    over.push(format!("{} pair {pair}: {shared} of {}", job.id, a.len()));
                }
                pairs += 1;
                shared_total += shared;
                deep_total += a.len();
            }
        }
        assert!(pairs >= 300, "{pairs} pairs");
        // A few pairs (3 of 325 today) of descriptions whose deep skills have few questions of
        // the kinds and levels asked still repeat more than half.
        assert!(
            over.len() * 50 <= pairs,
            "{} of {pairs} pairs repeat more than half: {over:?}",
            over.len()
        );
        assert!(
            shared_total * 5 <= deep_total,
            "{shared_total} of {deep_total}"
        );
    }

    #[test]
    fn every_chosen_skill_is_tested_in_the_assessment() {
        let engine = Engine::embedded().unwrap();
        for job in parse(DEV).unwrap() {
            let analysis = analyze_job(&engine.taxonomy, &job);
            let Some(assessment) = assemble_job(&engine, &job).unwrap() else {
                continue;
            };
            // The first ALWAYS_TESTED chosen skills are all tested, in order, unless the
            // length cannot hold a question each (open answers at a senior level: 20 of them
            // take 100 minutes); the rest as far as the time and their questions allow.
            let chosen: Vec<&str> = analysis.skills.iter().map(|s| s.name.as_str()).collect();
            let firm = chosen.len().min(ALWAYS_TESTED);
            let seconds: u32 = assessment.questions().map(|q| q.duration_seconds).sum();
            let tested = assessment.skills.len().min(firm);
            assert_eq!(assessment.skills[..tested], chosen[..tested], "{}", job.id);
            // A firm skill goes only once every skill is down to one question and the coding
            // section is gone, and only when no open question at the floor (300 s) would fit.
            if tested < firm {
                let one_each = assessment.sections.iter().all(|section| {
                    section.skills.iter().all(|skill| {
                        section
                            .questions
                            .iter()
                            .filter(|q| &q.skill == skill)
                            .count()
                            == 1
                    })
                });
                assert!(
                    one_each
                        && !assessment
                            .sections
                            .iter()
                            .any(|s| s.name == assembly::CODING_SECTION)
                        && seconds + 300 > assembly::DEFAULT_MAX_MINUTES * 60,
                    "{}: {} of the first {firm} skills tested in {seconds} s",
                    job.id,
                    tested
                );
            }
            let mut rest = chosen[tested..].iter();
            for skill in &assessment.skills[tested..] {
                assert!(
                    rest.any(|c| c == skill),
                    "{}: {skill} tested but not chosen, or out of order",
                    job.id
                );
            }
            let minutes = seconds / 60;
            assert!(
                minutes <= assembly::DEFAULT_MAX_MINUTES,
                "{}: {minutes} minutes",
                job.id
            );
        }
    }

    /// The floor holds what the engine reaches today (recall, wrong-field skills, short
    /// answers to long requirement lists), so a change that loses ground fails here. The seven
    /// wrong-field skills dev allows are, today, two descriptions': dev-405, a garden centre's
    /// stock controller, read as an inventory role of operations and so given its purchasing
    /// and variance skills where the recruiter filed it under retail; and dev-506, a hotel's
    /// front office supervisor, given reception duties, an office-management skill and health
    /// and safety from administration and compliance. The
    /// issue's targets on `test` (recall 0.9, no wrong-field skill, no thin answer) are above
    /// it; the README keeps both.
    #[test]
    fn the_benchmark_meets_its_floors_on_both_parts() {
        let taxonomy = Taxonomy::embedded();
        for (part, json, recall, wrong_field, thin) in
            [("dev", DEV, 0.87, 7, 0), ("test", TEST, 0.82, 0, 0)]
        {
            let report = evaluate(&taxonomy, &parse(json).unwrap()).unwrap();
            assert!(
                report.recall() >= recall,
                "{part}: recall {:.3} below {recall}",
                report.recall()
            );
            assert!(
                report.wrong_field() <= wrong_field,
                "{part}: {} wrong-field skills",
                report.wrong_field()
            );
            assert!(
                report.thin_despite_requirements() <= thin,
                "{part}: {} descriptions with 5+ requirements yield fewer than 5 skills",
                report.thin_despite_requirements()
            );
        }
    }
}
