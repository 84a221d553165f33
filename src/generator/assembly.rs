//! Putting an assessment together in two steps.
//!
//! The **blueprint** depends only on the job: which skills, how many questions of which class
//! (objective, open, coding) and difficulty for each, the time each slot gets, the sections,
//! and proctoring that fits the role. The **draw** then fills each slot with a question from the
//! skill's candidates, at random but seeded with the job id: two jobs from one description get
//! the same blueprint and different questions wherever the library has enough, and the same
//! job always gets the same ones.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use assessment_domain::{
    Assessment, Difficulty, GenerationOptions, Proctoring, Question, QuestionType, Section,
    SkillDetail, SkillWeight,
};
use sha2::{Digest, Sha256};

use super::analysis::{Analysis, Seniority, ALWAYS_TESTED};
use super::family::Families;
use super::taxonomy::Taxonomy;

/// Most sections an assessment has.
pub const MAX_SECTIONS: usize = 6;
/// Length an assessment keeps under unless the request asks otherwise, in minutes.
pub const DEFAULT_MAX_MINUTES: u32 = 75;
/// Fewest questions trimming for length may leave.
const MIN_QUESTIONS: usize = 5;
pub const CODING_SECTION: &str = "Coding";

/// Where a candidate question comes from. Model-written questions (asked for because the
/// library is thin) come first, then the skill's own library questions, then scenario
/// questions from templates and questions of the skill's parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Model,
    Library,
    Template,
    Parent,
}

impl Origin {
    fn weight(self) -> f64 {
        match self {
            Origin::Model => 4.0,
            Origin::Library => 1.0,
            Origin::Template => 0.45,
            Origin::Parent => 0.3,
        }
    }
}

/// A question that may fill a slot of its skill.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub question: Question,
    pub origin: Origin,
    /// How well it matches the job's words, 0 to 1.
    pub relevance: f32,
}

/// The candidates found for one chosen skill (same order as `Analysis::skills`).
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssemblyError {
    #[error(
        "No questions fit the request: the question_types asked for ({0}) have no questions for \
         the skills of this job. Allow more question types and submit the job again."
    )]
    NothingFits(String),
}

/// Difficulties a seniority is tested at, and their shares.
pub fn difficulty_mix(seniority: Seniority) -> &'static [(Difficulty, f32)] {
    match seniority {
        Seniority::Junior => &[(Difficulty::Easy, 0.55), (Difficulty::Medium, 0.45)],
        Seniority::Mid => &[
            (Difficulty::Easy, 0.25),
            (Difficulty::Medium, 0.5),
            (Difficulty::Hard, 0.25),
        ],
        // Easy only for a skill that has nothing harder (see `Mixer::next`).
        Seniority::Senior => &[
            (Difficulty::Easy, 0.0),
            (Difficulty::Medium, 0.5),
            (Difficulty::Hard, 0.5),
        ],
    }
}

/// The easiest level trimming may shorten a slot to: a senior assessment keeps its medium
/// and hard questions, so that shortening never turns it into an easy one.
fn shortening_floor(seniority: Seniority) -> Difficulty {
    match seniority {
        Seniority::Senior => Difficulty::Medium,
        Seniority::Junior | Seniority::Mid => Difficulty::Easy,
    }
}

fn one_easier(difficulty: Difficulty) -> Difficulty {
    match difficulty {
        Difficulty::Hard => Difficulty::Medium,
        Difficulty::Medium | Difficulty::Easy => Difficulty::Easy,
    }
}

fn default_question_count(seniority: Seniority) -> usize {
    match seniority {
        Seniority::Junior => 15,
        Seniority::Mid => 18,
        Seniority::Senior => 20,
    }
}

/// Coding questions take 10 to 25 minutes each: one, or two in a long assessment.
fn coding_questions_for(max_minutes: u32) -> usize {
    if max_minutes >= 90 {
        2
    } else {
        1
    }
}

/// The kind of answer a slot wants; it decides the slot's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Objective,
    Open,
    Coding,
}

