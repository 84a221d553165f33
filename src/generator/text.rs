//! Reading the shape of a job ad: whole-word matching, and the ad cut into sentences and
//! bullet items, each marked by what it is (a requirement, a duty, a nice-to-have, the company
//! blurb or the benefits) from the headings above it and the words in it.

pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `text[start..end]` stands as a whole word: not inside a longer word, not followed by
/// `+` or `#` ("C" is not in "C++"), not joined by `&` ("R" is not in "R&D"), and not the head
/// of a hyphenated word ("C" is not in "C-suite").
pub fn stands_alone(text: &str, start: usize, end: usize) -> bool {
    let needle = &text[start..end];
    let before = text[..start].chars().next_back();
    let mut after_chars = text[end..].chars();
    let after = after_chars.next();
    let joins = |c: char| is_word_char(c) || c == '&';
    let starts_word = needle.chars().next().is_some_and(is_word_char);
    let ends_word = needle.chars().next_back().is_some_and(is_word_char);
    let starts_ok = !starts_word || before.is_none_or(|c| !joins(c));
    let hyphenated = after == Some('-') && after_chars.next().is_some_and(char::is_alphanumeric);
    let ends_ok = !ends_word
        || after.is_none_or(|c| {
            !joins(c) && c != '+' && c != '#' && !(hyphenated && needle.len() <= 2)
        });
    starts_ok && ends_ok
}

/// Offsets where `needle` stands in `haystack` as a whole word.
pub fn whole_word_offsets(haystack: &str, needle: &str) -> Vec<usize> {
    let mut found = Vec::new();
    if needle.is_empty() {
        return found;
    }
    let mut start = 0;
    while let Some(offset) = haystack[start..].find(needle) {
        let at = start + offset;
        if stands_alone(haystack, at, at + needle.len()) {
            found.push(at);
        }
        start = at + needle.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// Words that carry no meaning of their own in a skill name ("Design for Manufacturing").
pub const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "by", "at", "from", "as",
    "into", "via", "per", "our", "your", "their", "its", "his", "her", "s",
];

/// A word of a text with where it stands and its stem ("reconciling" -> "reconcil").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub stem: String,
}

thread_local! {
    static STEMMER: frostem::Stemmer = frostem::Stemmer::new(frostem::Algorithm::English);
    /// Stems already computed on this thread, by word.
    static STEMS: std::cell::RefCell<std::collections::HashMap<String, String>> =
        std::cell::RefCell::default();
}

/// How many words' stems a thread remembers at most.
const STEMS_KEPT: usize = 100_000;

/// The stem of one lower-case word, folded a little further than Snowball's so a noun and its
/// verb meet ("reconciliation" and "reconcile", "analysis" and "analyze").
pub fn stem(word: &str) -> String {
    STEMS.with_borrow_mut(|stems| {
        if let Some(known) = stems.get(word) {
            return known.clone();
        }
        let mut stem = STEMMER.with(|stemmer| stemmer.stem(word).into_owned());
        if stem.len() > 4 && stem.ends_with('i') {
            stem.pop();
        }
        let stem = stem.replace('z', "s");
        // Ads and spellings reuse a few thousand words; a text of invented ones cannot make
        // the memo grow without bound.
        if stems.len() >= STEMS_KEPT {
            stems.clear();
        }
        stems.insert(word.to_owned(), stem.clone());
        stem
    })
}

/// The words of `text[start..end]` with their stems, function words left out.
pub fn tokens(text: &str, start: usize, end: usize) -> Vec<Token> {
    let mut found = Vec::new();
    let mut word_start: Option<usize> = None;
    let slice = &text[start..end];
    let push = |from: usize, to: usize, found: &mut Vec<Token>| {
        let word = slice[from..to].to_lowercase();
        if !FUNCTION_WORDS.contains(&word.as_str()) {
            found.push(Token {
                start: start + from,
                end: start + to,
                stem: stem(&word),
            });
        }
    };
    for (index, c) in slice.char_indices() {
        if c.is_alphanumeric() {
            word_start.get_or_insert(index);
        } else if let Some(from) = word_start.take() {
            push(from, index, &mut found);
        }
    }
    if let Some(from) = word_start {
        push(from, slice.len(), &mut found);
    }
    found
}

