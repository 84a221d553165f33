//! Reading a job: seniority (title, then years of experience), the family of the role, and
//! the skills it asks for, ranked by importance: known skills from the taxonomy and, for what
//! the taxonomy lacks, phrases taken from the ad's own requirement sentences.

use std::collections::HashSet;
use std::sync::LazyLock;

use assessment_domain::{ExperienceLevel, SkillSource};
use regex::Regex;

use super::extract::{extract, Extracted};
use super::family::Family;
use super::taxonomy::{Mention, SkillKind, Taxonomy};
use super::text::{segment, tokens, whole_word_offsets, Emphasis, Unit};

/// Most and fewest skills an assessment is built on (fewer only if the job names fewer).
pub const MAX_SKILLS: usize = 25;
pub const MIN_SKILLS: usize = 5;
/// How many of the chosen skills an assessment always tests; the rest, up to [`MAX_SKILLS`],
/// only if they fit in its time at the seniority's level of difficulty.
pub const ALWAYS_TESTED: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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
}

impl From<ExperienceLevel> for Seniority {
    fn from(level: ExperienceLevel) -> Self {
        match level {
            ExperienceLevel::Junior => Seniority::Junior,
            ExperienceLevel::Mid => Seniority::Mid,
            ExperienceLevel::Senior => Seniority::Senior,
        }
    }
}

/// A chosen skill and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedSkill {
    pub name: String,
    /// Its taxonomy entry; `None` for a phrase taken from the ad.
    pub known: Option<usize>,
    /// The taxonomy skill whose questions stand in when its own are few.
    pub parent: Option<usize>,
    pub kind: SkillKind,
    pub family: Family,
    /// The section its questions go in.
    pub category: String,
    /// Named outside any "preferred / nice to have" sentence, in the title, or demanded by
    /// the request.
    pub required: bool,
    pub score: f32,
    /// The ad's sentence that asks for it, for questions written around the job.
    pub context: Option<String>,
}

impl RankedSkill {
    pub fn source(&self) -> SkillSource {
        match self.known {
            Some(_) => SkillSource::Taxonomy,
            None => SkillSource::Extracted,
        }
    }

    pub(crate) fn known(
        taxonomy: &Taxonomy,
        index: usize,
        required: bool,
        score: f32,
    ) -> RankedSkill {
        let skill = taxonomy.skill(index);
        RankedSkill {
            name: skill.name.clone(),
            known: Some(index),
            parent: skill.parent,
            kind: skill.kind,
            family: skill.family,
            category: skill.category.clone(),
            required,
            score,
            context: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Analysis {
    pub seniority: Seniority,
    pub role_family: Option<Family>,
    /// Chosen skills, most important first.
    pub skills: Vec<RankedSkill>,
}

impl Analysis {
    /// Adds skills another reader (the language model) named: known skills of the role's
    /// field, and unknown ones only if the ad itself names them (nothing is invented), within
    /// the skill limit. Returns the names added.
    pub fn add_skills(
        &mut self,
        taxonomy: &Taxonomy,
        job_description: &str,
        names: &[String],
    ) -> Vec<String> {
        let mut added = Vec::new();
        let families = taxonomy.families();
        for name in names {
            if self.skills.len() >= MAX_SKILLS {
                break;
            }
            let name = name.trim();
            if name.is_empty()
                || self
                    .skills
                    .iter()
                    .any(|s| s.name.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let candidate = match taxonomy.lookup(name) {
                Some(index) => {
                    let in_field = self.role_family.is_none_or(|f| taxonomy.fits(f, index));
                    if !in_field || self.skills.iter().any(|s| s.known == Some(index)) {
                        continue;
                    }
                    RankedSkill::known(taxonomy, index, true, 0.0)
                }
                None => {
                    let lowered = job_description.to_lowercase();
                    if name.chars().count() < 2
                        || whole_word_offsets(&lowered, &name.to_lowercase()).is_empty()
                    {
                        continue;
                    }
                    let Some(family) = self.role_family else {
                        continue;
                    };
                    RankedSkill {
                        name: name.to_owned(),
                        known: None,
                        parent: None,
                        kind: SkillKind::Knowledge,
                        family,
                        category: families.info(family).name.clone(),
                        required: true,
                        score: 0.0,
                        context: None,
                    }
                }
            };
            added.push(candidate.name.clone());
            self.skills.push(candidate);
        }
        added
    }
}

const SENIOR_TITLES: &[&str] = &[
    "senior",
    "sr",
    "lead",
    "principal",
    "staff",
    "head",
    "chief",
    "director",
    "architect",
    "vp",
    "vice president",
];
const JUNIOR_TITLES: &[&str] = &[
    "junior",
    "jr",
    "intern",
    "internship",
    "graduate",
    "trainee",
    "entry-level",
    "entry level",
    "apprentice",
];

static YEARS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)\s*\+?\s*(?:(?:-|–|to)\s*\d{1,2}\s*\+?\s*)?(?:years?|yrs?)\b",
    )
    .expect("valid regex")
});

