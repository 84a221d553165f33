//! The question library (`data/questions/*.json`) and its full-text index: a tantivy index in
//! memory, searched per skill with BM25, filtered by skill and difficulty.

use std::collections::{HashMap, HashSet};

use assessment_domain::{Difficulty, Question, QuestionType, TestCase};
use serde::Deserialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, Value, INDEXED, STORED, STRING, TEXT};
use tantivy::{doc, Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use super::taxonomy::Taxonomy;

/// The library files, compiled into the binary so it runs from anywhere.
pub const PARTS: [(&str, &str); 28] = [
    (
        "part1.json",
        include_str!("../../data/questions/part1.json"),
    ),
    (
        "part2.json",
        include_str!("../../data/questions/part2.json"),
    ),
    (
        "part3.json",
        include_str!("../../data/questions/part3.json"),
    ),
    (
        "part4.json",
        include_str!("../../data/questions/part4.json"),
    ),
    (
        "part5.json",
        include_str!("../../data/questions/part5.json"),
    ),
    (
        "part6.json",
        include_str!("../../data/questions/part6.json"),
    ),
    (
        "part7.json",
        include_str!("../../data/questions/part7.json"),
    ),
    (
        "part8.json",
        include_str!("../../data/questions/part8.json"),
    ),
    (
        "topup1.json",
        include_str!("../../data/questions/topup1.json"),
    ),
    (
        "topup2.json",
        include_str!("../../data/questions/topup2.json"),
    ),
    (
        "topup3.json",
        include_str!("../../data/questions/topup3.json"),
    ),
    (
        "topup4.json",
        include_str!("../../data/questions/topup4.json"),
    ),
    (
        "topup5.json",
        include_str!("../../data/questions/topup5.json"),
    ),
    ("new1.json", include_str!("../../data/questions/new1.json")),
    ("new2.json", include_str!("../../data/questions/new2.json")),
    ("new3.json", include_str!("../../data/questions/new3.json")),
    ("new4.json", include_str!("../../data/questions/new4.json")),
    ("new5.json", include_str!("../../data/questions/new5.json")),
    ("new6.json", include_str!("../../data/questions/new6.json")),
    ("new7.json", include_str!("../../data/questions/new7.json")),
    ("new8.json", include_str!("../../data/questions/new8.json")),
    ("new9.json", include_str!("../../data/questions/new9.json")),
    (
        "new10.json",
        include_str!("../../data/questions/new10.json"),
    ),
    (
        "new11.json",
        include_str!("../../data/questions/new11.json"),
    ),
    (
        "deep1.json",
        include_str!("../../data/questions/deep1.json"),
    ),
    (
        "deep2.json",
        include_str!("../../data/questions/deep2.json"),
    ),
    (
        "deep3.json",
        include_str!("../../data/questions/deep3.json"),
    ),
    (
        "deep4.json",
        include_str!("../../data/questions/deep4.json"),
    ),
];

/// A question as the library files write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryQuestion {
    id: String,
    skill: String,
    #[serde(rename = "type")]
    kind: QuestionType,
    difficulty: Difficulty,
    text: String,
    #[serde(default)]
    options: Vec<String>,
    #[serde(default)]
    answer: Vec<usize>,
    explanation: Option<String>,
    rubric: Option<String>,
    time_seconds: u32,
    language: Option<String>,
    starter_code: Option<String>,
    #[serde(default)]
    test_cases: Vec<TestCase>,
}

#[derive(Deserialize)]
struct LibraryFile {
    questions: Vec<LibraryQuestion>,
}

/// Why a question is unusable, whether it comes from the library or from a language model.
pub fn check(question: &Question) -> Result<(), String> {
    let objective = matches!(
        question.kind,
        QuestionType::MultipleChoice | QuestionType::MultipleSelect | QuestionType::TrueFalse
    );
    let options = question.options.len();
    let answers = question.correct_options.len();
    let distinct: HashSet<&String> = question.options.iter().collect();
    let texts = [
        Some(&question.text),
        question.explanation.as_ref(),
        question.rubric.as_ref(),
    ];
    let has_nul = texts
        .into_iter()
        .flatten()
        .chain(&question.options)
        .any(|text| text.contains('\0'));
    let problems = [
        (question.text.trim().is_empty(), "empty text"),
        (has_nul, "a NUL character"),
        (
            !(20..=1800).contains(&question.duration_seconds),
            "time_seconds outside 20..1800",
        ),
        (distinct.len() != options, "duplicate options"),
        (
            question.correct_options.iter().any(|a| *a >= options),
            "an answer points at no option",
        ),
        (
            objective && question.explanation.as_deref().unwrap_or("").is_empty(),
            "objective question without explanation",
        ),
        (
            question.kind == QuestionType::MultipleChoice && (options < 3 || answers != 1),
            "multiple_choice needs 3+ options and one answer",
        ),
        (
            question.kind == QuestionType::MultipleSelect
                && (options < 4 || answers < 2 || answers >= options),
            "multiple_select needs 4+ options and 2..n-1 answers",
        ),
        (
            question.kind == QuestionType::TrueFalse
                && (question.options != ["True", "False"] || answers != 1),
            "true_false needs options [True, False] and one answer",
        ),
        (
            question.kind == QuestionType::Coding
                && (question.language.is_none()
                    || question.starter_code.is_none()
                    || question.test_cases.len() < 2
                    || question.rubric.is_none()),
            "coding needs language, starter_code, 2+ test_cases and a rubric",
        ),
        (
            question.kind == QuestionType::Subjective && question.rubric.is_none(),
            "subjective needs a rubric",
        ),
        (
            !objective && (options > 0 || answers > 0),
            "options on an open question",
        ),
    ];
    match problems.iter().find(|(bad, _)| *bad) {
        Some((_, problem)) => Err(format!("question {}: {problem}", question.id)),
        None => Ok(()),
    }
}

