//! Job families (`data/families.json`): the fields of work a role and its skills belong to,
//! which fields a role may take skills from, and how a job title names its field.

use std::collections::HashMap;

use serde::Deserialize;

use super::text::whole_word_offsets;

/// A family, by its index in `data/families.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Family(u16);

#[derive(Debug, Deserialize)]
struct RawFamily {
    id: String,
    name: String,
    #[serde(default)]
    writes_code: bool,
    #[serde(default)]
    technical: bool,
    #[serde(default)]
    regulated: bool,
    #[serde(default)]
    cross_cutting: bool,
    titles: Vec<String>,
    related: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct FamiliesFile {
    families: Vec<RawFamily>,
    weak_titles: Vec<(String, String)>,
}

/// What the generator knows of one family.
#[derive(Debug, Clone)]
pub struct FamilyInfo {
    /// Stable identifier (`"mobile"`), used in data files and the API.
    pub id: String,
    /// Display name (`"Mobile Development"`).
    pub name: String,
    /// Roles of the family write code, so their assessments get a coding section.
    pub writes_code: bool,
    /// Technical roles get stricter proctoring.
    pub technical: bool,
    /// Regulated work (healthcare, finance, law): identity checks.
    pub regulated: bool,
    /// Office tools, aptitudes and soft skills: any role may be tested on them.
    pub cross_cutting: bool,
    titles: Vec<String>,
    related: Vec<Family>,
}

#[derive(Debug)]
pub struct Families {
    list: Vec<FamilyInfo>,
    by_id: HashMap<String, Family>,
    weak_titles: Vec<(String, Family)>,
}

impl Families {
    pub fn from_json(json: &str) -> anyhow::Result<Families> {
        let file: FamiliesFile = serde_json::from_str(json)?;
        anyhow::ensure!(file.families.len() < u16::MAX as usize, "too many families");
        let mut by_id = HashMap::new();
        for (index, family) in file.families.iter().enumerate() {
            anyhow::ensure!(
                by_id
                    .insert(family.id.clone(), Family(index as u16))
                    .is_none(),
                "family {} is listed twice",
                family.id
            );
        }
        let resolve = |id: &str, of: &str| {
            by_id
                .get(id)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("family {of} names unknown family {id}"))
        };
        let mut list = Vec::with_capacity(file.families.len());
        for (index, raw) in file.families.iter().enumerate() {
            let mut related = vec![Family(index as u16)];
            for id in &raw.related {
                related.push(resolve(id, &raw.id)?);
            }
            list.push(FamilyInfo {
                id: raw.id.clone(),
                name: raw.name.clone(),
                writes_code: raw.writes_code,
                technical: raw.technical,
                regulated: raw.regulated,
                cross_cutting: raw.cross_cutting,
                titles: raw.titles.iter().map(|t| t.to_lowercase()).collect(),
                related,
            });
        }
        let weak_titles = file
            .weak_titles
            .iter()
            .map(|(word, id)| Ok((word.to_lowercase(), resolve(id, "weak_titles")?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Families {
            list,
            by_id,
            weak_titles,
        })
    }

    pub fn embedded() -> Families {
        Families::from_json(include_str!("../../data/families.json"))
            .expect("data/families.json is valid (checked by tests)")
    }

    pub fn all(&self) -> impl Iterator<Item = (Family, &FamilyInfo)> {
        self.list
            .iter()
            .enumerate()
            .map(|(index, info)| (Family(index as u16), info))
    }

    pub fn info(&self, family: Family) -> &FamilyInfo {
        &self.list[family.0 as usize]
    }

    pub fn id(&self, family: Family) -> &str {
        &self.info(family).id
    }

    pub fn parse(&self, id: &str) -> Option<Family> {
        self.by_id.get(id).copied()
    }

    /// Whether a role of family `role` may be tested on a skill of family `skill`.
    pub fn allows(&self, role: Family, skill: Family) -> bool {
        self.info(skill).cross_cutting || self.info(role).related.contains(&skill)
    }

    /// The family a job title names. The title proper comes before any " - team" or
    /// "(location)" suffix and is read first. The phrase with the most words wins ("it support"
    /// over "technician", "data engineer" over "engineer"), then the longest, then the later
    /// one (English titles end in their head noun); generic words ("engineer", "analyst") only
    /// when nothing else matches.
    pub fn from_title(&self, title: &str) -> Option<Family> {
        let (proper, head) = title_head(title);
        self.strong_title(&head)
            .or_else(|| self.weak_title(&head))
            .or_else(|| self.strong_title(&proper))
            .or_else(|| self.weak_title(&proper))
    }

    /// The family the title's head alone names by one of its job titles ("conversation
    /// designer" of "Conversation Designer – Virtual Assistant"); a generic word such as
    /// "engineer" or "manager" does not count.
    pub fn from_title_head(&self, title: &str) -> Option<Family> {
        let (_, head) = title_head(title);
        self.strong_title(&head)
    }

    fn strong_title(&self, title: &str) -> Option<Family> {
        let mut best: Option<((usize, usize, usize), Family)> = None;
        for (family, info) in self.all() {
            for phrase in &info.titles {
                if let Some(&at) = whole_word_offsets(title, phrase).last() {
                    let rank = (phrase.split_whitespace().count(), phrase.len(), at);
                    if best.is_none_or(|(b, _)| rank > b) {
                        best = Some((rank, family));
                    }
                }
            }
        }
        best.map(|(_, family)| family)
    }

    fn weak_title(&self, title: &str) -> Option<Family> {
        self.weak_titles
            .iter()
            .filter_map(|(word, family)| {
                whole_word_offsets(title, word)
                    .last()
                    .map(|at| (*at, *family))
            })
            .max_by_key(|(at, _)| *at)
            .map(|(_, family)| family)
    }
}

/// A job title in lower case with its spaces folded, and its head: the title proper, before
/// any " - team", "(location)", ", place" or " at company".
pub fn title_head(title: &str) -> (String, String) {
    let proper = title
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let cut = [" - ", " – ", " — ", " | ", "(", ",", " at ", " for ", ":"]
        .iter()
        .filter_map(|sep| proper.find(sep))
        .min()
        .unwrap_or(proper.len());
    let head = proper[..cut].trim().to_owned();
    (proper, head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_forty_job_families_and_every_relation_is_known() {
        let families = Families::embedded();
        let jobs = families.all().filter(|(_, f)| !f.cross_cutting).count();
        assert!(jobs >= 40, "{jobs} job families");
        for (family, info) in families.all() {
            assert!(families.allows(family, family), "{}", info.id);
            assert!(!info.name.is_empty());
        }
    }

    #[test]
    fn titles_name_their_family_most_specific_first() {
        let families = Families::embedded();
        let of = |title: &str| {
            families
                .from_title(title)
                .map(|f| families.id(f).to_owned())
        };
        assert_eq!(
            of("Senior Data Engineer").as_deref(),
            Some("data_engineering")
        );
        assert_eq!(of("Sales Engineer (Pre-Sales)").as_deref(), Some("sales"));
        assert_eq!(of("Staff Software Engineer").as_deref(), Some("software"));
        assert_eq!(of("Android Engineer").as_deref(), Some("mobile"));
        assert_eq!(of("Registered Nurse").as_deref(), Some("healthcare"));
        assert_eq!(of("Paralegal").as_deref(), Some("legal"));
        assert_eq!(of("Member of Technical Staff"), None);
        assert_eq!(of("Integration Engineer").as_deref(), Some("software"));
        assert_eq!(of("QA Analyst - Mobile Banking").as_deref(), Some("qa"));
        assert_eq!(
            of("IT Support Technician (1st/2nd Line)").as_deref(),
            Some("it_support")
        );
        assert_eq!(of("Site Reliability Engineer").as_deref(), Some("devops"));
    }

    #[test]
    fn cross_cutting_families_are_open_to_every_role() {
        let families = Families::embedded();
        let sales = families.parse("sales").unwrap();
        let software = families.parse("software").unwrap();
        let general = families.parse("general").unwrap();
        let office = families.parse("office").unwrap();
        assert!(families.allows(sales, general));
        assert!(families.allows(sales, office));
        assert!(!families.allows(sales, software));
    }
}