impl Class {
    fn of(kind: QuestionType) -> Class {
        match kind {
            QuestionType::MultipleChoice
            | QuestionType::MultipleSelect
            | QuestionType::TrueFalse => Class::Objective,
            QuestionType::Subjective => Class::Open,
            QuestionType::Coding => Class::Coding,
        }
    }

    /// Seconds a slot of this class and difficulty gives the candidate.
    fn seconds(self, difficulty: Difficulty) -> u32 {
        match (self, difficulty) {
            (Class::Objective, Difficulty::Easy) => 60,
            (Class::Objective, Difficulty::Medium) => 90,
            (Class::Objective, Difficulty::Hard) => 120,
            (Class::Open, Difficulty::Easy) => 240,
            (Class::Open, Difficulty::Medium) => 300,
            (Class::Open, Difficulty::Hard) => 420,
            (Class::Coding, Difficulty::Easy) => 600,
            (Class::Coding, Difficulty::Medium) => 900,
            (Class::Coding, Difficulty::Hard) => 1200,
        }
    }
}

/// One question to be drawn: for which skill, of which class, at which difficulty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    skill: usize,
    class: Class,
    difficulty: Difficulty,
}

impl Slot {
    fn seconds(&self) -> u32 {
        self.class.seconds(self.difficulty)
    }
}

/// Splits `total` into shares proportional to `weights` (largest remainders get the rest);
/// with `at_least_one`, every share gets one first while `total` allows.
fn apportion(total: usize, weights: &[f32], at_least_one: bool) -> Vec<usize> {
    let mut shares = vec![0; weights.len()];
    if weights.is_empty() {
        return shares;
    }
    if at_least_one {
        for share in shares.iter_mut().take(total) {
            *share = 1;
        }
    }
    let rest = total.saturating_sub(shares.iter().sum());
    let sum: f32 = weights.iter().sum::<f32>().max(f32::EPSILON);
    let exact: Vec<f32> = weights.iter().map(|w| rest as f32 * w / sum).collect();
    for (share, portion) in shares.iter_mut().zip(&exact) {
        *share += portion.floor() as usize;
    }
    let given: usize = shares.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| {
        (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor()))
    });
    // Flooring loses less than one per share: the largest remainders get one more each.
    for index in order.into_iter().take(total.saturating_sub(given)) {
        shares[index] += 1;
    }
    shares
}

fn proctoring(families: &Families, analysis: &Analysis, has_coding: bool) -> Proctoring {
    let info = analysis.role_family.map(|f| families.info(f));
    let technical = info.is_some_and(|f| f.technical);
    let regulated = info.is_some_and(|f| f.regulated);
    let senior = analysis.seniority == Seniority::Senior;
    Proctoring {
        webcam_monitoring: technical || regulated || senior,
        full_screen_required: true,
        tab_switch_limit: Some(if technical || regulated { 2 } else { 3 }),
        copy_paste_blocked: true,
        randomize_question_order: true,
        randomize_option_order: true,
        screen_recording: technical && senior,
        identity_verification: regulated || (technical && senior),
        allow_paste_in_code_editor: has_coding,
    }
}

/// Everything assembly needs from the request.
pub struct Request<'a> {
    pub assessment_id: String,
    /// Seeds the draw: the job id.
    pub seed: &'a str,
    pub job_role: &'a str,
    pub cutoff: u8,
    pub options: &'a GenerationOptions,
}

