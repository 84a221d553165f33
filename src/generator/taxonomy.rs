//! The skill taxonomy (`data/skills/*.json`): canonical names, families, kinds, parents, and
//! the spellings job ads use, found as whole words in one pass over the text (Aho-Corasick).

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use super::family::{Families, Family};
use super::roles::{self, Roles};
use super::text::{stands_alone, stem, tokens, Token};

/// What sort of skill it is; scenario questions are written differently for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillKind {
    /// A programming, query or markup language.
    Language,
    /// A framework or library used in code.
    Framework,
    /// A product, platform or service someone operates.
    Tool,
    /// An activity or method someone performs.
    Practice,
    /// A body of knowledge, standard, regulation or concept.
    Knowledge,
    /// A soft skill or aptitude.
    Soft,
}

impl SkillKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SkillKind::Language => "language",
            SkillKind::Framework => "framework",
            SkillKind::Tool => "tool",
            SkillKind::Practice => "practice",
            SkillKind::Knowledge => "knowledge",
            SkillKind::Soft => "soft",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSkill {
    name: String,
    family: String,
    category: String,
    kind: SkillKind,
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    programming: bool,
    about: String,
    #[serde(default)]
    aliases: Vec<String>,
    /// Spellings matched case-sensitively: in lower case they are ordinary words.
    #[serde(default)]
    exact: Vec<String>,
    #[serde(default)]
    any_field: bool,
}

#[derive(Debug, Deserialize)]
struct SkillsFile {
    skills: Vec<RawSkill>,
}

#[derive(Debug, Clone)]
pub struct Skill {
    pub name: String,
    pub family: Family,
    /// The section its questions go in.
    pub category: String,
    pub kind: SkillKind,
    /// The broader skill whose questions are the next best thing to test this one.
    pub parent: Option<usize>,
    /// Written as code: its questions may include coding.
    pub programming: bool,
    /// What it is, as a short noun phrase.
    pub about: String,
    pub aliases: Vec<String>,
    /// Among the most asked-for skills (`data/top_skills.json`): an ad naming it most likely
    /// wants it tested.
    pub popular: bool,
    /// A practice any field's jobs may ask for (budgeting, negotiation, root cause analysis):
    /// an ad of any family that names it asks for it, whatever the skill's own family.
    pub any_field: bool,
}

/// The most asked-for skills, most asked-for first (`data/top_skills.json`).
pub fn top_skills() -> Vec<String> {
    #[derive(Deserialize)]
    struct Top {
        skills: Vec<String>,
    }
    let top: Top = serde_json::from_str(include_str!("../../data/top_skills.json"))
        .expect("data/top_skills.json is valid (checked by tests)");
    top.skills
}

/// The taxonomy files, compiled into the binary.
pub const PARTS: [(&str, &str); 6] = [
    (
        "engineering.json",
        include_str!("../../data/skills/engineering.json"),
    ),
    (
        "infrastructure.json",
        include_str!("../../data/skills/infrastructure.json"),
    ),
    ("data.json", include_str!("../../data/skills/data.json")),
    (
        "business.json",
        include_str!("../../data/skills/business.json"),
    ),
    (
        "professional.json",
        include_str!("../../data/skills/professional.json"),
    ),
    (
        "industry.json",
        include_str!("../../data/skills/industry.json"),
    ),
];

/// A spelling to look for, and whose it is.
#[derive(Debug, Clone)]
struct Pattern {
    skill: usize,
    /// Must match with this exact case.
    exact: bool,
}

/// A spelling of two to four words, matched by the stems of its words in any order within a
/// few words of each other: "reconcile bank accounts" names Account Reconciliation, "manage the
/// CEO's calendar" Calendar Management.
#[derive(Debug, Clone)]
struct LoosePattern {
    skill: usize,
    /// The stems of its words, as ids of `Taxonomy::stem_ids`.
    stems: Vec<u32>,
}