impl LibraryQuestion {
    fn into_question(self) -> Question {
        Question {
            id: self.id,
            skill: self.skill,
            kind: self.kind,
            difficulty: self.difficulty,
            text: self.text,
            options: self.options,
            correct_options: self.answer,
            explanation: self.explanation,
            rubric: self.rubric,
            duration_seconds: self.time_seconds,
            language: self.language,
            starter_code: self.starter_code,
            test_cases: self.test_cases,
        }
    }
}

struct Fields {
    ordinal: Field,
    skill: Field,
    difficulty: Field,
    body: Field,
}

pub struct Library {
    questions: Vec<Question>,
    per_skill: HashMap<String, usize>,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("questions", &self.questions.len())
            .finish()
    }
}

/// One search hit: the question and its BM25 score against the job.
#[derive(Debug, Clone)]
pub struct Hit<'a> {
    pub score: f32,
    pub question: &'a Question,
}

impl Library {
    /// Loads and checks library files (name, JSON) against the taxonomy, and indexes them.
    pub fn from_parts(parts: &[(&str, &str)], taxonomy: &Taxonomy) -> anyhow::Result<Library> {
        let mut questions = Vec::new();
        let mut ids = HashSet::new();
        let mut texts = HashSet::new();
        for (name, json) in parts {
            let file: LibraryFile =
                serde_json::from_str(json).map_err(|error| anyhow::anyhow!("{name}: {error}"))?;
            for question in file.questions {
                let question = question.into_question();
                check(&question).map_err(|problem| anyhow::anyhow!("{name}: {problem}"))?;
                anyhow::ensure!(
                    taxonomy.lookup(&question.skill).is_some(),
                    "{name}: question {} is for unknown skill {}",
                    question.id,
                    question.skill
                );
                anyhow::ensure!(
                    ids.insert(question.id.clone()),
                    "{name}: duplicate id {}",
                    question.id
                );
                let normalized: String = question
                    .text
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                anyhow::ensure!(
                    texts.insert(normalized),
                    "{name}: question {} repeats another's text",
                    question.id
                );
                questions.push(question);
            }
        }
        Self::index(questions)
    }

    pub fn embedded(taxonomy: &Taxonomy) -> anyhow::Result<Library> {
        Self::from_parts(&PARTS, taxonomy)
    }

