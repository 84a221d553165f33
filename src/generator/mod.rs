//! The embedded assessment generator: analysis of the job against a skill taxonomy (and the
//! ad's own requirement phrases), a BM25 search of the question library per skill with
//! scenario questions for thin skills, and assembly into sections, run for a job by
//! `pipeline` and reported through `progress`. No network; an OpenAI-compatible model can
//! refine it (`llm`) but is never needed.

pub mod analysis;
pub mod assembly;
pub mod extract;
pub mod family;
pub mod library;
pub mod llm;
pub mod pipeline;
pub mod progress;
pub mod roles;
pub mod taxonomy;
pub mod templates;
pub mod text;

use assessment_domain::{Difficulty, RequestError};

pub use analysis::{Analysis, RankedSkill, Seniority};
pub use assembly::{AssemblyError, Candidate, Found, Origin};
pub use family::{Families, Family};
pub use library::Library;
pub use taxonomy::Taxonomy;
pub use templates::Templates;

/// A skill with fewer library questions than this also gets its parent's questions and
/// scenario questions.
pub const THIN_SKILL: usize = 6;

/// Why a job could not be generated, in words the client can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerationError {
    #[error(
        "No recognizable skills were found in the job description. Name the skills, tools or \
         duties the role needs (for example: Python, SQL, customer service, patient care) and \
         submit the job again."
    )]
    NoRecognizableSkills,
    #[error(transparent)]
    Assembly(#[from] AssemblyError),
}

/// The taxonomy, the indexed library and the question templates, built once per process.
#[derive(Debug)]
pub struct Engine {
    pub taxonomy: Taxonomy,
    pub library: Library,
    pub templates: Templates,
}

/// Where one skill's candidates came from, for the job's log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sourcing {
    pub library: usize,
    pub parent: usize,
    pub templates: usize,
}

impl Engine {
    pub fn embedded() -> anyhow::Result<Engine> {
        let taxonomy = Taxonomy::embedded();
        let library = Library::embedded(&taxonomy)?;
        Ok(Engine {
            taxonomy,
            library,
            templates: Templates::embedded(),
        })
    }

    /// Canonical names of requested must-have skills; unknown names are an error naming them.
    pub fn canonical_skills(&self, names: &[String]) -> Result<Vec<String>, RequestError> {
        let mut canonical = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            match self.taxonomy.lookup(name) {
                Some(index) => {
                    let skill = &self.taxonomy.skill(index).name;
                    if !canonical.contains(skill) {
                        canonical.push(skill.clone());
                    }
                }
                None => unknown.push(name.trim().to_owned()),
            }
        }
        if unknown.is_empty() {
            Ok(canonical)
        } else {
            Err(RequestError::UnknownSkills(unknown.join(", ")))
        }
    }

    /// Library questions of a taxonomy skill, best match to `context` first.
    fn searched(
        &self,
        skill: usize,
        context: &str,
        origin: Origin,
    ) -> anyhow::Result<Vec<Candidate>> {
        let name = &self.taxonomy.skill(skill).name;
        let hits = self.library.search(name, &Difficulty::ALL, context)?;
        let best = hits.first().map_or(0.0, |h| h.score).max(f32::EPSILON);
        Ok(hits
            .into_iter()
            .map(|hit| Candidate {
                question: hit.question.clone(),
                origin,
                relevance: hit.score / best,
            })
            .collect())
    }

    /// Whether a skill with `library` questions is thin for an assessment that wants about
    /// `wanted` of its questions.
    pub fn is_thin(library: usize, wanted: usize) -> bool {
        library < THIN_SKILL.max(wanted)
    }

    /// The questions one chosen skill may be tested with: its own library questions, and for a
    /// thin skill (or one the taxonomy does not know) its parent's questions and scenario
    /// questions written for the job. `context` is the job's words the search ranks by;
    /// `wanted` is about how many of its questions the assessment may use.
    pub fn candidates(
        &self,
        skill: &RankedSkill,
        job_role: &str,
        context: &str,
        wanted: usize,
    ) -> anyhow::Result<(Found, Sourcing)> {
        let mut candidates = match skill.known {
            Some(known) => self.searched(known, context, Origin::Library)?,
            None => Vec::new(),
        };
        let mut sourcing = Sourcing {
            library: candidates.len(),
            ..Sourcing::default()
        };
        if Self::is_thin(candidates.len(), wanted) {
            let about = skill.known.map(|k| self.taxonomy.skill(k).about.as_str());
            let written = self.templates.questions(&templates::Subject {
                skill: &skill.name,
                kind: skill.kind,
                about,
                job_role,
                context: skill.context.as_deref(),
            });
            sourcing.templates = written.len();
            candidates.extend(written.into_iter().map(|question| Candidate {
                question,
                origin: Origin::Template,
                relevance: 1.0,
            }));
            if let Some(parent) = skill.parent {
                let inherited = self.searched(parent, context, Origin::Parent)?;
                sourcing.parent = inherited.len();
                candidates.extend(inherited);
            }
        }
        Ok((Found { candidates }, sourcing))
    }
}