/// The loose patterns, and the indexes that find them from a text's words.
#[derive(Debug, Default)]
struct LooseIndex {
    patterns: Vec<LoosePattern>,
    /// An id for every stem a loose pattern has (compared as numbers while searching).
    stem_ids: HashMap<String, u32>,
    /// Patterns by the id of their rarest stem.
    by_stem: HashMap<u32, Vec<usize>>,
}

#[derive(Debug)]
pub struct Taxonomy {
    families: Families,
    /// Role profiles: what a common title asks for whatever the ad's words.
    roles: Roles,
    loose: LooseIndex,
    skills: Vec<Skill>,
    by_spelling: HashMap<String, usize>,
    /// Case-insensitive spellings (ASCII case folding keeps byte offsets of the original).
    folded: AhoCorasick,
    folded_patterns: Vec<Pattern>,
    /// Case-sensitive spellings.
    exact: AhoCorasick,
    exact_patterns: Vec<Pattern>,
}

/// A skill found in a text: which, and the byte range of each mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub skill: usize,
    pub spans: Vec<(usize, usize)>,
}

/// An automaton over `spellings`. Case-insensitive ones are built from their ASCII lower
/// case and searched in the text's (same byte offsets): far cheaper to build than one that folds
/// case itself.
fn automaton(spellings: &[String], fold_case: bool) -> anyhow::Result<AhoCorasick> {
    let mut builder = AhoCorasickBuilder::new();
    builder.match_kind(MatchKind::Standard);
    Ok(if fold_case {
        builder.build(spellings.iter().map(|s| s.to_ascii_lowercase()))?
    } else {
        builder.build(spellings)?
    })
}

/// Whether an exact spelling found at `start` opens its sentence and reads as an ordinary
/// word there ("Go beyond ...", "Swift decisions ..."), rather than as a list item.
fn sentence_initial_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start]
        .chars()
        .rev()
        .find(|c| !matches!(c, ' ' | '\t' | '*' | '-' | '•' | '·' | '>' | '"' | '\''));
    let opens = before.is_none_or(|c| matches!(c, '.' | '!' | '?' | '\n' | ':' | ';'));
    if !opens {
        return false;
    }
    let rest = &text[end..];
    let listed = rest.starts_with(',')
        || rest.starts_with('/')
        || rest.starts_with(')')
        || rest.trim_start_matches([' ', '\t']).starts_with('\n')
        || rest.trim().is_empty()
        || rest.starts_with(" and ")
        || rest.starts_with(" or ")
        || rest.starts_with(" (");
    !listed
}

/// Whether `text[start..end]` is joined to a word before or after it by a hyphen.
fn hyphenated(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().rev().take(2).collect::<Vec<_>>();
    let after = text[end..].chars().take(2).collect::<Vec<_>>();
    let joined = |pair: &[char]| pair.len() == 2 && pair[0] == '-' && pair[1].is_alphanumeric();
    joined(&before) || joined(&after)
}

/// Words that, right before a one-letter name, make it a label: "Series C", "Grade C".
const LABEL_WORDS: &[&str] = &[
    "series", "grade", "vitamin", "class", "type", "category", "plan", "schedule", "section",
    "tier", "level", "band", "part", "phase", "round", "block", "unit", "wing", "option",
];

/// Whether a one-letter name at `start` follows a label word ("Series C").
fn labelled(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end();
    let word = before
        .rsplit(|c: char| !c.is_alphabetic())
        .next()
        .unwrap_or_default();
    LABEL_WORDS
        .iter()
        .any(|label| label.eq_ignore_ascii_case(word))
}

/// Words too common in ads to anchor a loose match on their own (compared by stem).
const COMMON_WORDS: &[&str] = &[
    "management",
    "development",
    "design",
    "test",
    "analysis",
    "plan",
    "service",
    "system",
    "data",
    "process",
    "support",
    "operations",
    "engineering",
    "report",
    "control",
    "security",
    "business",
    "product",
    "project",
    "customer",
    "client",
    "team",
    "work",
    "skill",
    "experience",
    "knowledge",
    "ability",
    "programming",
    "application",
    "technical",
    "technology",
    "tool",
    "software",
    "quality",
    "performance",
    "improvement",
    "communication",
    "strategy",
    "marketing",
    "sales",
    "finance",
    "account",
    "build",
    "create",
    "use",
];