fn number(word: &str) -> Option<u32> {
    const WORDS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    word.parse().ok().or_else(|| {
        let lower = word.to_lowercase();
        WORDS.iter().position(|w| *w == lower).map(|i| i as u32 + 1)
    })
}

/// The fewest years of experience the text asks for, if it says.
pub fn years_of_experience(text: &str) -> Option<u32> {
    YEARS
        .captures_iter(text)
        .filter_map(|c| number(&c[1]))
        .filter(|years| *years <= 40)
        .min()
}

fn title_has(title: &str, words: &[&str]) -> bool {
    words
        .iter()
        .any(|w| !whole_word_offsets(title, w).is_empty())
}

pub fn seniority(job_role: &str, text: &str) -> Seniority {
    let title = job_role.to_lowercase();
    if title_has(&title, SENIOR_TITLES) {
        return Seniority::Senior;
    }
    if title_has(&title, JUNIOR_TITLES) {
        return Seniority::Junior;
    }
    match years_of_experience(text) {
        Some(y) if y >= 5 => Seniority::Senior,
        Some(y) if y <= 1 => Seniority::Junior,
        _ => Seniority::Mid,
    }
}

/// A skill found in the ad, before the field filter and the cut.
struct Candidate {
    skill: RankedSkill,
    /// A soft skill or aptitude: it fills up a short list.
    general: bool,
    /// A soft skill the requirements name outright ("strong written communication"): it
    /// competes with the others for one of the few soft places.
    asked: bool,
}

/// The sentence around a span, trimmed for use inside a question.
fn context_of(text: &str, units: &[Unit], span: (usize, usize)) -> Option<String> {
    let unit = units
        .iter()
        .find(|u| u.start <= span.0 && span.1 <= u.end)?;
    let sentence = text[unit.start..unit.end]
        .trim()
        .trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '-' | '*' | '•' | '·' | '▪' | '◦' | '–' | '—')
        })
        .trim_end_matches(['.', ';', ',', ' ']);
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if words.len() < 3 {
        return None;
    }
    let clipped: String = words.iter().take(30).copied().collect::<Vec<_>>().join(" ");
    Some(clipped)
}

/// The emphasis a span has: that of the unit holding it.
fn emphasis_at(units: &[Unit], at: usize) -> Emphasis {
    units
        .iter()
        .find(|u| u.start <= at && at < u.end.max(u.start + 1))
        .map_or(Emphasis::Neutral, |u| u.emphasis)
}

/// How much a set of mentions counts: the strongest emphasis, more for repeats, and a little
/// for coming early.
fn mention_score(emphases: &[(Emphasis, usize)], length: usize) -> (f32, Emphasis) {
    let strongest = emphases
        .iter()
        .map(|(e, _)| *e)
        .max()
        .unwrap_or(Emphasis::Noise);
    let counted = emphases
        .iter()
        .filter(|(e, _)| *e != Emphasis::Noise)
        .count();
    let first = emphases
        .iter()
        .filter(|(e, _)| *e != Emphasis::Noise)
        .map(|(_, at)| *at)
        .min()
        .unwrap_or(length) as f32;
    let score = 3.0 * strongest.weight() + 0.75 * counted.saturating_sub(1).min(4) as f32 + 1.0
        - (first / length.max(1) as f32).min(1.0);
    (score, strongest)
}

/// Soft skills the requirements name outright take at most this many places among the
/// skills ranked on merit; more soft skills only fill up a short list.
const SOFT_PLACES: usize = 3;
/// Where a soft skill has to be named to count as asked for.
const SOFT_ASKED: Emphasis = Emphasis::Duty;

/// How much a skill named only as one choice among others ("Snowflake, BigQuery or Redshift")
/// counts of what it would if asked for outright.
const ALTERNATIVE_SHARE: f32 = 0.7;

