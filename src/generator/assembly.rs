//! Putting an assessment together: how many questions at which difficulty for the seniority,
//! a share per skill by importance, sections by skill category, a coding section for roles that
//! write code, a length in the usual range, and proctoring that fits the role.

use std::collections::{BTreeMap, HashSet};

use assessment_domain::{
    Assessment, Difficulty, GenerationOptions, Proctoring, Question, QuestionType, Section,
};

use super::analysis::{Analysis, Seniority};
use super::taxonomy::{Family, Taxonomy};

/// Most sections an assessment has.
pub const MAX_SECTIONS: usize = 6;
/// Length an assessment keeps under unless the request asks otherwise, in minutes.
pub const DEFAULT_MAX_MINUTES: u32 = 75;
/// Fewest questions trimming for length may leave.
const MIN_QUESTIONS: usize = 5;
const CODING_SECTION: &str = "Coding";

/// The questions found for one chosen skill, best first.
#[derive(Debug, Clone)]
pub struct Found {
    pub skill: usize,
    pub questions: Vec<Question>,
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
        Seniority::Senior => &[
            (Difficulty::Easy, 0.1),
            (Difficulty::Medium, 0.45),
            (Difficulty::Hard, 0.45),
        ],
    }
}

pub fn searched_difficulties(seniority: Seniority) -> Vec<Difficulty> {
    difficulty_mix(seniority).iter().map(|(d, _)| *d).collect()
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

/// Picks `quota` questions from `pool` (best first), following the seniority's mix.
fn pick(pool: &[&Question], quota: usize, seniority: Seniority) -> Vec<Question> {
    let mix = difficulty_mix(seniority);
    let weights: Vec<f32> = mix.iter().map(|(_, share)| *share).collect();
    let wanted = apportion(quota, &weights, false);
    let mut chosen: Vec<&Question> = Vec::new();
    let mut subjective = 0;
    let mut allowed = |q: &Question, chosen: &[&Question]| {
        let fresh = !chosen.iter().any(|c| c.id == q.id);
        // Open questions take long: one per skill keeps the assessment balanced.
        let ok = fresh && (q.kind != QuestionType::Subjective || subjective == 0);
        if ok && q.kind == QuestionType::Subjective {
            subjective += 1;
        }
        ok
    };
    for ((difficulty, _), count) in mix.iter().zip(wanted) {
        let mut taken = 0;
        for question in pool.iter().filter(|q| q.difficulty == *difficulty) {
            if taken == count {
                break;
            }
            if allowed(question, &chosen) {
                chosen.push(question);
                taken += 1;
            }
        }
    }
    for question in pool {
        if chosen.len() >= quota {
            break;
        }
        if allowed(question, &chosen) {
            chosen.push(question);
        }
    }
    let rank = |q: &Question| (q.difficulty, q.kind == QuestionType::Subjective);
    chosen.sort_by_key(|q| rank(q));
    chosen.into_iter().cloned().collect()
}

fn proctoring(family: Option<Family>, seniority: Seniority, has_coding: bool) -> Proctoring {
    let technical = family.is_some_and(|f| f.writes_code() || f == Family::Security);
    let regulated = matches!(family, Some(Family::Healthcare | Family::Finance));
    let senior = seniority == Seniority::Senior;
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
    pub job_role: &'a str,
    pub cutoff: u8,
    pub options: &'a GenerationOptions,
}

pub fn assemble(
    taxonomy: &Taxonomy,
    request: &Request<'_>,
    analysis: &Analysis,
    found: &[Found],
) -> Result<Assessment, AssemblyError> {
    let options = request.options;
    let seniority = analysis.seniority;
    let type_allowed = |kind: QuestionType| {
        options.question_types.is_empty() || options.question_types.contains(&kind)
    };
    let writes_code = analysis.role_family.is_some_and(Family::writes_code);
    let max_minutes = options.duration_minutes.unwrap_or(DEFAULT_MAX_MINUTES);

    // The coding section: programming skills of a role that writes code.
    let mut coding: Vec<Question> = Vec::new();
    if writes_code && type_allowed(QuestionType::Coding) {
        let mut candidates: Vec<&Question> = found
            .iter()
            .filter(|f| taxonomy.skill(f.skill).programming)
            .flat_map(|f| f.questions.iter())
            .filter(|q| q.kind == QuestionType::Coding)
            .collect();
        if let Some(language) = &options.language {
            candidates.sort_by_key(|q| q.language.as_deref() != Some(language.as_str()));
        }
        let mut seen = HashSet::new();
        coding = candidates
            .into_iter()
            .filter(|q| seen.insert(q.id.clone()))
            .take(coding_questions_for(max_minutes))
            .cloned()
            .collect();
    }

    let target = options
        .question_count
        .map(|n| n as usize)
        .unwrap_or_else(|| default_question_count(seniority))
        .saturating_sub(coding.len())
        .max(1);
    let pools: Vec<Vec<&Question>> = found
        .iter()
        .map(|f| {
            f.questions
                .iter()
                .filter(|q| q.kind != QuestionType::Coding && type_allowed(q.kind))
                .collect()
        })
        .collect();
    let weights: Vec<f32> = analysis
        .skills
        .iter()
        .map(|s| if s.required { 2.0 } else { 1.0 })
        .chain(std::iter::repeat(1.0))
        .take(found.len())
        .collect();
    let quotas = apportion(target, &weights, true);
    let mut picked: Vec<(usize, Vec<Question>)> = found
        .iter()
        .zip(&pools)
        .zip(quotas)
        .map(|((f, pool), quota)| (f.skill, pick(pool, quota.min(pool.len()), seniority)))
        .collect();

    // Keep to the length: take out questions of whichever difficulty is most over its share,
    // the longest first and from the least important skill, a skill's last question last.
    let cap_seconds = max_minutes * 60;
    let mix = difficulty_mix(seniority);
    loop {
        let questions = picked.iter().flat_map(|(_, qs)| qs.iter()).chain(&coding);
        let total_seconds: u32 = questions.clone().map(|q| q.duration_seconds).sum();
        let count = questions.clone().count();
        if total_seconds <= cap_seconds || count <= MIN_QUESTIONS {
            break;
        }
        let excess = |difficulty: Difficulty| {
            let share = mix
                .iter()
                .find(|(d, _)| *d == difficulty)
                .map_or(0.0, |(_, s)| *s);
            let have = questions
                .clone()
                .filter(|q| q.difficulty == difficulty)
                .count();
            have as f32 - share * count as f32
        };
        let candidate = picked
            .iter()
            .enumerate()
            .filter(|(_, (_, qs))| qs.len() > 1)
            .flat_map(|(skill, (_, qs))| qs.iter().enumerate().map(move |(i, q)| (skill, i, q)))
            .max_by(|a, b| {
                excess(a.2.difficulty)
                    .total_cmp(&excess(b.2.difficulty))
                    .then(a.2.duration_seconds.cmp(&b.2.duration_seconds))
                    .then(a.0.cmp(&b.0))
            })
            .map(|(skill, index, _)| (skill, index));
        match candidate {
            Some((skill, index)) => {
                picked[skill].1.remove(index);
            }
            // Every skill is down to one question: give up the coding question, then the least
            // important skills.
            None if !coding.is_empty() => coding.clear(),
            None => match picked.iter_mut().rev().find(|(_, qs)| !qs.is_empty()) {
                Some((_, questions)) => questions.clear(),
                None => break,
            },
        }
    }

    // Sections by category, in the order of the skills' importance.
    let mut categories: Vec<String> = Vec::new();
    let mut by_category: BTreeMap<String, Section> = BTreeMap::new();
    let room = MAX_SECTIONS - usize::from(!coding.is_empty());
    for (skill_index, questions) in &picked {
        if questions.is_empty() {
            continue;
        }
        let skill = taxonomy.skill(*skill_index);
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
    if !coding.is_empty() {
        let mut skills: Vec<String> = Vec::new();
        for question in &coding {
            if !skills.contains(&question.skill) {
                skills.push(question.skill.clone());
            }
        }
        sections.push(Section {
            name: CODING_SECTION.to_owned(),
            skills,
            questions: coding.clone(),
        });
    }
    if sections.iter().all(|s| s.questions.is_empty()) {
        let kinds: Vec<&str> = options.question_types.iter().map(|k| k.as_str()).collect();
        return Err(AssemblyError::NothingFits(kinds.join(", ")));
    }

    let mut skills: Vec<String> = Vec::new();
    for section in &sections {
        for skill in &section.skills {
            if !skills.contains(skill) {
                skills.push(skill.clone());
            }
        }
    }
    // Keep the order of importance, not of sections.
    let rank = |name: &String| {
        analysis
            .skills
            .iter()
            .position(|s| &taxonomy.skill(s.skill).name == name)
            .unwrap_or(usize::MAX)
    };
    skills.sort_by_key(rank);
    Ok(Assessment {
        id: request.assessment_id.clone(),
        name: format!("{} Assessment", request.job_role),
        job_role: request.job_role.to_owned(),
        seniority: seniority.as_str().to_owned(),
        cutoff: request.cutoff,
        skills,
        proctoring: proctoring(analysis.role_family, seniority, !coding.is_empty()),
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
}