fn loose_patterns(skills: &[Skill]) -> LooseIndex {
    let common: Vec<String> = COMMON_WORDS.iter().map(|w| stem(w)).collect();
    let mut loose = Vec::new();
    let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
    let mut ambiguous: HashSet<Vec<String>> = HashSet::new();
    for (index, skill) in skills.iter().enumerate() {
        for spelling in std::iter::once(&skill.name).chain(&skill.aliases) {
            let mut stems: Vec<String> = tokens(spelling, 0, spelling.len())
                .into_iter()
                .map(|t| t.stem)
                .collect();
            let words = stems.len();
            if !(2..=4).contains(&words) || stems.iter().any(|s| s.len() < 3) {
                continue;
            }
            // Mostly small words ("on time in full"): what is left is too little to find
            // scattered ("full time").
            let written = spelling
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .count();
            if words * 2 <= written {
                continue;
            }
            if stems.iter().all(|s| common.contains(s)) {
                continue;
            }
            stems.sort();
            stems.dedup();
            if stems.len() != words {
                continue;
            }
            match seen.get(&stems) {
                Some(&other) if other != index => {
                    ambiguous.insert(stems.clone());
                }
                Some(_) => continue,
                None => {
                    seen.insert(stems.clone(), index);
                }
            }
            loose.push((index, stems));
        }
    }
    // Two skills with the same words in another order ("Data Governance" / "governance of
    // data" rarely, but "Sales Operations" / "Operations Sales" might): neither is loose.
    loose.retain(|(_, stems)| !ambiguous.contains(stems));
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for (_, stems) in &loose {
        for stem in stems {
            *frequency.entry(stem).or_default() += 1;
        }
    }
    let mut index = LooseIndex::default();
    for (skill, stems) in &loose {
        let rarest = stems
            .iter()
            .min_by_key(|s| (frequency[s.as_str()], s.len()))
            .expect("two or more stems");
        let mut id_of = |stem: &String| {
            let next = index.stem_ids.len() as u32;
            *index.stem_ids.entry(stem.clone()).or_insert(next)
        };
        let rarest = id_of(rarest);
        let stems = stems.iter().map(&mut id_of).collect();
        index
            .by_stem
            .entry(rarest)
            .or_default()
            .push(index.patterns.len());
        index.patterns.push(LoosePattern {
            skill: *skill,
            stems,
        });
    }
    index
}

