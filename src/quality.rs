//! `assessment-service quality-benchmark`: runs the skill analysis on the job descriptions of
//! `data/benchmark/jobs.json` and prints how many of the skills a recruiter expects it finds
//! (recall) and how many skills it picks from a field the role does not belong to.

use std::path::Path;

use serde::Deserialize;

use crate::generator::analysis;
use crate::generator::{Family, Taxonomy};

#[derive(Deserialize)]
struct BenchmarkFile {
    jobs: Vec<BenchmarkJob>,
}

#[derive(Deserialize)]
struct BenchmarkJob {
    job_role: String,
    job_description: String,
    field: Family,
    expected_skills: Vec<String>,
}

/// What one job gave.
#[derive(Debug)]
pub struct JobResult {
    pub job_role: String,
    pub expected: usize,
    pub found: usize,
    pub missing: Vec<String>,
    pub wrong_field: Vec<String>,
    pub chosen: usize,
}

#[derive(Debug)]
pub struct Report {
    pub jobs: Vec<JobResult>,
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
        self.jobs.iter().map(|j| j.chosen).sum()
    }
}

pub const EMBEDDED: &str = include_str!("../data/benchmark/jobs.json");

pub fn evaluate(taxonomy: &Taxonomy, json: &str) -> anyhow::Result<Report> {
    let file: BenchmarkFile = serde_json::from_str(json)?;
    let mut jobs = Vec::new();
    for job in file.jobs {
        let analysis = analysis::analyze(taxonomy, &job.job_role, &job.job_description, &[], None);
        let chosen: Vec<&crate::generator::taxonomy::Skill> = analysis
            .skills
            .iter()
            .map(|s| taxonomy.skill(s.skill))
            .collect();
        let missing: Vec<String> = job
            .expected_skills
            .iter()
            .filter(|name| !chosen.iter().any(|s| &s.name == *name))
            .cloned()
            .collect();
        let wrong_field = chosen
            .iter()
            .filter(|s| !job.field.related().contains(&s.family))
            .map(|s| s.name.clone())
            .collect();
        jobs.push(JobResult {
            job_role: job.job_role,
            expected: job.expected_skills.len(),
            found: job.expected_skills.len() - missing.len(),
            missing,
            wrong_field,
            chosen: chosen.len(),
        });
    }
    Ok(Report { jobs })
}

pub fn run(path: Option<&Path>) -> anyhow::Result<()> {
    let json = match path {
        Some(path) => std::fs::read_to_string(path)?,
        None => EMBEDDED.to_owned(),
    };
    let taxonomy = Taxonomy::embedded();
    let report = evaluate(&taxonomy, &json)?;
    println!("{:<44} {:>7} {:>6}  notes", "job", "recall", "wrong");
    for job in &report.jobs {
        let mut notes = Vec::new();
        if !job.missing.is_empty() {
            notes.push(format!("missing: {}", job.missing.join(", ")));
        }
        if !job.wrong_field.is_empty() {
            notes.push(format!("wrong field: {}", job.wrong_field.join(", ")));
        }
        println!(
            "{:<44} {:>3}/{:<3} {:>6}  {}",
            job.job_role.chars().take(44).collect::<String>(),
            job.found,
            job.expected,
            job.wrong_field.len(),
            notes.join("; ")
        );
    }
    println!();
    println!("jobs: {}", report.jobs.len());
    println!(
        "recall: {:.3} ({} of {} expected skills found)",
        report.recall(),
        report.jobs.iter().map(|j| j.found).sum::<usize>(),
        report.jobs.iter().map(|j| j.expected).sum::<usize>()
    );
    println!(
        "wrong-field skills: {} of {} chosen ({:.3})",
        report.wrong_field(),
        report.chosen(),
        report.wrong_field() as f64 / report.chosen().max(1) as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_benchmark_meets_its_aims() {
        let report = evaluate(&Taxonomy::embedded(), EMBEDDED).unwrap();
        assert!(report.jobs.len() >= 25);
        assert!(
            report.recall() >= 0.85,
            "recall {:.3}: {report:#?}",
            report.recall()
        );
        assert_eq!(report.wrong_field(), 0, "{report:#?}");
    }
}