/// A number in (0, 1] that only the seed and the names decide.
fn uniform(seed: &str, skill: &str, id: &str) -> f64 {
    let digest = Sha256::new()
        .chain_update(seed.as_bytes())
        .chain_update([0])
        .chain_update(skill.as_bytes())
        .chain_update([0])
        .chain_update(id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    ((u64::from_le_bytes(bytes) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// How far a difficulty is from the slot's: the same counts fully, a neighbour a little (an
/// easier one only down to `floor`, so a senior assessment does not drift easy), two levels
/// away only when nothing nearer is left, and one the seniority is not tested at not at all.
fn difficulty_weight(
    slot: Difficulty,
    question: Difficulty,
    allowed: &[Difficulty],
    floor: Difficulty,
) -> f64 {
    if !allowed.contains(&question) {
        return 0.0;
    }
    match question as i32 - slot as i32 {
        0 => 1.0,
        1 => 0.7,
        -1 if question >= floor => 0.7,
        _ => 0.001,
    }
}

/// The blueprint's slots for one skill: difficulties by the seniority's mix, open questions
/// where the skill has them (one for a skill with three or more slots) or where its objective
/// questions run out, on the hardest slots.
fn skill_slots(
    skill: usize,
    quota: usize,
    (objective, open): (usize, usize),
    levels: &[Difficulty],
    mixer: &mut Mixer,
) -> Vec<Slot> {
    let mut difficulties: Vec<Difficulty> = (0..quota).map(|_| mixer.next(levels)).collect();
    difficulties.sort();
    let open_slots = if objective >= quota {
        usize::from(quota >= 3 && open > 0)
    } else {
        (quota - objective).min(open)
    };
    let objective_slots = quota - open_slots;
    difficulties
        .into_iter()
        .enumerate()
        .map(|(index, difficulty)| Slot {
            skill,
            class: if index < objective_slots {
                Class::Objective
            } else {
                Class::Open
            },
            difficulty,
        })
        .collect()
}

/// Hands out the difficulties of an assessment's slots one by one, skill after skill, so that
/// the whole assessment follows the seniority's mix even when most skills get one slot: each
/// slot goes to the level furthest behind its share (the harder on a tie) among the levels the
/// skill has questions at.
struct Mixer {
    mix: &'static [(Difficulty, f32)],
    have: Vec<usize>,
}

impl Mixer {
    fn new(seniority: Seniority) -> Self {
        let mix = difficulty_mix(seniority);
        Self {
            mix,
            have: vec![0; mix.len()],
        }
    }

    fn next(&mut self, levels: &[Difficulty]) -> Difficulty {
        let total = self.have.iter().sum::<usize>() + 1;
        let behind = |i: usize| self.mix[i].1 * total as f32 - self.have[i] as f32;
        let offered = |i: &usize| levels.is_empty() || levels.contains(&self.mix[*i].0);
        // A level of no share (a senior's easy) only for a skill offering nothing else.
        let positive = (0..self.mix.len()).any(|i| offered(&i) && self.mix[i].1 > 0.0);
        let level = (0..self.mix.len())
            .filter(|i| offered(i) && (!positive || self.mix[*i].1 > 0.0))
            .max_by(|&a, &b| behind(a).total_cmp(&behind(b)).then(a.cmp(&b)))
            .unwrap_or(0);
        self.have[level] += 1;
        self.mix[level].0
    }
}

/// What every draw of one assessment shares.
struct Draw<'a> {
    seed: &'a str,
    allowed_types: &'a dyn Fn(QuestionType) -> bool,
    allowed_levels: &'a [Difficulty],
    /// The easiest level a harder slot may draw (see [`difficulty_weight`]).
    floor: Difficulty,
    language: Option<&'a str>,
}

impl Draw<'_> {
    /// Picks the question for a slot: the highest of `u^(1/w)` over the candidates (a weighted
    /// draw without replacement whose outcome depends only on the seed).
    fn pick<'c>(
        &self,
        slot: &Slot,
        skill_name: &str,
        candidates: &'c [Candidate],
        used: &HashSet<String>,
    ) -> Option<&'c Candidate> {
        let language_known = self.language.is_some_and(|l| {
            candidates
                .iter()
                .any(|c| c.question.language.as_deref() == Some(l))
        });
        let eligible: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| {
                Class::of(c.question.kind) == slot.class && (self.allowed_types)(c.question.kind)
            })
            .filter(|c| !used.contains(&c.question.id))
            .filter(|c| !language_known || c.question.language.as_deref() == self.language)
            .collect();
        // A level's chance grows with how many questions it has only as its square root: a
        // skill with many medium questions still mostly answers a hard slot with a hard one,
        // and a level of few questions is not drawn so often that two jobs repeat them.
        let mut at_level = [0usize; Difficulty::ALL.len()];
        for candidate in &eligible {
            at_level[candidate.question.difficulty as usize] += 1;
        }
        let share = |level: Difficulty| (at_level[level as usize].max(1) as f64).sqrt();
        eligible
            .into_iter()
            .filter_map(|c| {
                let weight = c.origin.weight()
                    * difficulty_weight(
                        slot.difficulty,
                        c.question.difficulty,
                        self.allowed_levels,
                        self.floor,
                    )
                    / share(c.question.difficulty)
                    * (0.75 + 0.5 * f64::from(c.relevance.clamp(0.0, 1.0)));
                (weight > 0.0).then(|| {
                    (
                        uniform(self.seed, skill_name, &c.question.id).ln() / weight,
                        c,
                    )
                })
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c)
    }
}