impl Taxonomy {
    pub fn from_parts(families: Families, parts: &[(&str, &str)]) -> anyhow::Result<Taxonomy> {
        let mut raw = Vec::new();
        for (name, json) in parts {
            let file: SkillsFile =
                serde_json::from_str(json).map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
            raw.extend(file.skills.into_iter().map(|skill| (*name, skill)));
        }
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for (index, (part, skill)) in raw.iter().enumerate() {
            anyhow::ensure!(
                by_name.insert(skill.name.to_lowercase(), index).is_none(),
                "{part}: skill {} is listed twice",
                skill.name
            );
        }
        let mut skills = Vec::with_capacity(raw.len());
        let mut by_spelling: HashMap<String, usize> = by_name.clone();
        let mut folded_spellings = Vec::new();
        let mut folded_patterns = Vec::new();
        let mut exact_spellings = Vec::new();
        let mut exact_patterns = Vec::new();
        for (index, (part, skill)) in raw.iter().enumerate() {
            let family = families.parse(&skill.family).ok_or_else(|| {
                anyhow::anyhow!(
                    "{part}: skill {} has unknown family {}",
                    skill.name,
                    skill.family
                )
            })?;
            let parent = match &skill.parent {
                None => None,
                Some(parent) => Some(*by_name.get(&parent.to_lowercase()).ok_or_else(|| {
                    anyhow::anyhow!("{part}: skill {} has unknown parent {parent}", skill.name)
                })?),
            };
            anyhow::ensure!(
                parent != Some(index),
                "{part}: skill {} is its own parent",
                skill.name
            );
            for exact in &skill.exact {
                anyhow::ensure!(
                    exact == &skill.name || skill.aliases.contains(exact),
                    "{part}: exact spelling {exact} of {} is not one of its spellings",
                    skill.name
                );
            }
            let mut own: Vec<String> = Vec::new();
            for spelling in std::iter::once(&skill.name).chain(&skill.aliases) {
                let key = spelling.trim().to_lowercase();
                anyhow::ensure!(
                    spelling.chars().any(char::is_alphanumeric),
                    "{part}: spelling {spelling:?} of {} has no letters or digits",
                    skill.name
                );
                if let Some(&other) = by_spelling.get(&key) {
                    anyhow::ensure!(
                        other == index,
                        "{part}: spelling {spelling:?} of {} also names {}",
                        skill.name,
                        raw[other].1.name
                    );
                }
                by_spelling.insert(key, index);
                let exact = skill.exact.contains(spelling) || spelling.chars().count() <= 2;
                if own.contains(spelling) {
                    continue;
                }
                own.push(spelling.clone());
                if exact {
                    exact_spellings.push(spelling.clone());
                    exact_patterns.push(Pattern {
                        skill: index,
                        exact,
                    });
                } else {
                    folded_spellings.push(spelling.clone());
                    folded_patterns.push(Pattern {
                        skill: index,
                        exact,
                    });
                }
            }
            skills.push(Skill {
                name: skill.name.clone(),
                family,
                category: skill.category.clone(),
                kind: skill.kind,
                parent,
                programming: skill.programming,
                about: skill.about.clone(),
                aliases: skill.aliases.clone(),
                popular: false,
                any_field: skill.any_field,
            });
        }
        for (index, skill) in skills.iter().enumerate() {
            let mut seen = vec![index];
            let mut at = skill.parent;
            while let Some(parent) = at {
                anyhow::ensure!(
                    !seen.contains(&parent),
                    "skill {} has a parent cycle",
                    skill.name
                );
                seen.push(parent);
                at = skills[parent].parent;
            }
        }
        // The large automaton builds on a thread of its own while the loose patterns and the
        // small automaton build here: the load takes the longer of the two, not their sum.
        let (folded, exact, loose) = std::thread::scope(|scope| {
            let folded = scope.spawn(|| automaton(&folded_spellings, true));
            let exact = automaton(&exact_spellings, false);
            let loose = loose_patterns(&skills);
            let folded = folded.join().expect("building the automaton panicked");
            (folded, exact, loose)
        });
        Ok(Taxonomy {
            families,
            roles: Roles::default(),
            loose,
            skills,
            by_spelling,
            folded: folded?,
            folded_patterns,
            exact: exact?,
            exact_patterns,
        })
    }

    /// The taxonomy shipped in `data/`.
    pub fn embedded() -> Taxonomy {
        let mut taxonomy = Taxonomy::from_parts(Families::embedded(), &PARTS)
            .expect("data/skills/*.json is valid (checked by tests)");
        for name in top_skills() {
            if let Some(index) = taxonomy.lookup(&name) {
                taxonomy.skills[index].popular = true;
            }
        }
        taxonomy.roles = Roles::from_parts(&taxonomy, &roles::PARTS)
            .expect("data/roles/*.json is valid (checked by tests)");
        taxonomy
    }

    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    pub fn families(&self) -> &Families {
        &self.families
    }

    pub fn skills(&self) -> &[Skill] {
        &self.skills
    }

    pub fn skill(&self, index: usize) -> &Skill {
        &self.skills[index]
    }

    /// Whether a job of the `role` family may ask for the skill `index`: its family is related
    /// to the role's, or it is a practice of any field.
    pub fn fits(&self, role: Family, index: usize) -> bool {
        let skill = &self.skills[index];
        skill.any_field || self.families.allows(role, skill.family)
    }