/// How much a phrase the taxonomy does not know counts of what a known skill named as strongly
/// would: such phrases are kept, but what the ad names in words the taxonomy knows comes first
/// (of the extracted phrases on `dev`, few were among what a recruiter expected).
const EXTRACTED_SHARE: f32 = 0.5;

/// How much more a most asked-for skill weighs than a rarer one named as often.
const POPULAR_BOOST: f32 = 1.3;

/// The score of a core skill of the title's role the text does not name (the first of the
/// role's list; each next one a step less), and what one it names gains.
const ROLE_CORE_SCORE: f32 = 2.4;
const ROLE_CORE_STEP: f32 = 0.1;
const ROLE_CORE_BONUS: f32 = 1.0;

/// How much of its strongest child's score a skill the text implies (but does not name) gets,
/// and how much of every further child's.
const IMPLIED_SHARE: (f32, f32) = (0.5, 0.2);

/// A tool implies the skill it belongs to: an ad asking for Amazon EKS asks for Kubernetes, one
/// asking for Epic asks for electronic health records, one asking for Prometheus and Grafana for
/// monitoring. The nearest ancestor of each named skill becomes a candidate of its own, scored
/// from its children, unless it is named already or lies outside the role's field.
fn add_implied_parents(taxonomy: &Taxonomy, role: Family, candidates: &mut Vec<Candidate>) {
    let mut implied: Vec<(usize, Vec<f32>, bool, Option<String>)> = Vec::new();
    for candidate in candidates.iter().filter(|c| !c.general) {
        let Some(parent) = candidate
            .skill
            .known
            .and_then(|k| taxonomy.skill(k).parent)
            .or(candidate.skill.parent)
        else {
            continue;
        };
        let skill = taxonomy.skill(parent);
        // Only a skill ads ask for by name is worth implying.
        if !skill.popular || skill.kind == SkillKind::Soft || !taxonomy.fits(role, parent) {
            continue;
        }
        if candidates.iter().any(|c| c.skill.known == Some(parent)) {
            continue;
        }
        match implied.iter_mut().find(|(p, ..)| *p == parent) {
            Some((_, scores, required, _)) => {
                scores.push(candidate.skill.score);
                *required |= candidate.skill.required;
            }
            None => implied.push((
                parent,
                vec![candidate.skill.score],
                candidate.skill.required,
                candidate.skill.context.clone(),
            )),
        }
    }
    for (parent, mut scores, required, context) in implied {
        scores.sort_by(|a, b| b.total_cmp(a));
        let score = IMPLIED_SHARE.0 * scores[0] + IMPLIED_SHARE.1 * scores[1..].iter().sum::<f32>();
        let mut skill = RankedSkill::known(taxonomy, parent, required, score);
        skill.context = context;
        candidates.push(Candidate {
            general: false,
            asked: false,
            skill,
        });
    }
}

/// How a list of skills is joined: "A, B or C" offers a choice, "A, B and C" asks for each.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Joint {
    Comma,
    And,
    Or,
}

/// What stands between two skills named next to each other, when it only joins them.
fn joint(between: &str) -> Option<Joint> {
    let gap = between.trim().trim_start_matches(',').trim();
    match gap.to_ascii_lowercase().as_str() {
        "" if between.contains(',') => Some(Joint::Comma),
        "/" => Some(Joint::Comma),
        "or" | "and/or" => Some(Joint::Or),
        "and" | "&" => Some(Joint::And),
        _ => None,
    }
}

/// The spans (start offsets) of skills named only as one choice among others ("a warehouse
/// such as Snowflake, BigQuery or Redshift"): every member of a list joined by "or" and never
/// by "and". Such an ad asks for one of them, so each counts for less unless named elsewhere.
fn alternatives(text: &str, mentions: &[&Mention]) -> HashSet<usize> {
    let mut spans: Vec<(usize, usize)> = mentions
        .iter()
        .flat_map(|m| m.spans.iter().copied())
        .collect();
    spans.sort_unstable_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
    // Keep the outermost of nested or overlapping spans.
    let mut outer: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for span in spans {
        match outer.last() {
            Some(&(_, end)) if span.0 < end => {}
            _ => outer.push(span),
        }
    }
    let mut chosen = HashSet::new();
    let mut group: Vec<usize> = Vec::new();
    let mut joints: Vec<Joint> = Vec::new();
    let mut close = |group: &mut Vec<usize>, joints: &mut Vec<Joint>| {
        if group.len() > 1 && joints.contains(&Joint::Or) && !joints.contains(&Joint::And) {
            chosen.extend(group.iter().copied());
        }
        group.clear();
        joints.clear();
    };
    for (i, &(start, _)) in outer.iter().enumerate() {
        let between = if i > 0 {
            text.get(outer[i - 1].1..start).and_then(joint)
        } else {
            None
        };
        let linked = between.is_some();
        joints.extend(between);
        if !linked {
            close(&mut group, &mut joints);
        }
        group.push(start);
    }
    close(&mut group, &mut joints);
    chosen
}