/// What a piece of the ad is, as far as the skills it names are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Emphasis {
    /// Benefits, equal-opportunity statements, how to apply: names nothing the job needs.
    Noise,
    /// Nice to have, a plus, preferred.
    Preferred,
    /// About the company or the team, before the role's own sections.
    Intro,
    /// Plain text of an ad without sections.
    Neutral,
    /// What the person will do.
    Duty,
    /// What the person must have.
    Required,
}

impl Emphasis {
    /// How much a skill named here counts.
    pub fn weight(self) -> f32 {
        match self {
            Emphasis::Noise => 0.0,
            Emphasis::Preferred => 0.5,
            Emphasis::Intro => 0.6,
            Emphasis::Neutral | Emphasis::Duty => 0.9,
            Emphasis::Required => 1.0,
        }
    }

    /// A skill named here is required (not merely preferred).
    pub fn requires(self) -> bool {
        self > Emphasis::Preferred
    }
}

/// A sentence or bullet item of the ad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub start: usize,
    pub end: usize,
    pub emphasis: Emphasis,
    /// A bullet or list line (short items are skill names more often than prose is).
    pub listed: bool,
}

const REQUIRED_HEADINGS: &[&str] = &[
    "requirements",
    "requirement",
    "qualifications",
    "qualification",
    "minimum qualifications",
    "basic qualifications",
    "required",
    "required skills",
    "required experience",
    "must have",
    "must haves",
    "must-have",
    "must-haves",
    "what you'll need",
    "what you will need",
    "what you need",
    "what we need",
    "what we're looking for",
    "what we are looking for",
    "what you bring",
    "what you'll bring",
    "what you will bring",
    "who you are",
    "about you",
    "you have",
    "you are",
    "you should have",
    "skills",
    "key skills",
    "technical skills",
    "skills and experience",
    "skills & experience",
    "skills and qualifications",
    "skills & qualifications",
    "experience",
    "experience and skills",
    "essential",
    "essential criteria",
    "essential skills",
    "competencies",
    "key competencies",
    "your profile",
    "profile",
    "ideal candidate",
    "the ideal candidate",
    "you might be a fit if",
    "you may be a fit if",
    "you'll thrive if",
    "you will thrive if",
    "tech stack",
    "our stack",
    "stack",
    "tools",
    "technologies",
    "knowledge",
    "candidate requirements",
    "job requirements",
    "qualifications and experience",
    "education and experience",
    "person specification",
    "knowledge, skills and abilities",
    "knowledge skills and abilities",
    "physical requirements",
];

const PREFERRED_HEADINGS: &[&str] = &[
    "nice to have",
    "nice to haves",
    "nice-to-have",
    "nice-to-haves",
    "bonus",
    "bonus points",
    "bonus points if",
    "bonus skills",
    "preferred",
    "preferred qualifications",
    "preferred skills",
    "preferred experience",
    "desirable",
    "desirable criteria",
    "desirable skills",
    "desired",
    "desired skills",
    "desired qualifications",
    "plus",
    "pluses",
    "extra credit",
    "good to have",
    "ideally",
    "it would be great if",
    "even better if",
    "additional skills",
    "additional qualifications",
    "what would make you stand out",
    "what sets you apart",
    "optional",
];

const DUTY_HEADINGS: &[&str] = &[
    "responsibilities",
    "key responsibilities",
    "main responsibilities",
    "your responsibilities",
    "job responsibilities",
    "what you'll do",
    "what you will do",
    "what you'll be doing",
    "what you will be doing",
    "what you'll work on",
    "the role",
    "your role",
    "role",
    "duties",
    "main duties",
    "key duties",
    "duties and responsibilities",
    "day to day",
    "day-to-day",
    "a day in the life",
    "in this role",
    "in this role you will",
    "your impact",
    "the job",
    "job description",
    "about the role",
    "about the job",
    "about the position",
    "the position",
    "position summary",
    "job summary",
    "summary",
    "role overview",
    "overview of the role",
    "the opportunity",
    "tasks",
    "accountabilities",
    "your mission",
    "the work",
];

