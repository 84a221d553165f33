//! The embedded assessment generator: analysis of the job against a skill taxonomy, a BM25
//! search of the question library per skill, and assembly into sections. No network; an
//! OpenAI-compatible model can refine it (`llm`) but is never needed.

pub mod analysis;
pub mod assembly;
pub mod library;
pub mod llm;
pub mod taxonomy;

use assessment_domain::RequestError;

pub use analysis::{Analysis, RankedSkill, Seniority};
pub use assembly::{AssemblyError, Found};
pub use library::Library;
pub use taxonomy::{Family, Taxonomy};

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

/// The taxonomy and the indexed library, built once per process.
#[derive(Debug)]
pub struct Engine {
    pub taxonomy: Taxonomy,
    pub library: Library,
}

impl Engine {
    pub fn embedded() -> anyhow::Result<Engine> {
        let taxonomy = Taxonomy::embedded();
        let library = Library::embedded(&taxonomy)?;
        Ok(Engine { taxonomy, library })
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
}
