//! Role profiles (`data/roles/*.json`): for a common job title, the skills a recruiter expects
//! its assessment to test even where the ad words them differently or only implies them (a
//! nurse's patient care, an SDR's prospecting). The title's role also names the job's field.
//! The analysis adds a core skill the text does not name when the ad uses its words, ranked
//! below what the text names; one the ad has no word for is not invented.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Deserialize;

use super::family::{title_head, Family};
use super::taxonomy::Taxonomy;
use super::text::stands_alone;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    /// The role's field where its core skills' majority would mislead.
    #[serde(default)]
    family: Option<String>,
    titles: Vec<String>,
    core: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    roles: Vec<RawRole>,
}

/// The role files, compiled into the binary.
pub const PARTS: [(&str, &str); 5] = [
    (
        "engineering.json",
        include_str!("../../data/roles/engineering.json"),
    ),
    (
        "infrastructure.json",
        include_str!("../../data/roles/infrastructure.json"),
    ),
    (
        "business.json",
        include_str!("../../data/roles/business.json"),
    ),
    (
        "professional.json",
        include_str!("../../data/roles/professional.json"),
    ),
    (
        "industry.json",
        include_str!("../../data/roles/industry.json"),
    ),
];

/// Most core skills one role lists: a profile names the essentials, not a syllabus.
pub const MAX_CORE: usize = 8;

#[derive(Debug, Clone)]
pub struct Role {
    /// Lower-case title phrases, each found as whole words in a job title.
    pub titles: Vec<String>,
    /// Taxonomy indexes, most important first.
    pub core: Vec<usize>,
    /// The field the role belongs to: as given, or that of most of its core skills (outside
    /// office tools and soft skills), the first one's on a tie.
    pub family: Option<Family>,
}

#[derive(Debug, Default)]
pub struct Roles {
    list: Vec<Role>,
    /// Every title phrase, and whose: one pass over a title finds them all.
    phrases: Option<AhoCorasick>,
    owners: Vec<usize>,
}

impl Roles {
    /// Reads role files against the taxonomy they name skills of. Refused: an unknown skill, a
    /// title phrase listed twice, a role without titles or with too many core skills. (A core
    /// skill outside the field of the job is left out when a job is read.)
    pub fn from_parts(taxonomy: &Taxonomy, parts: &[(&str, &str)]) -> anyhow::Result<Roles> {
        let mut list = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        // Every title phrase, and the index of its role.
        let mut spellings = Vec::new();
        let mut owners = Vec::new();
        for (part, json) in parts {
            let file: RolesFile =
                serde_json::from_str(json).map_err(|error| anyhow::anyhow!("{part}: {error}"))?;
            for raw in file.roles {
                let first = raw.titles.first().cloned().unwrap_or_default();
                anyhow::ensure!(!first.trim().is_empty(), "{part}: a role has no title");
                anyhow::ensure!(
                    (1..=MAX_CORE).contains(&raw.core.len()),
                    "{part}: role {first} lists {} core skills (1 to {MAX_CORE})",
                    raw.core.len()
                );
                let mut titles = Vec::with_capacity(raw.titles.len());
                for title in &raw.titles {
                    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
                    let key = title.to_lowercase();
                    anyhow::ensure!(!key.is_empty(), "{part}: role {first} has an empty title");
                    if let Some(other) = seen.insert(key.clone(), first.clone()) {
                        anyhow::bail!(
                            "{part}: title {key:?} of role {first} is also role {other}'s"
                        );
                    }
                    spellings.push(key.clone());
                    owners.push(list.len());
                    titles.push(key);
                }
                let mut core = Vec::with_capacity(raw.core.len());
                for name in &raw.core {
                    let skill = taxonomy.lookup(name).ok_or_else(|| {
                        anyhow::anyhow!("{part}: role {first} names unknown skill {name}")
                    })?;
                    if core.contains(&skill) {
                        continue;
                    }
                    core.push(skill);
                }
                let family = match &raw.family {
                    Some(id) => Some(taxonomy.families().parse(id).ok_or_else(|| {
                        anyhow::anyhow!("{part}: role {first} has unknown family {id}")
                    })?),
                    None => field_of(taxonomy, &core),
                };
                list.push(Role {
                    titles,
                    core,
                    family,
                });
            }
        }
        let phrases = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&spellings)?;
        Ok(Roles {
            list,
            phrases: Some(phrases),
            owners,
        })
    }

    pub fn all(&self) -> &[Role] {
        &self.list
    }

    /// The role a job title names: its phrase with the most words, then the longest, then the
    /// later one, read first in the title proper (before any " - team" or "(location)").
    pub fn of_title(&self, title: &str) -> Option<&Role> {
        let (proper, head) = title_head(title);
        self.best(&head).or_else(|| self.best(&proper))
    }

    /// The role the title's head names, if any.
    pub fn of_title_head(&self, title: &str) -> Option<&Role> {
        let (_, head) = title_head(title);
        self.best(&head)
    }

    fn best(&self, title: &str) -> Option<&Role> {
        let phrases = self.phrases.as_ref()?;
        let mut best: Option<((usize, usize, usize), &Role)> = None;
        for hit in phrases.find_overlapping_iter(title) {
            let (start, end) = (hit.start(), hit.end());
            if !stands_alone(title, start, end) {
                continue;
            }
            let role = &self.list[self.owners[hit.pattern().as_usize()]];
            let phrase = &title[start..end];
            let rank = (phrase.split_whitespace().count(), phrase.len(), start);
            if best.is_none_or(|(b, _)| rank > b) {
                best = Some((rank, role));
            }
        }
        best.map(|(_, role)| role)
    }
}