/// The slots an assessment will ask, ready to be drawn.
struct Plan<'a> {
    skills: &'a [super::analysis::RankedSkill],
    found: &'a [Found],
    per_skill: &'a [Vec<Slot>],
    coding: &'a [Slot],
    cap_seconds: u32,
}

/// The questions of one draw: the coding ones, and each skill's others.
type Drawn = (Vec<Question>, Vec<Vec<Question>>);

/// Seeds the draw that decides the blueprint every job of a description shares.
const BLUEPRINT_SEED: &str = "blueprint";
/// Draws tried for a job before it takes the blueprint's own.
const DRAW_ATTEMPTS: usize = 8;

/// What two jobs of one description must share: each skill's question times, and the coding
/// questions' skills and times.
fn shape((coding, drawn): &Drawn) -> (Vec<(&str, u32)>, Vec<Vec<u32>>) {
    let coding = coding
        .iter()
        .map(|q| (q.skill.as_str(), q.duration_seconds))
        .collect();
    let drawn = drawn
        .iter()
        .map(|questions| {
            let mut times: Vec<u32> = questions.iter().map(|q| q.duration_seconds).collect();
            times.sort_unstable();
            times
        })
        .collect();
    (coding, drawn)
}

impl Plan<'_> {
    fn draw(&self, drawer: &Draw<'_>) -> Drawn {
        let skills = self.skills;
        let floor = drawer.floor;
        let mut used: HashSet<String> = HashSet::new();
        let mut drawn: Vec<Vec<Question>> = vec![Vec::new(); skills.len()];
        let mut coding_questions: Vec<Question> = Vec::new();
        let fill = |slot: &Slot, used: &mut HashSet<String>| -> Option<Question> {
            let skill = &skills[slot.skill];
            let chosen =
                drawer.pick(slot, &skill.name, &self.found[slot.skill].candidates, used)?;
            used.insert(chosen.question.id.clone());
            let mut question = chosen.question.clone();
            question.skill = skill.name.clone();
            question.duration_seconds = slot.seconds();
            Some(question)
        };
        for slot in self.coding {
            if let Some(question) = fill(slot, &mut used) {
                coding_questions.push(question);
            }
        }
        // The other class of question, for a slot whose own class has nothing left at its level.
        let other_class = |slot: &Slot| -> Option<Slot> {
            let class = match slot.class {
                Class::Objective => Class::Open,
                Class::Open => Class::Objective,
                Class::Coding => return None,
            };
            Some(Slot { class, ..*slot })
        };
        // Switching a slot's class changes its time: only within the length.
        let mut planned: u32 = self
            .per_skill
            .iter()
            .flatten()
            .chain(self.coding)
            .map(Slot::seconds)
            .sum();
        for slots in self.per_skill {
            for slot in slots {
                let mut question = fill(slot, &mut used);
                // Below the seniority's floor only when no question of the other class is at it
                // (siblings may have taken their shared parent's harder questions).
                if let (Some(drawn_one), Some(instead)) = (&question, other_class(slot)) {
                    let fits = planned - slot.seconds() + instead.seconds() <= self.cap_seconds;
                    if drawn_one.difficulty < floor && slot.difficulty >= floor && fits {
                        let mut trial = used.clone();
                        trial.remove(&drawn_one.id);
                        if let Some(better) =
                            fill(&instead, &mut trial).filter(|q| q.difficulty >= floor)
                        {
                            used = trial;
                            planned = planned - slot.seconds() + instead.seconds();
                            question = Some(better);
                        }
                    }
                }
                if let Some(question) = question {
                    drawn[slot.skill].push(question);
                }
            }
            // A skill whose kind of question ran out (its parent's objective questions all taken
            // by its siblings) is asked one of the other kind rather than nothing.
            if let Some(first) = slots.first().filter(|s| drawn[s.skill].is_empty()) {
                let Some(instead) = other_class(first) else {
                    continue;
                };
                if planned + instead.seconds() > self.cap_seconds {
                    continue;
                }
                if let Some(question) = fill(&instead, &mut used) {
                    planned += instead.seconds();
                    drawn[first.skill].push(question);
                }
            }
        }
        for questions in &mut drawn {
            questions.sort_by_key(|q| (q.difficulty, q.kind == QuestionType::Subjective));
        }
        (coding_questions, drawn)
    }
}