const INTRO_HEADINGS: &[&str] = &[
    "about us",
    "about the company",
    "about the team",
    "the team",
    "our team",
    "who we are",
    "our company",
    "company overview",
    "company description",
    "the company",
    "our story",
    "our mission",
    "our culture",
    "culture",
    "our values",
    "values",
    "life at",
];

const NOISE_HEADINGS: &[&str] = &[
    "benefits",
    "perks",
    "perks and benefits",
    "perks & benefits",
    "benefits and perks",
    "what we offer",
    "what we can offer",
    "what's in it for you",
    "what you'll get",
    "what you will get",
    "why join us",
    "why join",
    "why us",
    "why work with us",
    "why you'll love working here",
    "compensation",
    "compensation and benefits",
    "salary",
    "salary and benefits",
    "pay",
    "equal opportunity",
    "equal opportunity employer",
    "eeo statement",
    "eeo",
    "diversity",
    "diversity and inclusion",
    "diversity, equity and inclusion",
    "how to apply",
    "to apply",
    "application process",
    "hiring process",
    "interview process",
    "our process",
    "next steps",
    "location",
    "working hours",
    "hours",
    "schedule",
    "contract",
    "job type",
];

const PREFERRED_MARKERS: &[&str] = &[
    "preferred",
    "nice to have",
    "nice-to-have",
    "bonus",
    "a plus",
    "is a plus",
    "are a plus",
    "plus if",
    "desirable",
    "desired",
    "ideally",
    "optional",
    "exposure to",
    "advantage",
    "advantageous",
    "would be great",
    "would be nice",
    "good to have",
    "not required",
    "not essential",
    "not a must",
    "helpful but",
    "is helpful",
    "are helpful",
    "would help",
    "beneficial",
    "extra points",
    "brownie points",
];

const NOISE_MARKERS: &[&str] = &[
    "equal opportunity",
    "equal-opportunity",
    "we offer",
    "we provide",
    "benefits include",
    "our benefits",
    "paid time off",
    "401(k)",
    "401k",
    "health insurance",
    "dental insurance",
    "medical, dental",
    "parental leave",
    "stock options",
    "apply now",
    "to apply,",
    "regardless of",
    "veteran status",
    "sexual orientation",
    "salary range",
    "compensation range",
    "pay range",
    "visa sponsorship",
    "reasonable accommodation",
    "gym membership",
    "wellness stipend",
    "learning budget",
    "remote-first",
    "hybrid working",
];

/// Words that end a sentence when followed by a period (abbreviations do not).
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "incl", "approx", "sr", "jr", "mr", "mrs", "ms", "dr", "st", "no",
    "inc", "ltd", "co", "dept", "min", "max", "esp", "resp",
];