fn field_of(taxonomy: &Taxonomy, core: &[usize]) -> Option<Family> {
    let families = taxonomy.families();
    let mut counts: Vec<(Family, usize)> = Vec::new();
    for &skill in core {
        let family = taxonomy.skill(skill).family;
        if families.info(family).cross_cutting {
            continue;
        }
        match counts.iter_mut().find(|(f, _)| *f == family) {
            Some((_, count)) => *count += 1,
            None => counts.push((family, 1)),
        }
    }
    // The first of the most counted: `max_by_key` keeps the last maximum, so reverse.
    counts
        .into_iter()
        .rev()
        .max_by_key(|(_, count)| *count)
        .map(|(family, _)| family)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(taxonomy: &Taxonomy, role: &Role) -> Vec<String> {
        role.core
            .iter()
            .map(|&s| taxonomy.skill(s).name.clone())
            .collect()
    }

    #[test]
    fn the_role_profiles_hold_together_and_span_the_families() {
        let taxonomy = Taxonomy::embedded();
        let roles = taxonomy.roles();
        assert!(roles.all().len() >= 200, "{} roles", roles.all().len());
        let families = taxonomy.families();
        let mut covered = std::collections::HashSet::new();
        let mut unsuited = Vec::new();
        for role in roles.all() {
            assert!(role.core.len() >= 3, "{:?}", role.titles);
            // Every core skill suits the role's field.
            if let Some(family) = role.family {
                covered.insert(family);
                for &skill in &role.core {
                    let skill = taxonomy.skill(skill);
                    if !families.allows(family, skill.family) {
                        unsuited.push(format!(
                            "{} ({}): {} ({})",
                            role.titles[0],
                            families.id(family),
                            skill.name,
                            families.id(skill.family)
                        ));
                    }
                }
            }
        }
        assert!(unsuited.is_empty(), "{}", unsuited.join("\n"));
        let jobs = families.all().filter(|(_, f)| !f.cross_cutting).count();
        assert!(
            covered.len() * 10 >= jobs * 9,
            "role titles name {} of {jobs} families",
            covered.len()
        );
    }

    #[test]
    fn a_title_names_its_most_specific_role() {
        let taxonomy = Taxonomy::embedded();
        let roles = taxonomy.roles();
        let core = |title: &str| roles.of_title(title).map(|r| names(&taxonomy, r));
        let nurse = core("Registered Nurse - Night Shift (Leeds)").expect("a nurse role");
        assert!(nurse.contains(&"Patient Care".to_owned()), "{nurse:?}");
        let payable = core("Accounts Payable Clerk").expect("an AP role");
        assert!(
            payable.contains(&"Accounts Payable".to_owned()),
            "{payable:?}"
        );
        assert!(core("Qwerty Wizard").is_none());
    }

    #[test]
    fn broken_role_files_are_refused_with_a_reason() {
        let taxonomy = Taxonomy::embedded();
        let refused = |json: &str| {
            Roles::from_parts(&taxonomy, &[("x.json", json)])
                .unwrap_err()
                .to_string()
        };
        let unknown = r#"{"roles": [{"titles": ["nurse x"], "core": ["Basket Weaving"]}]}"#;
        assert!(refused(unknown).contains("unknown skill"));
        let twice = r#"{"roles": [{"titles": ["nurse x"], "core": ["Patient Care"]},
                                  {"titles": ["Nurse  X"], "core": ["Patient Care"]}]}"#;
        assert!(refused(twice).contains("also role"));
        let empty = r#"{"roles": [{"titles": [], "core": ["Patient Care"]}]}"#;
        assert!(refused(empty).contains("no title"));
    }
}