    fn index(questions: Vec<Question>) -> anyhow::Result<Library> {
        let mut schema = Schema::builder();
        let fields = Fields {
            ordinal: schema.add_u64_field("ordinal", STORED | INDEXED),
            skill: schema.add_text_field("skill", STRING),
            difficulty: schema.add_text_field("difficulty", STRING),
            body: schema.add_text_field("body", TEXT),
        };
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000)?;
        for (ordinal, question) in questions.iter().enumerate() {
            let body = [
                question.text.as_str(),
                &question.options.join(" "),
                question.explanation.as_deref().unwrap_or(""),
                question.rubric.as_deref().unwrap_or(""),
            ]
            .join("\n");
            writer.add_document(doc!(
                fields.ordinal => ordinal as u64,
                fields.skill => question.skill.as_str(),
                fields.difficulty => question.difficulty.as_str(),
                fields.body => body,
            ))?;
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut per_skill: HashMap<String, usize> = HashMap::new();
        for question in &questions {
            *per_skill.entry(question.skill.clone()).or_default() += 1;
        }
        Ok(Library {
            questions,
            per_skill,
            index,
            reader,
            fields,
        })
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    /// How many questions the library has for a skill.
    pub fn count(&self, skill: &str) -> usize {
        self.per_skill.get(skill).copied().unwrap_or(0)
    }

    /// Questions of `skill` at one of `difficulties`, best match to `context` (the job's own
    /// words) first; ties keep library order, so the same job always gets the same questions.
    pub fn search(
        &self,
        skill: &str,
        difficulties: &[Difficulty],
        context: &str,
    ) -> anyhow::Result<Vec<Hit<'_>>> {
        let exact = |field: Field, text: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, text),
                IndexRecordOption::Basic,
            ))
        };
        let levels = BooleanQuery::new(
            difficulties
                .iter()
                .map(|d| (Occur::Should, exact(self.fields.difficulty, d.as_str())))
                .collect(),
        );
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, exact(self.fields.skill, skill)),
            (Occur::Must, Box::new(levels)),
        ];
        let words: String = context
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        if !words.trim().is_empty() {
            let parser = QueryParser::for_index(&self.index, vec![self.fields.body]);
            let (relevance, _) = parser.parse_query_lenient(&words);
            clauses.push((Occur::Should, relevance));
        }
        let searcher = self.reader.searcher();
        let found = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(self.questions.len().max(1)).order_by_score(),
        )?;
        let mut hits = Vec::with_capacity(found.len());
        for (score, address) in found {
            let stored: TantivyDocument = searcher.doc(address)?;
            let ordinal = stored
                .get_first(self.fields.ordinal)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| anyhow::anyhow!("indexed question without ordinal"))?;
            hits.push((ordinal as usize, score));
        }
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(hits
            .into_iter()
            .map(|(ordinal, score)| Hit {
                score,
                question: &self.questions[ordinal],
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn the_library_is_deep_where_jobs_ask_most() {
        let taxonomy = Taxonomy::embedded();
        let library = Library::embedded(&taxonomy).expect("library loads and passes its checks");
        let total = library.questions().len();
        assert!(total >= 3_000, "{total} questions");
        let mut per_skill: BTreeMap<&str, Vec<&Question>> = BTreeMap::new();
        for question in library.questions() {
            per_skill.entry(&question.skill).or_default().push(question);
        }
        let top = super::super::taxonomy::top_skills();
        assert_eq!(top.len(), 150);
        assert_eq!(top.iter().collect::<BTreeSet<_>>().len(), 150);
        for name in &top {
            assert!(
                taxonomy.lookup(name).is_some(),
                "{name} is not in the taxonomy"
            );
            let count = per_skill.get(name.as_str()).map_or(0, Vec::len);
            assert!(count >= 12, "{name} has {count} questions");
        }
        for (name, questions) in &per_skill {
            let skill = taxonomy.skill(taxonomy.lookup(name).unwrap());
            let levels: BTreeSet<_> = questions.iter().map(|q| q.difficulty).collect();
            assert!(levels.len() >= 2, "{name} has one difficulty");
            if skill.programming {
                assert!(
                    questions.iter().any(|q| q.kind == QuestionType::Coding),
                    "{name} has no coding question"
                );
            }
        }
        let kinds: BTreeSet<_> = library.questions().iter().map(|q| q.kind).collect();
        assert_eq!(kinds.len(), QuestionType::ALL.len());
    }

    #[test]
    fn a_broken_question_is_refused_with_its_id() {
        let taxonomy = Taxonomy::embedded();
        let bad = r#"{"questions": [{"id": "x-1", "skill": "Python", "type": "multiple_choice",
            "difficulty": "easy", "text": "Which?", "options": ["a", "b", "c"], "answer": [3],
            "explanation": "e", "time_seconds": 60}]}"#;
        let error = Library::from_parts(&[("bad.json", bad)], &taxonomy).unwrap_err();
        assert!(error.to_string().contains("x-1"), "{error}");
        let unknown = bad
            .replace("Python", "Basket Weaving")
            .replace("[3]", "[0]");
        let error = Library::from_parts(&[("bad.json", &unknown)], &taxonomy).unwrap_err();
        assert!(error.to_string().contains("unknown skill"), "{error}");
    }

    #[test]
    fn search_filters_by_skill_and_difficulty_and_ranks_by_the_job() {
        let taxonomy = Taxonomy::embedded();
        let library = Library::embedded(&taxonomy).unwrap();
        let hits = library
            .search(
                "Docker",
                &[Difficulty::Easy, Difficulty::Medium],
                "images containers",
            )
            .unwrap();
        assert!(!hits.is_empty());
        for hit in &hits {
            assert_eq!(hit.question.skill, "Docker");
            assert_ne!(hit.question.difficulty, Difficulty::Hard);
        }
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        let again = library
            .search(
                "Docker",
                &[Difficulty::Easy, Difficulty::Medium],
                "images containers",
            )
            .unwrap();
        let ids = |h: &[Hit]| h.iter().map(|h| h.question.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&hits), ids(&again));
        assert!(library.search("Docker", &[], "x").unwrap().is_empty());
    }
}