pub fn assemble(
    taxonomy: &Taxonomy,
    request: &Request<'_>,
    analysis: &Analysis,
    found: &[Found],
) -> Result<Assessment, AssemblyError> {
    let families = taxonomy.families();
    let options = request.options;
    let seniority = analysis.seniority;
    let type_allowed = |kind: QuestionType| {
        options.question_types.is_empty() || options.question_types.contains(&kind)
    };
    let allowed_levels: Vec<Difficulty> =
        difficulty_mix(seniority).iter().map(|(d, _)| *d).collect();
    let usable = |c: &&Candidate| {
        type_allowed(c.question.kind) && allowed_levels.contains(&c.question.difficulty)
    };
    let writes_code = analysis
        .role_family
        .is_some_and(|f| families.info(f).writes_code);
    let max_minutes = options.duration_minutes.unwrap_or(DEFAULT_MAX_MINUTES);
    let skills = &analysis.skills[..found.len().min(analysis.skills.len())];

    // Coding slots go to the most important skills with coding questions.
    let mut slots: Vec<Slot> = Vec::new();
    if writes_code && type_allowed(QuestionType::Coding) {
        let mut owners: Vec<usize> = (0..skills.len())
            .filter(|&i| {
                found[i]
                    .candidates
                    .iter()
                    .any(|c| c.question.kind == QuestionType::Coding)
            })
            .collect();
        if let Some(language) = &options.language {
            owners.sort_by_key(|&i| {
                !found[i]
                    .candidates
                    .iter()
                    .any(|c| c.question.language.as_deref() == Some(language.as_str()))
            });
        }
        let difficulty = if seniority == Seniority::Senior {
            Difficulty::Hard
        } else {
            Difficulty::Medium
        };
        for skill in owners.into_iter().take(coding_questions_for(max_minutes)) {
            slots.push(Slot {
                skill,
                class: Class::Coding,
                difficulty,
            });
        }
    }

    // Without an explicit count, every chosen skill gets at least one question.
    let target = options
        .question_count
        .map(|n| n as usize)
        .unwrap_or_else(|| default_question_count(seniority).max(skills.len() + slots.len()))
        .saturating_sub(slots.len())
        .max(1);
    let counts: Vec<(usize, usize, Vec<Difficulty>)> = found
        .iter()
        .take(skills.len())
        .map(|f| {
            let pool: Vec<&Candidate> = f.candidates.iter().filter(usable).collect();
            let objective = pool
                .iter()
                .filter(|c| Class::of(c.question.kind) == Class::Objective)
                .count();
            let open = pool
                .iter()
                .filter(|c| Class::of(c.question.kind) == Class::Open)
                .count();
            // Most slots are objective: their levels decide, unless the skill has none.
            let main = if objective > 0 {
                Class::Objective
            } else {
                Class::Open
            };
            let levels: BTreeSet<Difficulty> = pool
                .iter()
                .filter(|c| Class::of(c.question.kind) == main)
                .map(|c| c.question.difficulty)
                .collect();
            (objective, open, levels.into_iter().collect())
        })
        .collect();
    let weights: Vec<f32> = skills
        .iter()
        .map(|s| if s.required { 2.0 } else { 1.0 })
        .collect();
    let quotas = apportion(target, &weights, true);
    let mut mixer = Mixer::new(seniority);
    let mut per_skill: Vec<Vec<Slot>> = quotas
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(skill, (quota, (objective, open, levels)))| {
            let quota = (*quota).min(objective + open);
            skill_slots(skill, quota, (*objective, *open), levels, &mut mixer)
        })
        .collect();
    let mut coding = slots;

    // Keep to the length: take out slots of whichever difficulty is most over its share, the
    // longest first and from the least important skill, a skill's last slot last.
    let cap_seconds = max_minutes * 60;
    let mix = difficulty_mix(seniority);
    let floor = shortening_floor(seniority);
    loop {
        let all = per_skill.iter().flatten().chain(&coding);
        let total_seconds: u32 = all.clone().map(Slot::seconds).sum();
        let count = all.clone().count();
        if total_seconds <= cap_seconds || count <= MIN_QUESTIONS {
            break;
        }
        let excess = |difficulty: Difficulty| {
            let share = mix
                .iter()
                .find(|(d, _)| *d == difficulty)
                .map_or(0.0, |(_, s)| *s);
            let have = all.clone().filter(|s| s.difficulty == difficulty).count();
            have as f32 - share * count as f32
        };
        let candidate = per_skill
            .iter()
            .enumerate()
            .filter(|(_, slots)| slots.len() > 1)
            .flat_map(|(skill, slots)| slots.iter().enumerate().map(move |(i, s)| (skill, i, s)))
            .max_by(|a, b| {
                excess(a.2.difficulty)
                    .total_cmp(&excess(b.2.difficulty))
                    .then(a.2.seconds().cmp(&b.2.seconds()))
                    .then(a.0.cmp(&b.0))
            })
            .map(|(skill, index, _)| (skill, index));
        match candidate {
            Some((skill, index)) => {
                per_skill[skill].remove(index);
            }
            // Every skill is down to one slot. Past the first ALWAYS_TESTED skills, drop the
            // least important one: those are tested only if they fit at the seniority's level.
            // Then make the longest slot a level easier and shorter, never below what the
            // seniority is mostly tested at; then give up the coding slots; only then drop the
            // least important skills.
            None => {
                let optional_left =
                    per_skill.iter().filter(|s| !s.is_empty()).count() > ALWAYS_TESTED;
                let longest = per_skill
                    .iter_mut()
                    .flatten()
                    .filter(|s| !optional_left && s.difficulty > floor)
                    .max_by_key(|s| (s.seconds(), s.difficulty));
                match longest {
                    Some(slot) => slot.difficulty = one_easier(slot.difficulty),
                    _ if !optional_left && !coding.is_empty() => coding.clear(),
                    _ => match per_skill.iter_mut().rev().find(|s| !s.is_empty()) {
                        Some(slots) => slots.clear(),
                        None => break,
                    },
                }
            }
        }
    }

    // The draw. Which class a slot ends up asking (and so its time) can depend on the draw:
    // a skill whose questions at its level its siblings took is asked one of the other class.
    // Two jobs of one description still share one blueprint: the job's own draw is kept when
    // its shape is that of a draw under a fixed seed, else the first of a few variations of the
    // job's seed that is, else the fixed draw itself.
    let plan = Plan {
        skills,
        found,
        per_skill: &per_skill,
        coding: &coding,
        cap_seconds,
    };
    let draw = |seed: &str| {
        plan.draw(&Draw {
            seed,
            allowed_types: &type_allowed,
            allowed_levels: &allowed_levels,
            floor,
            language: options.language.as_deref(),
        })
    };
    let reference = draw(BLUEPRINT_SEED);
    let blueprint = shape(&reference);
    let matching = (0..DRAW_ATTEMPTS)
        .map(|attempt| match attempt {
            0 => draw(request.seed),
            n => draw(&format!("{}#{n}", request.seed)),
        })
        .find(|questions| shape(questions) == blueprint);
    let (coding_questions, drawn) = matching.unwrap_or(reference);

    // Sections by category, in the order of the skills' importance.
    let mut categories: Vec<String> = Vec::new();
    let mut by_category: BTreeMap<String, Section> = BTreeMap::new();
    let room = MAX_SECTIONS - usize::from(!coding_questions.is_empty());
    for (skill, questions) in skills.iter().zip(&drawn) {
        if questions.is_empty() {
            continue;
        }
        let mut category = skill.category.clone();
        if !categories.contains(&category) {
            if categories.len() < room {
                categories.push(category.clone());
            } else {
                category = categories[room - 1].clone();
            }
        }
        let section = by_category
            .entry(category.clone())
            .or_insert_with(|| Section {
                name: category.clone(),
                skills: Vec::new(),
                questions: Vec::new(),
            });
        section.skills.push(skill.name.clone());
        section.questions.extend(questions.iter().cloned());
    }
    let mut sections: Vec<Section> = categories
        .iter()
        .filter_map(|c| by_category.remove(c))
        .collect();
    if !coding_questions.is_empty() {
        let mut names: Vec<String> = Vec::new();
        for question in &coding_questions {
            if !names.contains(&question.skill) {
                names.push(question.skill.clone());
            }
        }
        sections.push(Section {
            name: CODING_SECTION.to_owned(),
            skills: names,
            questions: coding_questions.clone(),
        });
    }
    if sections.iter().all(|s| s.questions.is_empty()) {
        let kinds: Vec<&str> = options.question_types.iter().map(|k| k.as_str()).collect();
        return Err(AssemblyError::NothingFits(kinds.join(", ")));
    }

    // Skills with questions, in the order of importance.
    let tested: HashSet<&str> = sections
        .iter()
        .flat_map(|s| s.questions.iter().map(|q| q.skill.as_str()))
        .collect();
    let kept: Vec<&super::analysis::RankedSkill> = skills
        .iter()
        .filter(|s| tested.contains(s.name.as_str()))
        .collect();
    let details = kept
        .iter()
        .map(|skill| SkillDetail {
            name: skill.name.clone(),
            source: skill.source(),
            weight: if skill.required {
                SkillWeight::Required
            } else {
                SkillWeight::Preferred
            },
            family: families.id(skill.family).to_owned(),
            kind: skill.kind.as_str().to_owned(),
            parent: skill.parent.map(|p| taxonomy.skill(p).name.clone()),
        })
        .collect();
    Ok(Assessment {
        id: request.assessment_id.clone(),
        name: format!("{} Assessment", request.job_role),
        job_role: request.job_role.to_owned(),
        seniority: seniority.as_str().to_owned(),
        cutoff: request.cutoff,
        skills: kept.iter().map(|s| s.name.clone()).collect(),
        skill_details: details,
        proctoring: proctoring(families, analysis, !coding_questions.is_empty()),
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_gives_everyone_a_share_and_sums_to_the_total() {
        let shares = apportion(18, &[2.0, 2.0, 1.0, 1.0], true);
        assert_eq!(shares.iter().sum::<usize>(), 18);
        assert!(shares.iter().all(|s| *s >= 1));
        assert!(shares[0] >= shares[3]);
        assert_eq!(
            apportion(2, &[1.0, 1.0, 1.0], true).iter().sum::<usize>(),
            2
        );
        assert_eq!(apportion(2, &[0.1, 0.45, 0.45], false), vec![0, 1, 1]);
    }

    #[test]
    fn the_draw_depends_on_the_seed_only() {
        let a = uniform("job-1", "Python", "python-01");
        assert_eq!(a, uniform("job-1", "Python", "python-01"));
        assert_ne!(a, uniform("job-2", "Python", "python-01"));
        assert!(a > 0.0 && a <= 1.0);
    }

    #[test]
    fn a_skill_gets_an_open_slot_when_it_has_three_or_its_objective_questions_run_out() {
        let classes = |slots: Vec<Slot>| slots.iter().map(|s| s.class).collect::<Vec<_>>();
        assert_eq!(
            classes(skill_slots(
                0,
                2,
                (10, 3),
                &[],
                &mut Mixer::new(Seniority::Mid)
            )),
            vec![Class::Objective; 2]
        );
        let three = classes(skill_slots(
            0,
            3,
            (10, 3),
            &[],
            &mut Mixer::new(Seniority::Mid),
        ));
        assert_eq!(three.iter().filter(|c| **c == Class::Open).count(), 1);
        assert_eq!(
            classes(skill_slots(
                0,
                2,
                (0, 3),
                &[],
                &mut Mixer::new(Seniority::Senior)
            )),
            vec![Class::Open; 2]
        );
    }
}