fn normalized_heading(line: &str) -> String {
    let trimmed = line
        .trim()
        .trim_start_matches(['#', '*', '_', '=', '-', '>', ' '])
        .trim_end_matches(['*', '_', '=', '-', ' ', ':', '.', '!', '?'])
        .trim();
    trimmed
        .to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The emphasis a heading sets, if `phrase` reads as one.
fn heading_emphasis(phrase: &str) -> Option<Emphasis> {
    let lists: [(&[&str], Emphasis); 5] = [
        (PREFERRED_HEADINGS, Emphasis::Preferred),
        (NOISE_HEADINGS, Emphasis::Noise),
        (INTRO_HEADINGS, Emphasis::Intro),
        (DUTY_HEADINGS, Emphasis::Duty),
        (REQUIRED_HEADINGS, Emphasis::Required),
    ];
    let mut best: Option<(usize, Emphasis)> = None;
    for (list, emphasis) in lists {
        for heading in list {
            // "Requirements", "Requirements and skills", "About the role at Acme".
            let matches = phrase == *heading
                || (phrase.starts_with(heading)
                    && phrase[heading.len()..].starts_with([' ', ',', '/', '&', '(']));
            if matches && best.is_none_or(|(len, _)| heading.len() > len) {
                best = Some((heading.len(), emphasis));
            }
        }
    }
    best.map(|(_, emphasis)| emphasis)
}

fn is_bullet(line: &str) -> bool {
    let trimmed = line.trim_start();
    let mut chars = trimmed.chars();
    match chars.next() {
        Some('-' | '*' | '•' | '·' | '▪' | '◦' | '–' | '—' | '+' | '>' | '✓' | '✔') => {
            true
        }
        Some(c) if c.is_ascii_digit() => {
            let rest: String = chars.take_while(|c| c.is_ascii_digit()).collect();
            let after = trimmed[1 + rest.len()..].chars().next();
            matches!(after, Some('.' | ')')) && trimmed[2 + rest.len()..].starts_with(' ')
        }
        _ => false,
    }
}

/// A line that is a heading: short, no sentence inside, and either a known heading phrase,
/// ending in a colon, or written in capitals.
fn heading_of(line: &str) -> Option<Option<Emphasis>> {
    let trimmed = line.trim();
    if trimmed.is_empty() || is_bullet(trimmed) || trimmed.len() > 80 {
        return None;
    }
    let words = trimmed.split_whitespace().count();
    let phrase = normalized_heading(trimmed);
    let known = heading_emphasis(&phrase);
    let colon = trimmed.ends_with(':');
    let letters: Vec<char> = trimmed.chars().filter(|c| c.is_alphabetic()).collect();
    let capitals = letters.len() >= 4 && letters.iter().all(|c| c.is_uppercase());
    let sentence = trimmed.trim_end_matches(['.', ' ']).contains(". ") || trimmed.ends_with('.');
    if sentence || words > 9 {
        return None;
    }
    if known.is_some() && (words <= 6 || colon || capitals) {
        return Some(known);
    }
    if colon || capitals || trimmed.starts_with('#') {
        return Some(None);
    }
    None
}

/// Byte ranges of the sentences of one line.
fn sentences(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let line = &text[start..end];
    let mut pieces = Vec::new();
    let mut from = 0;
    let bytes = line.as_bytes();
    for (index, c) in line.char_indices() {
        let next = index + c.len_utf8();
        let split = match c {
            ';' | '!' | '?' | '•' => true,
            '.' => {
                let followed_by_space = bytes.get(next).is_none_or(|b| *b == b' ');
                let word: String = line[from..index]
                    .rsplit(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or("")
                    .to_lowercase();
                let abbreviation = ABBREVIATIONS.contains(&word.trim_start_matches('('));
                let upcoming = line[next..].trim_start().chars().next();
                followed_by_space && !abbreviation && upcoming.is_none_or(|c| !c.is_lowercase())
            }
            _ => false,
        };
        if split {
            if line[from..next].trim().len() > 1 {
                pieces.push((start + from, start + next));
            }
            from = next;
        }
    }
    if line[from..].trim().len() > 1 {
        pieces.push((start + from, end));
    }
    pieces
}

fn contains_any(haystack: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack.contains(n))
}

/// A sentence that opens with an inline heading ("Nice to have: Redis, gRPC") takes its
/// emphasis, and that emphasis carries on to the sentences after it.
fn inline_heading(sentence: &str) -> Option<Emphasis> {
    let (head, rest) = sentence.split_once(':')?;
    if head.split_whitespace().count() > 6 || rest.trim().is_empty() {
        return None;
    }
    heading_emphasis(&normalized_heading(head))
}

/// Cuts the ad into units. Text before the first heading of an ad that has headings is the
/// company's introduction; an ad without headings is plain text throughout.
pub fn segment(text: &str) -> Vec<Unit> {
    let mut lines = Vec::new();
    let mut at = 0;
    for line in text.split('\n') {
        lines.push((at, at + line.len()));
        at += line.len() + 1;
    }
    let has_headings = lines.iter().any(|&(s, e)| {
        heading_of(&text[s..e]).is_some_and(|h| h.is_some())
            || inline_heading(text[s..e].trim()).is_some()
    });
    let mut section = if has_headings {
        Emphasis::Intro
    } else {
        Emphasis::Neutral
    };
    let mut units = Vec::new();
    for (start, end) in lines {
        let line = &text[start..end];
        if line.trim().is_empty() {
            continue;
        }
        if let Some(heading) = heading_of(line) {
            // An unknown heading ("About Acme Robotics:") keeps the duty / requirement
            // reading of the ad's body but ends a noise section.
            section = match heading {
                Some(emphasis) => emphasis,
                None if section == Emphasis::Noise || section == Emphasis::Intro => {
                    Emphasis::Neutral
                }
                None => section,
            };
            continue;
        }
        let listed = is_bullet(line);
        for (s, e) in sentences(text, start, end) {
            let sentence = text[s..e].trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, '-' | '*' | '•' | '·' | '▪' | '◦' | '–' | '—')
            });
            if let Some(emphasis) = inline_heading(sentence) {
                section = emphasis;
            }
            let lower = sentence.to_lowercase();
            let emphasis = if contains_any(&lower, NOISE_MARKERS) {
                Emphasis::Noise
            } else if section != Emphasis::Noise && contains_any(&lower, PREFERRED_MARKERS) {
                Emphasis::Preferred
            } else {
                section
            };
            units.push(Unit {
                start: s,
                end: e,
                emphasis,
                listed,
            });
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, Emphasis)> {
        segment(text)
            .into_iter()
            .map(|u| (text[u.start..u.end].trim().to_owned(), u.emphasis))
            .collect()
    }

    fn emphasis_of(units: &[(String, Emphasis)], needle: &str) -> Emphasis {
        units
            .iter()
            .find(|(text, _)| text.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in {units:?}"))
            .1
    }

    #[test]
    fn headings_set_what_the_lines_below_them_are() {
        let ad = "About us\nWe are a fintech on AWS.\n\nWhat you'll do:\n- Build APIs in Go\n\
                  \nRequirements\n- 5+ years of Kotlin\n- SQL\n\nNice to have\n- Redis\n\n\
                  BENEFITS\n- Gym membership and Python training budget\n";
        let units = read(ad);
        assert_eq!(emphasis_of(&units, "fintech"), Emphasis::Intro);
        assert_eq!(emphasis_of(&units, "Build APIs"), Emphasis::Duty);
        assert_eq!(emphasis_of(&units, "Kotlin"), Emphasis::Required);
        assert_eq!(emphasis_of(&units, "SQL"), Emphasis::Required);
        assert_eq!(emphasis_of(&units, "Redis"), Emphasis::Preferred);
        assert_eq!(emphasis_of(&units, "Python"), Emphasis::Noise);
        assert!(segment(ad)
            .iter()
            .all(|u| !text_is_heading(&ad[u.start..u.end])));
    }

    fn text_is_heading(text: &str) -> bool {
        heading_of(text).is_some_and(|h| h.is_some())
    }

    #[test]
    fn sentences_split_on_periods_but_not_on_abbreviations_or_names() {
        let units = read(
            "We use Node.js and e.g. Vue for the UI. Docker is a plus. Nice to have: Redis, gRPC.",
        );
        assert_eq!(units.len(), 3, "{units:?}");
        assert_eq!(emphasis_of(&units, "Node.js"), Emphasis::Neutral);
        assert_eq!(emphasis_of(&units, "Docker"), Emphasis::Preferred);
        assert_eq!(emphasis_of(&units, "Redis"), Emphasis::Preferred);
    }

    #[test]
    fn tokens_carry_stems_and_skip_function_words() {
        let text = "Reconciling the bank accounts";
        let stems: Vec<String> = tokens(text, 0, text.len())
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(stems, ["reconcil", "bank", "account"]);
        assert_eq!(stem("reconciliation"), stem("reconcile"));
        assert_eq!(stem("analysis"), stem("analyze"));
        assert_eq!(stem("management"), stem("managing"));
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(whole_word_offsets("good go, Go", "Go"), vec![9]);
        assert!(whole_word_offsets("C++ and C#", "C").is_empty());
        assert!(whole_word_offsets("R&D", "R").is_empty());
        assert!(whole_word_offsets("C-suite", "C").is_empty());
        assert_eq!(whole_word_offsets("Java-based", "Java"), vec![0]);
    }
}