/// Whether every word of a skill's name (by stem, function words aside) is among `words`.
fn uses_the_words_of(name: &str, words: &HashSet<String>) -> bool {
    let stems = tokens(name, 0, name.len());
    !stems.is_empty() && stems.iter().all(|t| words.contains(&t.stem))
}

/// Reads the job. `must_have` skills (taxonomy indexes) come first, whatever the text says.
pub fn analyze(
    taxonomy: &Taxonomy,
    job_role: &str,
    job_description: &str,
    must_have: &[usize],
    level: Option<ExperienceLevel>,
) -> Analysis {
    let families = taxonomy.families();
    let seniority = level
        .map(Seniority::from)
        .unwrap_or_else(|| seniority(job_role, job_description));
    // A known role names its field more surely than the title's words alone.
    // A role named only after the title's head yields to a field the head names itself
    // ("Conversation Designer – Virtual Assistant" is a designer's job, not an assistant's).
    let roles = taxonomy.roles();
    let role = match roles.of_title_head(job_role) {
        None if families.from_title_head(job_role).is_some() => None,
        None => roles.of_title(job_role),
        head => head,
    };
    let title_family = role
        .and_then(|r| r.family)
        .or_else(|| families.from_title(job_role));
    let units = segment(job_description);
    let length = job_description.len();

    let title_mentions: Vec<usize> = taxonomy.find(job_role).iter().map(|m| m.skill).collect();
    let exact = taxonomy.find(job_description);
    let sentences: Vec<(usize, usize)> = units
        .iter()
        .filter(|u| u.emphasis != Emphasis::Noise)
        .map(|u| (u.start, u.end))
        .collect();
    let loose = taxonomy.find_loose(job_description, &sentences, &exact);
    let choices = alternatives(
        job_description,
        &exact.iter().chain(&loose).collect::<Vec<_>>(),
    );
    // Soft skills and aptitudes fill up a short list; office tools count like any other skill.
    let filler = |family: Family, kind: SkillKind| {
        kind == SkillKind::Soft || families.id(family) == "general"
    };
    let mut candidates: Vec<Candidate> = Vec::new();
    for (mention, certainty) in exact
        .iter()
        .map(|m| (m, 1.0))
        .chain(loose.iter().map(|m| (m, 0.8)))
    {
        let emphases: Vec<(Emphasis, usize)> = mention
            .spans
            .iter()
            .map(|(start, _)| (emphasis_at(&units, *start), *start))
            .collect();
        let (mut score, strongest) = mention_score(&emphases, length);
        let in_title = title_mentions.contains(&mention.skill);
        if strongest == Emphasis::Noise && !in_title {
            continue;
        }
        score *= certainty;
        let only_a_choice = emphases
            .iter()
            .filter(|(e, _)| *e != Emphasis::Noise)
            .all(|(_, start)| choices.contains(start));
        if only_a_choice && !in_title {
            score *= ALTERNATIVE_SHARE;
        }
        if in_title {
            score += 4.0;
        }
        let best_span = mention
            .spans
            .iter()
            .find(|(start, _)| emphasis_at(&units, *start) == strongest)
            .copied()
            .unwrap_or(mention.spans[0]);
        let mut skill = RankedSkill::known(
            taxonomy,
            mention.skill,
            in_title || strongest.requires(),
            score,
        );
        skill.context = context_of(job_description, &units, best_span);
        candidates.push(Candidate {
            general: filler(skill.family, skill.kind),
            asked: strongest >= SOFT_ASKED,
            skill,
        });
    }
    for skill in &title_mentions {
        if !candidates.iter().any(|c| c.skill.known == Some(*skill)) {
            let found = taxonomy.skill(*skill);
            candidates.push(Candidate {
                general: filler(found.family, found.kind),
                asked: true,
                skill: RankedSkill::known(taxonomy, *skill, true, 7.0),
            });
        }
    }

    // The family is the title's, unless the title's family leaves out most of what the ad
    // asks for and another family explains it far better (a title phrase read the wrong way);
    // with no family in the title, the one that explains the named skills best.
    let explained = |role: Family| -> f32 {
        candidates
            .iter()
            .filter(|c| !c.general && families.allows(role, c.skill.family))
            .map(|c| c.skill.score)
            .sum()
    };
    let mut weights: Vec<(Family, f32)> = Vec::new();
    for candidate in candidates.iter().filter(|c| !c.general) {
        let family = candidate.skill.family;
        if families.info(family).cross_cutting {
            continue;
        }
        match weights.iter_mut().find(|(f, _)| *f == family) {
            Some((_, weight)) => *weight += candidate.skill.score,
            None => weights.push((family, candidate.skill.score)),
        }
    }
    let by_skills = weights
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(f, _)| f);
    let role_family = match (title_family, by_skills) {
        (Some(title), Some(skills)) if explained(title) < 0.3 * explained(skills) => Some(skills),
        (Some(title), _) => Some(title),
        (None, skills) => skills,
    };

    let known: Vec<Mention> = exact.iter().chain(&loose).cloned().collect();
    let extracted: Vec<Extracted> = match role_family {
        Some(_) => extract(taxonomy, job_role, job_description, &units, &known),
        None => Vec::new(),
    };
    if let Some(family) = role_family {
        candidates.retain(|c| match c.skill.known {
            Some(known) => taxonomy.fits(family, known),
            None => families.allows(family, c.skill.family),
        });
        for phrase in extracted {
            let emphases: Vec<(Emphasis, usize)> = phrase
                .spans
                .iter()
                .map(|(s, _)| (phrase.emphasis, *s))
                .collect();
            let (score, strongest) = mention_score(&emphases, length);
            // The parent's field decides where it belongs; a phrase under a skill of another
            // field is that field's business.
            let parent_family = phrase.parent.map(|p| taxonomy.skill(p).family);
            if parent_family.is_some_and(|f| !families.allows(family, f)) {
                continue;
            }
            let skill_family = parent_family.unwrap_or(family);
            let category = match phrase.parent {
                Some(parent) => taxonomy.skill(parent).category.clone(),
                None => families.info(skill_family).name.clone(),
            };
            candidates.push(Candidate {
                general: false,
                asked: false,
                skill: RankedSkill {
                    context: context_of(job_description, &units, phrase.spans[0]),
                    name: phrase.name,
                    known: None,
                    parent: phrase.parent,
                    kind: phrase.kind,
                    family: skill_family,
                    category,
                    required: strongest.requires(),
                    score: score * EXTRACTED_SHARE,
                },
            });
        }
    }
    if let Some(family) = role_family {
        add_implied_parents(taxonomy, family, &mut candidates);
    }
    // The title's role asks for its core skills whatever words the ad uses for them: one the
    // text names ranks a little higher; one whose words the ad uses, though not together
    // ("administer oral and IV medications" for medication administration), joins below what
    // the text names. A core skill the ad has no word of is not invented.
    if let Some(role) = role {
        let words: HashSet<String> = tokens(job_role, 0, job_role.len())
            .into_iter()
            .chain(tokens(job_description, 0, job_description.len()))
            .map(|t| t.stem)
            .collect();
        for (rank, &core) in role.core.iter().enumerate() {
            let skill = taxonomy.skill(core);
            if role_family.is_some_and(|f| !taxonomy.fits(f, core)) {
                continue;
            }
            match candidates.iter_mut().find(|c| c.skill.known == Some(core)) {
                Some(named) => named.skill.score += ROLE_CORE_BONUS,
                None if !std::iter::once(&skill.name)
                    .chain(&skill.aliases)
                    .any(|spelling| uses_the_words_of(spelling, &words)) => {}
                None => candidates.push(Candidate {
                    general: filler(skill.family, skill.kind),
                    asked: true,
                    skill: RankedSkill::known(
                        taxonomy,
                        core,
                        false,
                        ROLE_CORE_SCORE - ROLE_CORE_STEP * rank as f32,
                    ),
                }),
            }
        }
    }
    for candidate in &mut candidates {
        if candidate.general {
            candidate.skill.score *= 0.5;
        }
        if Some(candidate.skill.family) == role_family {
            candidate.skill.score *= 1.2;
        }
        if candidate
            .skill
            .known
            .is_some_and(|k| taxonomy.skill(k).popular)
        {
            candidate.skill.score *= POPULAR_BOOST;
        }
    }
    candidates.sort_by(|a, b| {
        b.skill
            .score
            .total_cmp(&a.skill.score)
            .then(a.skill.name.cmp(&b.skill.name))
    });

    let mut chosen: Vec<RankedSkill> = must_have
        .iter()
        .map(|&index| {
            let mut skill = RankedSkill::known(taxonomy, index, true, f32::MAX);
            skill.context = candidates
                .iter()
                .find(|c| c.skill.known == Some(index))
                .and_then(|c| c.skill.context.clone());
            skill
        })
        .collect();
    let take = |fillers: bool, limit: usize, chosen: &mut Vec<RankedSkill>| {
        let mut soft = 0;
        for candidate in &candidates {
            if chosen.len() >= limit {
                break;
            }
            let duplicate = chosen.iter().any(|c| {
                (c.known.is_some() && c.known == candidate.skill.known)
                    || c.name.eq_ignore_ascii_case(&candidate.skill.name)
            });
            let wanted = match (fillers, candidate.general) {
                (false, false) => true,
                (false, true) => candidate.asked && soft < SOFT_PLACES,
                (true, general) => general,
            };
            if wanted && !duplicate {
                soft += usize::from(candidate.general);
                chosen.push(candidate.skill.clone());
            }
        }
    };
    take(false, MAX_SKILLS, &mut chosen);
    take(true, MIN_SKILLS, &mut chosen);
    Analysis {
        seniority,
        role_family,
        skills: chosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "We are looking for a Senior Python Developer with 5+ years of experience in Django, Flask, and FastAPI. The candidate should have strong knowledge of databases, REST APIs, and cloud technologies. Experience with Docker, Kubernetes, and CI/CD pipelines is preferred.";

    fn names(analysis: &Analysis) -> Vec<String> {
        analysis.skills.iter().map(|s| s.name.clone()).collect()
    }

    #[test]
    fn the_seed_example_yields_its_skills_at_senior_level() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(&taxonomy, "Senior Python Developer", SEED, &[], None);
        assert_eq!(analysis.seniority, Seniority::Senior);
        let family = analysis.role_family.map(|f| taxonomy.families().id(f));
        assert_eq!(family, Some("software"));
        let skills = names(&analysis);
        for expected in [
            "Python",
            "Django",
            "Flask",
            "FastAPI",
            "REST APIs",
            "Docker",
            "Kubernetes",
            "CI/CD",
        ] {
            assert!(
                skills.contains(&expected.to_owned()),
                "{expected} not in {skills:?}"
            );
        }
        assert_eq!(skills[0], "Python", "the title's skill ranks first");
        let docker = analysis.skills.iter().find(|s| s.name == "Docker").unwrap();
        assert!(!docker.required, "Docker is only preferred");
        assert!(analysis
            .skills
            .iter()
            .all(|s| s.source() == SkillSource::Taxonomy));
    }

    #[test]
    fn a_skill_offered_as_one_choice_among_others_counts_for_less() {
        let taxonomy = Taxonomy::embedded();
        let text = "Strong SQL. Experience with a cloud warehouse (Snowflake, BigQuery or \
                    Redshift). You will use Python, Go and Terraform.";
        let exact = taxonomy.find(text);
        let choices = alternatives(text, &exact.iter().collect::<Vec<_>>());
        let choice = |name: &str| {
            let at = text.find(name).unwrap();
            choices.contains(&at)
        };
        for name in ["Snowflake", "BigQuery", "Redshift"] {
            assert!(choice(name), "{name} is one of a choice");
        }
        for name in ["SQL", "Python", "Go", "Terraform"] {
            assert!(!choice(name), "{name} is asked for outright");
        }

        // Named outright elsewhere, a member of a choice counts in full.
        let role = "Data Engineer";
        let offered =
            "Requirements:\n- Python and SQL\n- A warehouse: Snowflake, BigQuery or Redshift";
        let used = format!("{offered}\n- You will model our data in Snowflake");
        let score = |text: &str, name: &str| {
            analyze(&taxonomy, role, text, &[], None)
                .skills
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.score)
        };
        let (before, after) = (score(offered, "Snowflake"), score(&used, "Snowflake"));
        assert!(after.unwrap() > before.unwrap() / ALTERNATIVE_SHARE * 0.99);
        assert!(score(&used, "BigQuery").unwrap() < after.unwrap());
    }

    #[test]
    fn seniority_comes_from_the_title_then_the_years() {
        assert_eq!(seniority("Junior Analyst", ""), Seniority::Junior);
        assert_eq!(seniority("Lead Nurse", ""), Seniority::Senior);
        assert_eq!(
            seniority("Analyst", "at least 7 years of SQL"),
            Seniority::Senior
        );
        assert_eq!(
            seniority("Analyst", "3-5 years of experience"),
            Seniority::Mid
        );
        assert_eq!(
            seniority("Analyst", "two years of experience"),
            Seniority::Mid
        );
        assert_eq!(
            seniority("Analyst", "1 year of experience"),
            Seniority::Junior
        );
        assert_eq!(seniority("Analyst", ""), Seniority::Mid);
    }

    #[test]
    fn a_sales_role_gets_no_programming_skill() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(
            &taxonomy,
            "Sales Development Representative",
            "Cold calling, prospecting and CRM hygiene in Salesforce. Go-getter attitude; \
             Python or SQL would be a plus.",
            &[],
            None,
        );
        assert_eq!(
            analysis.role_family.map(|f| taxonomy.families().id(f)),
            Some("sales")
        );
        for ranked in &analysis.skills {
            let programming = ranked.known.is_some_and(|k| taxonomy.skill(k).programming);
            assert!(!programming, "{} in a sales assessment", ranked.name);
        }
        assert!(names(&analysis).contains(&"Cold Calling".to_owned()));
    }

    #[test]
    fn a_practice_of_any_field_counts_in_every_family_and_a_foreign_tool_does_not() {
        let taxonomy = Taxonomy::embedded();
        let description = "Lead the ward team, own budgeting for the unit and the negotiation \
            with suppliers. Patient assessment, medication administration and wound care. Some \
            Python scripting would be a plus.";
        let analysis = analyze(&taxonomy, "Nurse Unit Manager", description, &[], None);
        let healthcare = taxonomy.families().parse("healthcare").unwrap();
        assert_eq!(analysis.role_family, Some(healthcare));
        let chosen = names(&analysis);
        for practice in ["Budgeting", "Negotiation"] {
            let index = taxonomy.lookup(practice).unwrap();
            // Neither belongs to healthcare or a field related to it.
            assert!(!taxonomy
                .families()
                .allows(healthcare, taxonomy.skill(index).family));
            assert!(taxonomy.fits(healthcare, index));
            assert!(
                chosen.contains(&practice.to_owned()),
                "{practice}: {chosen:?}"
            );
        }
        assert!(!chosen.contains(&"Python".to_owned()), "{chosen:?}");
    }

    #[test]
    fn must_have_skills_come_first() {
        let taxonomy = Taxonomy::embedded();
        let rust = taxonomy.lookup("Rust").unwrap();
        let analysis = analyze(&taxonomy, "Backend Developer", SEED, &[rust], None);
        assert_eq!(analysis.skills[0].known, Some(rust));
        assert!(analysis.skills.len() <= MAX_SKILLS);
    }

    #[test]
    fn gibberish_names_no_skill() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(&taxonomy, "Qwerty", "asdf zxcv lorem ipsum", &[], None);
        assert!(analysis.skills.is_empty());
    }

    #[test]
    fn what_the_taxonomy_lacks_is_taken_from_the_requirements() {
        let taxonomy = Taxonomy::embedded();
        let analysis = analyze(
            &taxonomy,
            "Backend Engineer",
            "Requirements:\n- Experience with Go and Zorblax\n- Knowledge of sprocket \
             tuning\n\nBenefits:\n- Experience with QuuxDB at our company gym\n",
            &[],
            None,
        );
        let skills = names(&analysis);
        assert!(skills.contains(&"Zorblax".to_owned()), "{skills:?}");
        assert!(skills.contains(&"Sprocket Tuning".to_owned()), "{skills:?}");
        assert!(!skills.contains(&"QuuxDB".to_owned()), "{skills:?}");
        let zorblax = analysis
            .skills
            .iter()
            .find(|s| s.name == "Zorblax")
            .unwrap();
        assert_eq!(zorblax.source(), SkillSource::Extracted);
        assert!(zorblax.required);
    }
}