    /// The skill a name or alias stands for, ignoring case.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.by_spelling.get(&name.trim().to_lowercase()).copied()
    }

    /// The skill and its ancestors, nearest first.
    pub fn ancestors(&self, skill: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.skills[skill].parent, |s| self.skills[*s].parent)
    }

    /// Every skill named in `text`, with where. Where spellings overlap, the longest wins
    /// ("React Native" over "React", "Spring Boot" over "Spring"), except that a product named
    /// inside a practice's spelling counts as well ("financial modelling in Excel" names Excel
    /// too).
    pub fn find(&self, text: &str) -> Vec<Mention> {
        let product = |skill: usize| {
            matches!(
                self.skills[skill].kind,
                SkillKind::Tool | SkillKind::Framework | SkillKind::Language
            )
        };
        // (start, end, skill, matched case-insensitively: a spelling of 3 or more characters)
        let mut found: Vec<(usize, usize, usize, bool)> = Vec::new();
        let lowered = text.to_ascii_lowercase();
        let mut collect = |automaton: &AhoCorasick, patterns: &[Pattern], haystack: &str| {
            for hit in automaton.find_overlapping_iter(haystack) {
                let pattern = &patterns[hit.pattern().as_usize()];
                let (start, end) = (hit.start(), hit.end());
                if !stands_alone(text, start, end) {
                    continue;
                }
                if pattern.exact && sentence_initial_word(text, start, end) {
                    continue;
                }
                if end - start == 1 && labelled(text, start) {
                    continue;
                }
                found.push((start, end, pattern.skill, !pattern.exact));
            }
        };
        collect(&self.folded, &self.folded_patterns, &lowered);
        collect(&self.exact, &self.exact_patterns, text);
        // Longest first, so a span inside an accepted longer one can be dropped.
        found.sort_by_key(|&(start, end, skill, _)| (std::cmp::Reverse(end - start), start, skill));
        let mut kept: Vec<(usize, usize, usize)> = Vec::with_capacity(found.len());
        for (from, to, skill, folded) in found {
            let inside = kept.iter().any(|&(start, end, outer)| {
                start <= from
                    && to <= end
                    && (start, end) != (from, to)
                    && !(folded && product(skill) && !product(outer))
            });
            let repeated = kept.contains(&(from, to, skill));
            if !inside && !repeated {
                kept.push((from, to, skill));
            }
        }
        let mut by_skill: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        for (start, end, skill) in kept {
            by_skill.entry(skill).or_default().push((start, end));
        }
        let mut mentions: Vec<Mention> = by_skill
            .into_iter()
            .map(|(skill, mut spans)| {
                spans.sort_unstable();
                spans.dedup();
                Mention { skill, spans }
            })
            .collect();
        mentions.sort_by_key(|m| (m.spans[0], m.skill));
        mentions
    }

    /// Skills named loosely in the sentences `units` (byte ranges of `text`): the words of a
    /// multi-word spelling, by stem, in any order, close together, and not inside a spelling
    /// already found exactly (`exact`).
    pub fn find_loose(
        &self,
        text: &str,
        units: &[(usize, usize)],
        exact: &[Mention],
    ) -> Vec<Mention> {
        let taken: Vec<(usize, usize)> = exact.iter().flat_map(|m| m.spans.clone()).collect();
        let known: HashSet<usize> = exact.iter().map(|m| m.skill).collect();
        let mut by_skill: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        for &(start, end) in units {
            // A piece of a hyphenated word ("in-house", "full-time") is not a word of its own.
            let words: Vec<Token> = tokens(text, start, end)
                .into_iter()
                .filter(|t| !hyphenated(text, t.start, t.end))
                .collect();
            // Each word's stem by id; a stem no pattern has cannot match.
            let ids: Vec<Option<u32>> = words
                .iter()
                .map(|w| self.loose.stem_ids.get(&w.stem).copied())
                .collect();
            for (at, id) in ids.iter().enumerate() {
                let Some(patterns) = id.and_then(|id| self.loose.by_stem.get(&id)) else {
                    continue;
                };
                for &pattern in patterns {
                    let pattern = &self.loose.patterns[pattern];
                    if known.contains(&pattern.skill) {
                        continue;
                    }
                    let reach = pattern.stems.len() + 2;
                    let from = at.saturating_sub(reach);
                    let to = (at + reach + 1).min(words.len());
                    let mut positions = Vec::with_capacity(pattern.stems.len());
                    for &stem in &pattern.stems {
                        match (from..to).find(|&i| ids[i] == Some(stem) && !positions.contains(&i))
                        {
                            Some(i) => positions.push(i),
                            None => break,
                        }
                    }
                    if positions.len() != pattern.stems.len() {
                        continue;
                    }
                    let first = *positions.iter().min().unwrap_or(&at);
                    let last = *positions.iter().max().unwrap_or(&at);
                    if last - first > pattern.stems.len() + 2 {
                        continue;
                    }
                    // Between the words no other name ("Sync and QuuxKit for offline
                    // storage" is not "offline sync"): nothing capitalised but a possessive
                    // ("manage the CEO's calendar").
                    let joined = (first..=last).all(|i| {
                        positions.contains(&i)
                            || !text[words[i].start..].starts_with(char::is_uppercase)
                            || ["'s", "’s"].iter().any(|p| {
                                text[words[i].end..].starts_with(p)
                                    || text[words[i].start..words[i].end].ends_with(p)
                            })
                    });
                    if !joined {
                        continue;
                    }
                    let span = (words[first].start, words[last].end);
                    let overlaps = taken.iter().any(|&(s, e)| {
                        positions
                            .iter()
                            .any(|&i| words[i].start < e && s < words[i].end)
                    });
                    if !overlaps {
                        by_skill.entry(pattern.skill).or_default().push(span);
                    }
                }
            }
        }
        let mut mentions: Vec<Mention> = by_skill
            .into_iter()
            .map(|(skill, mut spans)| {
                spans.sort_unstable();
                spans.dedup();
                Mention { skill, spans }
            })
            .collect();
        mentions.sort_by_key(|m| (m.spans[0], m.skill));
        mentions
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

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
    fn the_taxonomy_is_large_spans_every_family_and_its_data_holds_together() {
        let taxonomy = Taxonomy::embedded();
        assert!(
            taxonomy.skills().len() >= 1_500,
            "{} skills",
            taxonomy.skills().len()
        );
        let families = taxonomy.families();
        for (family, info) in families.all() {
            let count = taxonomy
                .skills()
                .iter()
                .filter(|s| s.family == family)
                .count();
            assert!(count >= 10, "family {} has {count} skills", info.id);
        }
        // No spelling names two skills: every name and alias looks up its own skill.
        let mut spellings = HashSet::new();
        for (index, skill) in taxonomy.skills().iter().enumerate() {
            for spelling in std::iter::once(&skill.name).chain(&skill.aliases) {
                assert!(
                    spellings.insert(spelling.to_lowercase()),
                    "{spelling} is shared"
                );
                assert_eq!(taxonomy.lookup(spelling), Some(index), "{spelling}");
            }
            assert!(
                !skill.about.trim().is_empty(),
                "{} has no about",
                skill.name
            );
            if matches!(skill.kind, SkillKind::Tool | SkillKind::Framework) {
                assert!(skill.parent.is_some(), "{} has no parent", skill.name);
            }
            if skill.kind == SkillKind::Soft {
                assert!(families.info(skill.family).cross_cutting, "{}", skill.name);
            }
        }
        let with_parent = taxonomy
            .skills()
            .iter()
            .filter(|s| s.parent.is_some())
            .count();
        assert!(with_parent >= 300, "{with_parent} skills have a parent");
    }

    #[test]
    fn broken_taxonomy_files_are_refused_with_a_reason() {
        let families = || Families::embedded();
        let skill = |name: &str, family: &str, parent: &str, aliases: &str| {
            format!(
                r#"{{"name": "{name}", "family": "{family}", "category": "C", "kind": "tool",
                    {parent} "about": "a thing", "aliases": [{aliases}]}}"#
            )
        };
        let file = |skills: &[String]| format!(r#"{{"skills": [{}]}}"#, skills.join(","));
        let shared = file(&[
            skill("Alpha", "software", "", r#""shared one""#),
            skill("Beta", "software", "", r#""Shared One""#),
        ]);
        let error = Taxonomy::from_parts(families(), &[("x.json", &shared)]).unwrap_err();
        assert!(error.to_string().contains("also names"), "{error}");
        let orphan = file(&[skill("Alpha", "software", r#""parent": "Nowhere","#, "")]);
        let error = Taxonomy::from_parts(families(), &[("x.json", &orphan)]).unwrap_err();
        assert!(error.to_string().contains("unknown parent"), "{error}");
        let stray = file(&[skill("Alpha", "basket_weaving", "", "")]);
        let error = Taxonomy::from_parts(families(), &[("x.json", &stray)]).unwrap_err();
        assert!(error.to_string().contains("unknown family"), "{error}");
        let cycle = file(&[
            skill("Alpha", "software", r#""parent": "Beta","#, ""),
            skill("Beta", "software", r#""parent": "Alpha","#, ""),
        ]);
        let error = Taxonomy::from_parts(families(), &[("x.json", &cycle)]).unwrap_err();
        assert!(error.to_string().contains("cycle"), "{error}");
    }

    #[test]
    fn names_are_found_as_whole_words_only() {
        assert!(!found("We want good people").contains(&"Go".to_owned()));
        assert!(found("Backend in Go and Golang").contains(&"Go".to_owned()));
        assert!(!found("Go beyond the brief.").contains(&"Go".to_owned()));
        let js = found("Strong JavaScript skills");
        assert!(js.contains(&"JavaScript".to_owned()) && !js.contains(&"Java".to_owned()));
        let cpp = found("Modern C++ and C#");
        assert!(cpp.contains(&"C++".to_owned()) && cpp.contains(&"C#".to_owned()));
        assert!(!cpp.contains(&"C".to_owned()), "{cpp:?}");
        assert!(!found("R&D budget").contains(&"R".to_owned()));
        assert!(!found("C-suite stakeholders").contains(&"C".to_owned()));
        assert!(!found("You will excel at this").contains(&"Excel".to_owned()));
    }

    #[test]
    fn the_longest_spelling_wins_where_spellings_overlap() {
        let skills = found("Mobile apps in React Native; services in Spring Boot");
        assert!(skills.contains(&"React Native".to_owned()), "{skills:?}");
        assert!(!skills.contains(&"React".to_owned()), "{skills:?}");
        assert!(skills.contains(&"Spring Boot".to_owned()), "{skills:?}");
    }

    #[test]
    fn duties_name_skills_loosely_by_their_words() {
        let taxonomy = Taxonomy::embedded();
        let text = "You will reconcile the bank accounts monthly and manage the CEO's calendar.";
        let exact = taxonomy.find(text);
        let loose: Vec<String> = taxonomy
            .find_loose(text, &[(0, text.len())], &exact)
            .into_iter()
            .map(|m| taxonomy.skill(m.skill).name.clone())
            .collect();
        assert!(
            loose.contains(&"Calendar Management".to_owned()),
            "{loose:?}"
        );
        assert!(
            loose.iter().any(|s| s.contains("Reconciliation")),
            "{loose:?}"
        );
    }

    #[test]
    fn aliases_name_their_skill() {
        let text = "k8s, Postgres, CI/CD pipelines, cold calling and .NET";
        let skills = found(text);
        for expected in ["Kubernetes", "PostgreSQL", "CI/CD", "Cold Calling", ".NET"] {
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
