//! The skill taxonomy (`data/skills.json`): canonical names, categories, fields, and the
//! spellings job ads use, with whole-word matching.

use std::collections::HashMap;

use serde::Deserialize;

/// A field of work. Skills belong to one; a role belongs to one, and takes skills from its own
/// and related fields only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Software,
    Data,
    Devops,
    Security,
    Qa,
    Design,
    Product,
    Sales,
    Marketing,
    Support,
    Finance,
    Hr,
    Operations,
    Healthcare,
    /// Aptitude and soft skills: any role may test them.
    General,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Software => "software engineering",
            Family::Data => "data",
            Family::Devops => "devops and cloud",
            Family::Security => "security",
            Family::Qa => "quality assurance",
            Family::Design => "design",
            Family::Product => "product and project management",
            Family::Sales => "sales",
            Family::Marketing => "marketing",
            Family::Support => "customer support",
            Family::Finance => "finance",
            Family::Hr => "human resources",
            Family::Operations => "operations",
            Family::Healthcare => "healthcare",
            Family::General => "general",
        }
    }

    /// Fields whose skills a role of this field may reasonably be tested on.
    pub fn related(self) -> &'static [Family] {
        use Family::*;
        match self {
            Software => &[
                Software, Data, Devops, Security, Qa, Design, Product, General,
            ],
            Data => &[
                Data, Software, Devops, Product, Healthcare, Finance, General,
            ],
            Devops => &[Devops, Software, Security, Data, Qa, General],
            Security => &[Security, Devops, Software, Data, General],
            Qa => &[Qa, Software, Devops, Product, General],
            Design => &[Design, Software, Product, Marketing, General],
            Product => &[Product, Design, Data, Software, Marketing, General],
            Sales => &[Sales, Marketing, Support, Data, General],
            Marketing => &[Marketing, Sales, Data, Design, General],
            Support => &[Support, Sales, Product, Devops, Security, General],
            Finance => &[Finance, Data, Product, General],
            Hr => &[Hr, Sales, Product, General],
            Operations => &[Operations, Sales, Data, Finance, Product, General],
            Healthcare => &[Healthcare, General],
            General => &[
                Software, Data, Devops, Security, Qa, Design, Product, Sales, Marketing, Support,
                Finance, Hr, Operations, Healthcare, General,
            ],
        }
    }

    /// Fields whose roles write code, and so get a coding section.
    pub fn writes_code(self) -> bool {
        matches!(
            self,
            Family::Software | Family::Data | Family::Devops | Family::Qa
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Skill {
    pub name: String,
    pub category: String,
    pub family: Family,
    /// A programming language or framework: its questions include coding.
    pub programming: bool,
    pub aliases: Vec<String>,
}

#[derive(Deserialize)]
struct SkillsFile {
    skills: Vec<Skill>,
}

/// Words that are also skill names; as a skill they must be written capitalized ("Go", "Swift",
/// "Excel"), or "go ahead" and "excel at" would count.
const ORDINARY_WORDS: &[&str] = &[
    "go", "r", "c", "swift", "rust", "ruby", "spring", "express", "node", "rails", "dart", "lean",
    "epic", "chef", "puppet", "spark", "sketch", "flutter", "excel", "jest", "lambda",
];

/// A spelling to look for, and how.
#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    case_sensitive: bool,
    skill: usize,
}

#[derive(Debug)]
pub struct Taxonomy {
    skills: Vec<Skill>,
    by_name: HashMap<String, usize>,
    patterns: Vec<Pattern>,
}

/// A skill found in a text: which, and the byte offsets of each mention.
#[derive(Debug, Clone)]
pub struct Mention {
    pub skill: usize,
    pub offsets: Vec<usize>,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Offsets where `needle` stands in `haystack` as a whole word: not inside a longer word, not
/// followed by `+` or `#` ("C" is not in "C++"), not joined by `&` ("R" is not in "R&D").
pub fn whole_word_offsets(haystack: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let mut start = 0;
    while let Some(offset) = haystack[start..].find(needle) {
        let at = start + offset;
        let end = at + needle.len();
        let before = haystack[..at].chars().next_back();
        let after = haystack[end..].chars().next();
        let joins = |c: char| is_word_char(c) || c == '&';
        let needle_starts_word = needle.chars().next().is_some_and(is_word_char);
        let needle_ends_word = needle.chars().next_back().is_some_and(is_word_char);
        let starts_ok = !needle_starts_word || before.is_none_or(|c| !joins(c));
        let ends_ok = !needle_ends_word || after.is_none_or(|c| !joins(c) && c != '+' && c != '#');
        if starts_ok && ends_ok {
            found.push(at);
        }
        start = at + needle.chars().next().map_or(1, char::len_utf8);
    }
    found
}

impl Taxonomy {
    pub fn from_json(json: &str) -> anyhow::Result<Taxonomy> {
        let file: SkillsFile = serde_json::from_str(json)?;
        let mut by_name = HashMap::new();
        let mut patterns = Vec::new();
        for (index, skill) in file.skills.iter().enumerate() {
            anyhow::ensure!(
                by_name.insert(skill.name.to_lowercase(), index).is_none(),
                "skill {} is listed twice",
                skill.name
            );
            for spelling in std::iter::once(&skill.name).chain(&skill.aliases) {
                let lower = spelling.to_lowercase();
                let case_sensitive =
                    spelling.chars().count() <= 2 || ORDINARY_WORDS.contains(&lower.as_str());
                patterns.push(Pattern {
                    text: if case_sensitive {
                        spelling.clone()
                    } else {
                        lower
                    },
                    case_sensitive,
                    skill: index,
                });
            }
        }
        for skill in &file.skills {
            for alias in &skill.aliases {
                if let Some(&other) = by_name.get(&alias.to_lowercase()) {
                    anyhow::ensure!(
                        file.skills[other].name == skill.name,
                        "alias {alias} of {} is the name of another skill",
                        skill.name
                    );
                }
            }
        }
        Ok(Taxonomy {
            skills: file.skills,
            by_name,
            patterns,
        })
    }

    /// The taxonomy shipped in `data/skills.json`.
    pub fn embedded() -> Taxonomy {
        Taxonomy::from_json(include_str!("../../data/skills.json"))
            .expect("data/skills.json is valid (checked by tests)")
    }

    pub fn skills(&self) -> &[Skill] {
        &self.skills
    }

    pub fn skill(&self, index: usize) -> &Skill {
        &self.skills[index]
    }

    /// The skill a name or alias stands for, ignoring case.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        let lower = name.trim().to_lowercase();
        self.by_name.get(&lower).copied().or_else(|| {
            self.patterns
                .iter()
                .find(|p| p.text.to_lowercase() == lower)
                .map(|p| p.skill)
        })
    }

    /// Every skill named in `text`, with where.
    pub fn find(&self, text: &str) -> Vec<Mention> {
        let lower = text.to_lowercase();
        let mut by_skill: HashMap<usize, Vec<usize>> = HashMap::new();
        for pattern in &self.patterns {
            let haystack = if pattern.case_sensitive { text } else { &lower };
            let offsets = whole_word_offsets(haystack, &pattern.text);
            if !offsets.is_empty() {
                by_skill.entry(pattern.skill).or_default().extend(offsets);
            }
        }
        let mut mentions: Vec<Mention> = by_skill
            .into_iter()
            .map(|(skill, mut offsets)| {
                offsets.sort_unstable();
                offsets.dedup();
                Mention { skill, offsets }
            })
            .collect();
        mentions.sort_by_key(|m| (m.offsets[0], m.skill));
        mentions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let taxonomy = Taxonomy::embedded();
        taxonomy
            .find(text)
            .into_iter()
            .map(|m| taxonomy.skill(m.skill).name.clone())
            .collect()
    }

    #[test]
    fn the_taxonomy_is_large_and_spans_every_field() {
        let taxonomy = Taxonomy::embedded();
        assert!(taxonomy.skills().len() >= 150);
        for family in Family::General.related() {
            assert!(
                taxonomy.skills().iter().any(|s| s.family == *family),
                "no skill in {family:?}"
            );
        }
    }

    #[test]
    fn names_are_found_as_whole_words_only() {
        assert!(!found("We want good people").contains(&"Go".to_owned()));
        assert!(found("Backend in Go and Golang").contains(&"Go".to_owned()));
        let js = found("Strong JavaScript skills");
        assert!(js.contains(&"JavaScript".to_owned()) && !js.contains(&"Java".to_owned()));
        let cpp = found("Modern C++ and C#");
        assert!(cpp.contains(&"C++".to_owned()) && cpp.contains(&"C#".to_owned()));
        assert!(!cpp.contains(&"C".to_owned()), "{cpp:?}");
        assert!(!found("R&D budget").contains(&"R".to_owned()));
        assert!(!found("You will excel at this").contains(&"Excel".to_owned()));
    }

    #[test]
    fn aliases_name_their_skill() {
        let text = "k8s, Postgres, CI/CD pipelines, GA4, cold calling and .NET";
        let skills = found(text);
        for expected in [
            "Kubernetes",
            "PostgreSQL",
            "CI/CD",
            "Marketing Analytics",
            "Cold Calling",
            ".NET",
        ] {
            assert!(
                skills.contains(&expected.to_owned()),
                "{expected} not in {skills:?}"
            );
        }
        let taxonomy = Taxonomy::embedded();
        assert_eq!(taxonomy.lookup("k8s"), taxonomy.lookup("Kubernetes"));
        assert!(taxonomy.lookup("basket weaving").is_none());
    }
}
