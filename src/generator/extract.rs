//! The open vocabulary: skill phrases the taxonomy does not know, taken from the ad's own
//! requirement sentences: the lists after "experience with", "knowledge of", "proficiency in"
//! and the like, "Tools: a, b, c" lines, short bullet items, and the product names in them.
//! A phrase is kept only when it reads as a skill (a product name, an acronym, or a practice
//! or body of knowledge by its head noun), so company values and perks never become skills.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use super::taxonomy::{Mention, SkillKind, Taxonomy};
use super::text::{Emphasis, Unit};

/// A skill phrase found in the ad that the taxonomy does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// As the ad writes it, in Title Case if the ad wrote it in lower case.
    pub name: String,
    pub kind: SkillKind,
    /// A taxonomy skill the phrase is a part or flavour of ("Kotlin Multiplatform" -> Kotlin).
    pub parent: Option<usize>,
    /// Byte ranges of its mentions in the description.
    pub spans: Vec<(usize, usize)>,
    /// The strongest emphasis of its mentions.
    pub emphasis: Emphasis,
}

/// Lower-case words of the question library, the taxonomy's descriptions and the question
/// templates: a word found here in lower case is an ordinary word, so "Frame" or "Message" in
/// an ad is not a product name, while "Xactimate" or "Minitab" may be.
pub static VOCABULARY: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut words = HashSet::new();
    let mut add = |text: &str| {
        for word in text.split(|c: char| !(c.is_ascii_alphabetic() || c == '-' || c == '\'')) {
            let word = word.trim_matches(['-', '\'']);
            if word.len() >= 3 && word.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                words.insert(word.to_owned());
            }
        }
    };
    for (_, json) in super::library::PARTS {
        add(json);
    }
    for (_, json) in super::taxonomy::PARTS {
        add(json);
    }
    add(include_str!("../../data/templates.json"));
    words
});

/// Whether a capitalised word is an ordinary English word ("Frame") rather than a name.
fn ordinary(word: &str) -> bool {
    VOCABULARY.contains(&word.to_lowercase())
}

static TRIGGER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:
            (?:hands[- ]on\s+)?(?:experience|experienced|expertise|proficiency|proficient|skilled
              |skills|knowledge|familiarity|familiar|fluency|fluent|competence|competency
              |competent|exposure|understanding|grounding|command|mastery
              |comfortable|confident|versed|literate|literacy|trained|certified|qualified
              |track\ record|grasp)
            (?:\s+working)?\s+(?:with|in|of|using|on|around|across)
          | working\ knowledge\ of
          | hands[- ]on\s+(?:with|in)
          | (?:we|you'?ll|you\ will|you)\s+(?:use|work\ with|build\ with|know)
          | using | leveraging | utili[sz]ing | built\ (?:with|on|in) | based\ on
          | such\ as | including | e\.g\.,? | for\ example
          | (?:tools?|stack|technologies|platforms?|software|systems?)\s+(?:like|such\ as|including)
        )\s+",
    )
    .expect("valid regex")
});

/// Where a list that follows a trigger ends.
static CLAUSE_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[.;:!?\n]|\s(?:to|for|that|which|who|where|when|while|so|because|in\s+order|is|are|was|were|will|would|should|can|could|must|within|at|from|into|across|through|by|with|in|on|over|under|than|via|per|if|since|after|before|during|up|out|i\.e\.|e\.g\.)\s",
    )
    .expect("valid regex")
});

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i),|\s+(?:and/or|and|or|&|as\s+well\s+as|plus|nor|along\s+with|together\s+with)\s+|\s/\s|\(|\)|\s(?:such\s+as|including|like|e\.g\.,?|i\.e\.,?|especially|particularly|preferably|ideally)\s",
    )
    .expect("valid regex")
});

/// Words stripped from the front of an item.
const LEADING: &[&str] = &[
    "strong",
    "solid",
    "good",
    "great",
    "deep",
    "excellent",
    "exceptional",
    "outstanding",
    "proven",
    "demonstrated",
    "demonstrable",
    "working",
    "practical",
    "hands-on",
    "basic",
    "advanced",
    "expert",
    "expert-level",
    "modern",
    "some",
    "any",
    "other",
    "related",
    "relevant",
    "similar",
    "the",
    "a",
    "an",
    "one",
    "two",
    "more",
    "at",
    "least",
    "familiarity",
    "experience",
    "knowledge",
    "understanding",
    "proficiency",
    "with",
    "in",
    "of",
    "using",
    "use",
    "common",
    "popular",
    "various",
    "multiple",
    "several",
    "key",
    "core",
    "general",
    "sound",
    "thorough",
    "comprehensive",
    "extensive",
    "significant",
    "prior",
    "previous",
    "professional",
    "commercial",
    "production",
    "production-grade",
    "industry-standard",
    "standard",
    "latest",
    "current",
    "e.g.",
    "eg",
    "i.e.",
    "including",
    "such",
    "as",
    "like",
    "both",
    "either",
    "preferably",
    "ideally",
    "especially",
    "particularly",
    "mainly",
    "mostly",
    "primarily",
    "very",
    "highly",
    "well",
    "our",
    "your",
    "their",
    "its",
    "this",
    "these",
    "those",
    "and",
    "or",
    "to",
    "high-level",
    "in-depth",
    "fluent",
    "proficient",
    "confident",
    "skilled",
    "familiar",
    "comfortable",
    "strong,",
    "applied",
    "sharp",
    "superb",
    "keen",
    "robust",
    "effective",
    "efficient",
    "relevant",
    "appropriate",
    "necessary",
    "all",
    "each",
    "major",
    "leading",
    "established",
    "best",
    "first-hand",
    "direct",
    "mature",
    "large-scale",
    "complex",
    "exposure",
    "background",
    "grasp",
    "command",
    "mastery",
    "is",
    "are",
    "be",
];

/// Words stripped from the end of an item.
const TRAILING: &[&str] = &[
    "skills",
    "skill",
    "experience",
    "knowledge",
    "expertise",
    "proficiency",
    "background",
    "etc",
    "etc.",
    "preferred",
    "required",
    "desirable",
    "desired",
    "essential",
    "a",
    "plus",
    "is",
    "are",
    "bonus",
    "advantage",
    "necessary",
    "needed",
    "mandatory",
    "ideally",
    "preferably",
    "highly",
    "beneficial",
    "helpful",
    "welcome",
    "considered",
    "environment",
    "environments",
    "concepts",
    "fundamentals",
    "basics",
    "principles",
    "best",
    "practices",
    "capabilities",
    "abilities",
    "ability",
    "understanding",
    "familiarity",
    "exposure",
];

/// A phrase with any of these words is not a skill.
const REJECT: &[&str] = &[
    "you",
    "your",
    "we",
    "our",
    "us",
    "they",
    "their",
    "i",
    "me",
    "my",
    "he",
    "she",
    "it",
    "will",
    "would",
    "should",
    "could",
    "can",
    "must",
    "may",
    "might",
    "shall",
    "year",
    "years",
    "yrs",
    "month",
    "months",
    "degree",
    "degrees",
    "bachelor",
    "bachelor's",
    "bachelors",
    "master",
    "master's",
    "masters",
    "phd",
    "bsc",
    "msc",
    "b.sc",
    "m.sc",
    "beng",
    "b.eng",
    "meng",
    "m.eng",
    "btech",
    "b.tech",
    "mtech",
    "m.tech",
    "bcom",
    "b.com",
    "b.a",
    "b.s",
    "m.s",
    "mbbs",
    "llb",
    "p.eng",
    "peng",
    "ceng",
    "eit",
    "b.pharm",
    "m.pharm",
    "bpharm",
    "mpharm",
    "hons",
    "nzde",
    "ctc",
    "ba",
    "bs",
    "ms",
    "mba",
    "diploma",
    "gcse",
    "gcses",
    "ability",
    "able",
    "willingness",
    "willing",
    "passion",
    "passionate",
    "team",
    "teams",
    "teammates",
    "colleagues",
    "environment",
    "fast-paced",
    "deadline",
    "deadlines",
    "people",
    "someone",
    "anyone",
    "candidate",
    "candidates",
    "role",
    "roles",
    "company",
    "companies",
    "industry",
    "industries",
    "time",
    "hours",
    "shift",
    "shifts",
    "weekend",
    "weekends",
    "travel",
    "salary",
    "benefits",
    "opportunity",
    "opportunities",
    "attitude",
    "mindset",
    "self-starter",
    "motivated",
    "motivation",
    "detail",
    "details",
    "minimum",
    "similar",
    "equivalent",
    "field",
    "fields",
    "discipline",
    "subject",
    "pressure",
    "ownership",
    "curiosity",
    "curious",
    "enthusiasm",
    "eagerness",
    "desire",
    "drive",
    "hunger",
    "energy",
    "growth",
    "career",
    "culture",
    "values",
    "mission",
    "vision",
    "impact",
    "things",
    "stuff",
    "lot",
    "lots",
    "variety",
    "range",
    "number",
    "plenty",
    "startup",
    "startups",
    "scale-up",
    "scaleup",
    "enterprise",
    "organisation",
    "organization",
    "organizations",
    "organisations",
    "business",
    "businesses",
    "world",
    "global",
    "international",
    "remote",
    "hybrid",
    "office",
    "home",
    "location",
    "visa",
    "sponsorship",
    "license",
    "licence",
    "driving",
    "driver's",
    "english",
    "fluent",
    "native",
    "language",
    "languages",
    "how",
    "what",
    "why",
    "when",
    "where",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "there",
    "here",
    "it's",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "do",
    "does",
    "did",
    "done",
    "get",
    "got",
    "make",
    "makes",
    "made",
    "need",
    "needs",
    "want",
    "wants",
    "like",
    "love",
    "enjoy",
    "thrive",
    "help",
    "helps",
    "support",
    "supports",
    "ensure",
    "ensuring",
    "work",
    "works",
    "working",
    "job",
    "jobs",
    "position",
    "positions",
    "person",
    "individual",
    "individuals",
    "customers",
    "customer",
    "clients",
    "client",
    "users",
    "user",
    "partners",
    "stakeholders",
    "stakeholder",
    "leaders",
    "leadership",
    "managers",
    "members",
    "staff",
    "employees",
    "students",
    "patients",
    "guests",
    "public",
    "others",
    "everyone",
    "day",
    "days",
    "week",
    "weeks",
    "hour",
    "minutes",
    "today",
    "new",
    "existing",
    "own",
    "same",
    "different",
    "many",
    "much",
    "few",
    "little",
    "all",
    "every",
    "etc",
    "e.g",
    "i.e",
    "please",
    "apply",
    "resume",
    "cv",
    "portfolio",
    "interview",
    "offer",
    "equal",
    "opportunity",
    "employer",
    "diversity",
    "inclusion",
    "gender",
    "race",
    "age",
    "per",
    "hour",
    "salary",
    "pay",
    "bonus",
    "equity",
    "stock",
    "options",
    "pto",
    "vacation",
    "holiday",
    "holidays",
    "insurance",
    "pension",
    "401k",
    "rrsp",
    "kiwisaver",
    "lunch",
    "snacks",
    "coffee",
    "not",
    "no",
    "yes",
    "also",
    "just",
    "only",
    "even",
    "still",
    "already",
    "ideally",
    "preferred",
    "required",
    "requirements",
    "requirement",
    "qualification",
    "qualifications",
    "plus",
    "least",
    "most",
    "more",
    "less",
    "than",
    "then",
    "very",
    "quite",
    "really",
    "great",
    "good",
    "strong",
    "excellent",
    "outstanding",
    "exceptional",
    "proven",
    "level",
    "levels",
    "senior",
    "junior",
    "mid",
    "entry",
    "lead",
    "principal",
    "head",
    "manager",
    "director",
    "engineer",
    "engineers",
    "developer",
    "developers",
    "analyst",
    "analysts",
    "designer",
    "designers",
    "specialist",
    "specialists",
    "consultant",
    "consultants",
    "assistant",
    "associate",
    "associates",
    "intern",
    "interns",
    "representative",
    "agent",
    "officer",
    "coordinator",
    "administrator",
    "technician",
    "technicians",
    "nurse",
    "nurses",
    "teacher",
    "teachers",
    "worker",
    "workers",
    "operator",
    "operators",
    "expert",
    "experts",
    "professional",
    "professionals",
    "practitioner",
    "practitioners",
    "background",
    "track",
    "record",
    "results",
    "result",
    "outcomes",
    "goals",
    "targets",
    "quota",
    "kpis",
    "okrs",
    "success",
    "successful",
    "successfully",
    "quality",
    "high",
    "low",
    "fast",
    "quick",
    "quickly",
    "independently",
    "independent",
    "autonomously",
    "proactive",
    "proactively",
    "hands",
    "feet",
    "lift",
    "lbs",
    "kg",
    "pounds",
    "standing",
    "sitting",
    "walking",
];

/// A phrase opening with one of these is a duty, not a skill name ("manage Google Ads").
const VERBS: &[&str] = &[
    "manage",
    "run",
    "write",
    "explore",
    "document",
    "carry",
    "prioritise",
    "prioritize",
    "build",
    "create",
    "develop",
    "own",
    "lead",
    "drive",
    "help",
    "work",
    "use",
    "maintain",
    "ensure",
    "deliver",
    "provide",
    "perform",
    "conduct",
    "prepare",
    "handle",
    "coordinate",
    "implement",
    "monitor",
    "track",
    "analyse",
    "analyze",
    "report",
    "communicate",
    "collaborate",
    "partner",
    "organise",
    "organize",
    "set",
    "keep",
    "make",
    "take",
    "get",
    "deploy",
    "configure",
    "install",
    "debug",
    "fix",
    "resolve",
    "respond",
    "answer",
    "assist",
    "train",
    "mentor",
    "coach",
    "present",
    "negotiate",
    "sell",
    "identify",
    "evaluate",
    "assess",
    "improve",
    "optimise",
    "optimize",
    "automate",
    "integrate",
    "migrate",
    "turn",
    "ship",
    "contribute",
    "participate",
    "join",
    "learn",
    "grow",
    "scale",
    "serve",
    "greet",
    "answer",
    "process",
    "review",
    "update",
    "record",
    "log",
    "liaise",
    "champion",
    "define",
    "shape",
    "support",
    "spot",
    "find",
    "bring",
    "show",
    "give",
    "put",
    "read",
    "see",
    "think",
    "move",
    "act",
    "apply",
    "follow",
    "meet",
    "hit",
    "exceed",
    "reach",
    "close",
    "open",
    "sit",
    "stand",
    "lift",
    "talk",
    "speak",
    "listen",
    "teach",
    "plan",
    "schedule",
    "book",
    "file",
    "draft",
    "design",
    "test",
    "check",
    "verify",
    "validate",
    "investigate",
];

/// Words inside a phrase that make it a clause, not a name ("datasets with SQL").
const CLAUSE_WORDS: &[&str] = &[
    "in", "on", "with", "at", "to", "from", "into", "using", "via", "by", "within", "across",
    "through", "per", "than", "until", "till", "while", "when", "whether", "about", "around",
    "after", "before", "during", "over", "under", "between", "without", "like",
];

/// Words that make a phrase a credential, a setting or a context rather than a skill.
const CONTEXT_WORDS: &[&str] = &[
    "certification",
    "certifications",
    "certified",
    "certificate",
    "certificates",
    "license",
    "licence",
    "licensed",
    "licenced",
    "qualified",
    "qualification",
    "accreditation",
    "setting",
    "settings",
    "context",
    "contexts",
    "sector",
    "sectors",
    "background",
    "backgrounds",
    "local",
    "applicable",
    "national",
    "federal",
    "state",
    "regional",
    "equivalent",
    "similar",
    "counts",
    "count",
    "pm",
    "am",
    "hourly",
    "weekly",
    "daily",
    "monthly",
    "annual",
    "annually",
    "belt",
    "badge",
    "degree",
];

/// An item made only of these words is too general to test ("software development", "data").
const GENERIC: &[&str] = &[
    "tools",
    "tool",
    "tooling",
    "technologies",
    "technology",
    "tech",
    "systems",
    "system",
    "platforms",
    "platform",
    "software",
    "applications",
    "application",
    "apps",
    "app",
    "data",
    "projects",
    "project",
    "products",
    "product",
    "services",
    "service",
    "solutions",
    "solution",
    "processes",
    "process",
    "methods",
    "method",
    "methodologies",
    "methodology",
    "practices",
    "practice",
    "frameworks",
    "framework",
    "languages",
    "concepts",
    "principles",
    "fundamentals",
    "standards",
    "standard",
    "documentation",
    "business",
    "operations",
    "management",
    "development",
    "design",
    "testing",
    "analysis",
    "research",
    "marketing",
    "sales",
    "finance",
    "engineering",
    "support",
    "work",
    "tasks",
    "task",
    "areas",
    "area",
    "domains",
    "domain",
    "infrastructure",
    "environments",
    "environment",
    "programming",
    "coding",
    "scripting",
    "modern",
    "web",
    "mobile",
    "cloud",
    "digital",
    "online",
    "technical",
    "computer",
    "computers",
    "it",
    "office",
    "general",
    "basic",
    "advanced",
    "best",
    "new",
    "reporting",
    "planning",
    "writing",
    "communication",
    "communications",
    "organisational",
    "organizational",
    "interpersonal",
    "analytical",
    "problem-solving",
    "problem",
    "solving",
    "customer",
    "client",
    "people",
    "time",
    "project",
    "program",
    "programme",
    "change",
    "quality",
    "strategy",
    "strategic",
    "operational",
    "financial",
    "commercial",
    "technical",
    "functional",
    "cross-functional",
    "end-to-end",
    "full",
    "stack",
    "front",
    "back",
    "end",
    "server",
    "client-side",
    "server-side",
    "backend",
    "frontend",
    "internal",
    "external",
    "large",
    "small",
    "complex",
    "simple",
    "scalable",
    "high-performance",
    "real-time",
    "distributed",
    "secure",
    "reliable",
    "various",
    "other",
    "related",
    "relevant",
    "similar",
    "key",
    "core",
    "main",
    "major",
    "common",
    "popular",
    "industry",
    "sector",
    "market",
    "markets",
    "skills",
    "skill",
    "experience",
    "knowledge",
    "expertise",
    "record",
    "abilities",
    "best-practice",
    "best-practices",
    "guidelines",
    "policies",
    "procedures",
    "regulations",
    "requirements",
    "specifications",
    "documents",
    "reports",
    "dashboards",
    "metrics",
    "models",
    "model",
    "pipelines",
    "pipeline",
    "workflows",
    "workflow",
    "integrations",
    "integration",
    "automation",
    "apis",
    "api",
    "databases",
    "database",
    "networks",
    "network",
    "devices",
    "device",
    "hardware",
    "equipment",
    "machines",
    "materials",
    "components",
    "features",
    "feature",
    "code",
    "codebase",
    "codebases",
    "architecture",
    "architectures",
    "patterns",
    "pattern",
    "libraries",
    "library",
    "packages",
    "modules",
    "sdks",
    "sdk",
    "microsoft",
    "google",
    "amazon",
    "adobe",
    "apple",
    "oracle",
];

/// Last words of phrases that name a practice someone performs.
const PRACTICE_HEADS: &[&str] = &[
    "management",
    "analysis",
    "analyses",
    "analytics",
    "planning",
    "design",
    "development",
    "testing",
    "modeling",
    "modelling",
    "reporting",
    "writing",
    "research",
    "engineering",
    "administration",
    "operations",
    "maintenance",
    "optimization",
    "optimisation",
    "automation",
    "integration",
    "architecture",
    "programming",
    "scripting",
    "security",
    "compliance",
    "accounting",
    "auditing",
    "budgeting",
    "forecasting",
    "negotiation",
    "negotiations",
    "sourcing",
    "procurement",
    "scheduling",
    "documentation",
    "troubleshooting",
    "configuration",
    "deployment",
    "monitoring",
    "processing",
    "handling",
    "control",
    "assessment",
    "assessments",
    "evaluation",
    "estimation",
    "drafting",
    "review",
    "reviews",
    "mapping",
    "prospecting",
    "onboarding",
    "training",
    "coaching",
    "care",
    "therapy",
    "diagnostics",
    "diagnosis",
    "inspection",
    "inspections",
    "installation",
    "repair",
    "repairs",
    "fabrication",
    "welding",
    "machining",
    "merchandising",
    "selling",
    "marketing",
    "editing",
    "translation",
    "illustration",
    "animation",
    "photography",
    "costing",
    "valuation",
    "valuations",
    "reconciliation",
    "reconciliations",
    "underwriting",
    "bookkeeping",
    "payroll",
    "invoicing",
    "billing",
    "coding",
    "charting",
    "triage",
    "instruction",
    "facilitation",
    "storytelling",
    "copywriting",
    "proofreading",
    "transcription",
    "interpretation",
    "counseling",
    "counselling",
    "mediation",
    "litigation",
    "conveyancing",
    "advocacy",
    "fundraising",
    "layout",
    "typography",
    "rigging",
    "texturing",
    "lighting",
    "compositing",
    "sequencing",
    "chromatography",
    "spectroscopy",
    "titration",
    "microscopy",
    "pipetting",
    "sterilization",
    "sterilisation",
    "calibration",
    "commissioning",
    "surveying",
    "estimating",
    "takeoffs",
    "detailing",
    "soldering",
    "wiring",
    "plumbing",
    "framing",
    "tiling",
    "prototyping",
    "wireframing",
    "benchmarking",
    "profiling",
    "debugging",
    "tuning",
    "hardening",
    "provisioning",
    "orchestration",
    "migration",
    "migrations",
    "modernization",
    "modernisation",
    "instrumentation",
    "simulation",
    "simulations",
    "verification",
    "validation",
    "certification",
    "accreditation",
    "recruitment",
    "recruiting",
    "interviewing",
    "screening",
    "hiring",
    "mentoring",
    "supervision",
    "leadership",
    "governance",
    "stewardship",
    "curation",
    "moderation",
    "outreach",
    "partnerships",
    "relations",
    "enablement",
    "localization",
    "localisation",
    "segmentation",
    "attribution",
    "personalization",
    "personalisation",
    "retention",
    "acquisition",
    "activation",
    "expansion",
    "renewals",
    "collections",
    "lending",
    "trading",
    "hedging",
    "investing",
    "structuring",
    "budgets",
    "audits",
    "taxation",
    "filings",
    "returns",
    "close",
    "consolidation",
    "consolidations",
    "allocation",
    "allocations",
    "scoping",
    "elicitation",
    "facilitating",
    "prioritization",
    "prioritisation",
    "roadmapping",
    "storyboarding",
    "sketching",
    "rendering",
    "modeling",
    "drafting",
    "dispatching",
    "routing",
    "picking",
    "packing",
    "loading",
    "receiving",
    "shipping",
    "expediting",
    "purchasing",
    "tendering",
    "bidding",
    "contracting",
    "cleaning",
    "cooking",
    "baking",
    "serving",
    "bartending",
    "housekeeping",
    "catering",
    "nursing",
    "dosing",
    "dispensing",
    "compounding",
    "phlebotomy",
    "suturing",
    "imaging",
    "charting",
    "casework",
    "tutoring",
    "teaching",
    "grading",
    "assessment",
    "curriculum",
    "literacy",
    "numeracy",
    "safeguarding",
];

/// Last words of phrases that name a body of knowledge, a law or a standard.
const KNOWLEDGE_HEADS: &[&str] = &[
    "law",
    "laws",
    "regulation",
    "regulations",
    "regulatory",
    "codes",
    "protocol",
    "protocols",
    "theory",
    "pharmacology",
    "anatomy",
    "physiology",
    "chemistry",
    "physics",
    "mathematics",
    "maths",
    "math",
    "statistics",
    "economics",
    "accounting",
    "standards",
    "guidelines",
    "framework",
    "frameworks",
    "methodology",
    "methodologies",
    "principles",
    "terminology",
    "procedures",
    "legislation",
    "act",
    "directive",
    "requirements",
];

/// Acronyms and capitalised words in ads that are not skills.
const NOT_SKILLS: &[&str] = &[
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "CIO",
    "VP",
    "SVP",
    "EVP",
    "HR",
    "US",
    "USA",
    "UK",
    "EU",
    "EMEA",
    "APAC",
    "LATAM",
    "NA",
    "UAE",
    "NYC",
    "SF",
    "LA",
    "PTO",
    "KPI",
    "KPIs",
    "OKR",
    "OKRs",
    "ROI",
    "SLA",
    "SLAs",
    "B2B",
    "B2C",
    "SaaS",
    "FTE",
    "WFH",
    "ASAP",
    "FAQ",
    "TBD",
    "N/A",
    "EOE",
    "DEI",
    "D&I",
    "CV",
    "CVs",
    "ID",
    "IDs",
    "OK",
    "AM",
    "PM",
    "EST",
    "PST",
    "GMT",
    "UTC",
    "CET",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "YoY",
    "MoM",
    "P&L",
    "PhD",
    "MBA",
    "BSc",
    "MSc",
    "BA",
    "BS",
    "MS",
    "GCSE",
    "GCSEs",
    "A-levels",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Fortune",
    "Inc",
    "Ltd",
    "LLC",
    "GmbH",
    "Series",
    "IPO",
    "AI",
    "IT",
    "UI",
    "UX",
    "QA",
    "R&D",
    "SMB",
    "SMBs",
    "SME",
    "SMEs",
    "MVP",
    "POC",
    "NDA",
    "W2",
    "1099",
    "USD",
    "EUR",
    "GBP",
    "OTE",
    "DOE",
    "TBA",
    "HQ",
    "III",
    "II",
    "IV",
    "CPU",
    "GPU",
    "URL",
    "ISP",
    "SDR",
    "BDR",
    "AE",
    "CSM",
    "GC",
    "PE",
    "VC",
    "FX",
    "ASAP",
    "TBC",
    "FAQ",
    "PDF",
    "HTML5",
    "CEO's",
    "COVID",
    "COVID-19",
    "LGBTQ",
    "LGBTQ+",
];

/// Places, regions, peoples, languages and schedules (`data/places.txt`): ads name them for
/// where and when the job is, not what it needs.
static PLACES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../../data/places.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Suffix words after a known skill that leave it the same skill ("Python scripting" is
/// Python, "Salesforce platform" is Salesforce).
const SAME_SKILL_SUFFIXES: &[&str] = &[
    "development",
    "programming",
    "scripting",
    "coding",
    "applications",
    "application",
    "apps",
    "app",
    "environment",
    "environments",
    "ecosystem",
    "stack",
    "frameworks",
    "framework",
    "libraries",
    "library",
    "best",
    "practices",
    "projects",
    "platform",
    "platforms",
    "services",
    "service",
    "experience",
    "skills",
    "knowledge",
    "tools",
    "tooling",
    "suite",
    "software",
    "systems",
    "system",
    "solutions",
    "concepts",
    "fundamentals",
    "principles",
    "basics",
    "expertise",
    "proficiency",
    "usage",
    "use",
    "products",
    "technologies",
    "technology",
    "code",
    "codebase",
    "codebases",
    "work",
    "administration",
    "certification",
    "certified",
    "standards",
    "standard",
    "compliance",
    "methodology",
    "methodologies",
    "techniques",
    "technique",
    "pipelines",
    "pipeline",
    "engineering",
    "design",
    "based",
    "databases",
    "database",
    "queries",
    "query",
    "apis",
    "api",
    "sdk",
    "sdks",
    "clusters",
    "cluster",
    "infrastructure",
    "deployments",
    "deployment",
    "modules",
    "module",
    "models",
    "model",
    "reports",
    "reporting",
    "dashboards",
    "workflows",
    "workflow",
    "instances",
];

const SMALL_WORDS: &[&str] = &[
    "and", "of", "for", "in", "to", "with", "the", "a", "an", "on", "or", "at", "by", "via",
];

fn words(item: &str) -> Vec<&str> {
    item.split_whitespace().collect()
}

fn lower(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#')
        .to_lowercase()
}

/// Trims fillers from both ends of a list item.
fn clean(item: &str) -> &str {
    let mut item = item.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | '*' | '-' | '•' | '·' | ':' | ',' | '.'
            )
    });
    loop {
        let first = item.split_whitespace().next().unwrap_or("");
        let lowered = first.to_lowercase();
        if !first.is_empty() && LEADING.contains(&lowered.as_str()) {
            item = item[first.len()..].trim_start();
            continue;
        }
        let last = item.split_whitespace().next_back().unwrap_or("");
        let lowered = last.trim_end_matches(['.', ',']).to_lowercase();
        if !last.is_empty() && item.len() > last.len() && TRAILING.contains(&lowered.as_str()) {
            item = item[..item.len() - last.len()].trim_end();
            continue;
        }
        break;
    }
    item.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '*' | '-' | ':' | ',' | '.')
    })
}

/// A token that reads as a product or standard name: an acronym ("SIEM", "HL7"), inner
/// capitals ("PowerShell", "macOS"), digits with letters ("S/4HANA", "ISO 27001" as a
/// whole), or code punctuation ("Vue.js", "F#").
fn product_token(token: &str, capitalised_counts: bool) -> bool {
    let token = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#');
    if token.is_empty() || NOT_SKILLS.contains(&token) {
        return false;
    }
    let letters: Vec<char> = token.chars().filter(|c| c.is_alphabetic()).collect();
    let uppercase = letters.iter().filter(|c| c.is_uppercase()).count();
    let acronym = letters.len() >= 2 && uppercase == letters.len();
    let inner_capital = token.chars().skip(1).any(char::is_uppercase) && uppercase < letters.len();
    let mixed_digits = token.chars().any(|c| c.is_ascii_digit()) && !letters.is_empty();
    let code_punctuation = token.contains(['.', '+', '#']) && !letters.is_empty();
    let capitalised = capitalised_counts && token.chars().next().is_some_and(char::is_uppercase);
    acronym || inner_capital || mixed_digits || code_punctuation || capitalised
}

/// Title Case for a phrase the ad wrote in lower case; names with capitals stay as written.
fn display(item: &str) -> String {
    if item.chars().any(char::is_uppercase) {
        return item.to_owned();
    }
    item.split_whitespace()
        .enumerate()
        .map(|(index, word)| {
            if index > 0 && SMALL_WORDS.contains(&word) {
                word.to_owned()
            } else {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The key two spellings of one phrase share ("REST API" / "rest apis").
fn key(item: &str) -> String {
    let mut key: Vec<String> = item.split_whitespace().map(lower).collect();
    if let Some(last) = key.last_mut() {
        if last.len() > 3 && last.ends_with('s') && !last.ends_with("ss") {
            last.pop();
        }
    }
    key.join(" ")
}

/// How a list item reads: a skill of some kind, or nothing.
fn judge(item: &str, capitalised_counts: bool) -> Option<SkillKind> {
    let tokens = words(item);
    if tokens.is_empty() || tokens.len() > 5 || item.len() < 2 || item.len() > 60 {
        return None;
    }
    if !item.chars().any(char::is_alphabetic) || item.contains(['$', '%', '@', '!', '?', '=']) {
        return None;
    }
    if item.contains(['£', '€', '¥', '\'']) || item.contains("’") {
        return None;
    }
    let lowered: Vec<String> = tokens.iter().map(|t| lower(t)).collect();
    if lowered.iter().any(|w| {
        REJECT.contains(&w.as_str())
            || CLAUSE_WORDS.contains(&w.as_str())
            || CONTEXT_WORDS.contains(&w.as_str())
    }) {
        return None;
    }
    if lowered.first().is_some_and(|w| VERBS.contains(&w.as_str())) {
        return None;
    }
    let place = |w: &str| PLACES.contains(w) || w.split('-').all(|p| PLACES.contains(p));
    if lowered.iter().any(|w| place(w)) {
        return None;
    }
    // Two-letter acronyms are too ambiguous alone ("IR", "PE", "CE"), and plural ones name
    // documents or people ("NDAs", "RNs"), not skills.
    if tokens.len() == 1 {
        let token = tokens[0].trim_matches(|c: char| !c.is_alphanumeric());
        let letters: Vec<char> = token.chars().filter(|c| c.is_alphabetic()).collect();
        let capitals = letters.iter().filter(|c| c.is_uppercase()).count();
        if letters.len() <= 2 && capitals == letters.len() {
            return None;
        }
        if token.ends_with('s') && capitals >= 2 && capitals + 1 == letters.len() {
            return None;
        }
    }
    // "2 of them", "5 Gameplay Framework": a count, not a name ("5S", "3D" are names).
    if tokens.first().is_some_and(|t| {
        t.chars()
            .all(|c| c.is_ascii_digit() || c == '+' || c == '.')
    }) {
        return None;
    }
    if lowered
        .iter()
        .all(|w| GENERIC.contains(&w.as_str()) || SMALL_WORDS.contains(&w.as_str()))
    {
        return None;
    }
    if lowered
        .first()
        .is_some_and(|w| SMALL_WORDS.contains(&w.as_str()))
        || lowered
            .last()
            .is_some_and(|w| SMALL_WORDS.contains(&w.as_str()))
    {
        return None;
    }
    let last = lowered.last().map(String::as_str).unwrap_or("");
    // A capitalised ordinary word counts as a name only next to other words ("Google
    // Shopping" may be a product; "Shopping" alone is not).
    let product = tokens.iter().enumerate().any(|(index, t)| {
        let capital_only = !t
            .chars()
            .skip(1)
            .any(|c| c.is_uppercase() || c.is_ascii_digit())
            && !t.contains(['.', '+', '#']);
        let plain_word = capital_only && ordinary(t);
        product_token(t, (capitalised_counts || index > 0) && !plain_word)
    });
    if product {
        return Some(SkillKind::Tool);
    }
    if PRACTICE_HEADS.contains(&last) {
        return Some(SkillKind::Practice);
    }
    if tokens.len() >= 2 && KNOWLEDGE_HEADS.contains(&last) {
        return Some(SkillKind::Knowledge);
    }
    if tokens.len() >= 2 && last.ends_with("ing") && last.len() > 5 {
        return Some(SkillKind::Practice);
    }
    None
}

/// Splits a list region into items with their byte ranges in the ad.
fn items(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let region = &text[start..end];
    let mut pieces = Vec::new();
    let mut from = 0;
    for separator in SEPARATOR.find_iter(region) {
        pieces.push((from, separator.start()));
        from = separator.end();
    }
    pieces.push((from, region.len()));
    pieces
        .into_iter()
        .flat_map(|(s, e)| slash_parts(text, start + s, start + e))
        .collect()
}

/// "SQL/Python/dbt" and "CPT/HCPCS" are lists; "CI/CD", "TCP/IP", "UI/UX" are names (the
/// known ones are matched before this runs; a part of two letters keeps the whole).
fn slash_parts(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let piece = &text[start..end];
    let parts: Vec<&str> = piece.split('/').collect();
    let listy = parts.len() > 1 && parts.iter().all(|p| p.trim().chars().count() >= 3);
    if !listy {
        return vec![(start, end)];
    }
    let mut out = Vec::with_capacity(parts.len());
    let mut offset = start;
    for part in parts {
        out.push((offset, offset + part.len()));
        offset += part.len() + 1;
    }
    out
}

/// Merges a phrase into a shorter one it only extends ("CSSF regulations" into "CSSF", "PCA
/// pumps" into "PCA"): one skill, one place.
fn merge_extensions(found: Vec<Extracted>) -> Vec<Extracted> {
    let keys: Vec<Vec<String>> = found
        .iter()
        .map(|e| e.name.split_whitespace().map(str::to_lowercase).collect())
        .collect();
    let contains = |long: &[String], short: &[String]| {
        short.len() < long.len() && long.windows(short.len()).any(|w| w == short)
    };
    // "Frobnicator 3" names a version of "Frobnicator": the version is the one to keep.
    let versioned = |long: &[String], short: &[String]| {
        long.starts_with(short)
            && long[short.len()..]
                .iter()
                .all(|w| w.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    let mut into: Vec<Option<usize>> = vec![None; found.len()];
    for (i, long) in keys.iter().enumerate() {
        for (j, short) in keys.iter().enumerate() {
            if j == i || !contains(long, short) {
                continue;
            }
            // A phrase seen only inside the longer one ("Zorblax" of "Zorblax Sync") is a
            // piece of it, like a version.
            let inside = found[j]
                .spans
                .iter()
                .all(|&(s, e)| found[i].spans.iter().any(|&(ls, le)| ls <= s && e <= le));
            if versioned(long, short) || inside {
                into[j] = Some(i);
            } else if into[i].is_none_or(|k| keys[k].len() > short.len()) {
                into[i] = Some(j);
            }
        }
    }
    let mut found: Vec<Option<Extracted>> = found.into_iter().map(Some).collect();
    for i in 0..found.len() {
        if let Some(j) = into[i] {
            if into[j].is_none() {
                if let Some(long) = found[i].take() {
                    let short = found[j].as_mut().expect("a kept phrase");
                    short.spans.extend(long.spans);
                    short.spans.sort_unstable();
                    short.spans.dedup();
                    short.emphasis = short.emphasis.max(long.emphasis);
                }
            }
        }
    }
    found.into_iter().flatten().collect()
}

/// The list regions of one unit: after a trigger phrase up to the end of its clause, after a
/// short "Label:" head, or the whole of a short bullet item.
fn regions(text: &str, unit: &Unit) -> Vec<(usize, usize, bool)> {
    let sentence = &text[unit.start..unit.end];
    let mut found = Vec::new();
    for trigger in TRIGGER.find_iter(sentence) {
        let from = trigger.end();
        let until = CLAUSE_END
            .find(&sentence[from..])
            .map_or(sentence.len(), |m| from + m.start());
        if until > from {
            found.push((unit.start + from, unit.start + until, true));
        }
    }
    if let Some((head, rest)) = sentence.split_once(':') {
        let head_words = head.split_whitespace().count();
        if (1..=5).contains(&head_words) && !rest.trim().is_empty() {
            let from = head.len() + 1;
            let until = rest.find(['.', ';']).map_or(sentence.len(), |i| from + i);
            found.push((unit.start + from, unit.start + until, true));
        }
    }
    let body = sentence.trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '-' | '*' | '•' | '·' | '▪' | '◦' | '–' | '—' | '+')
    });
    if unit.listed && words(body).len() <= 6 && !body.contains(':') {
        let from = sentence.len() - body.len();
        let body_end = body.trim_end_matches(['.', ';', ' ']).len();
        found.push((unit.start + from, unit.start + from + body_end, false));
    }
    found
}

/// Runs of capitalised words in a unit that read as product names ("Xactimate", "CargoWise
/// One", "SAST (Semgrep)"): not opening the sentence unless unmistakably a name, not ordinary
/// words, not words of the title or of the company blurb (places, the company itself).
fn names(text: &str, unit: &Unit, avoid: &HashSet<String>) -> Vec<(usize, usize)> {
    let sentence = &text[unit.start..unit.end];
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut from: Option<usize> = None;
    for (index, c) in sentence.char_indices() {
        let inside = c.is_alphanumeric() || matches!(c, '.' | '+' | '#' | '-' | '/' | '&');
        match (inside, from) {
            (true, None) => from = Some(index),
            (false, Some(start)) => {
                words.push((start, index));
                from = None;
            }
            _ => {}
        }
    }
    if let Some(start) = from {
        words.push((start, sentence.len()));
    }
    let first_word = sentence.find(|c: char| c.is_alphanumeric()).unwrap_or(0);
    let is_name = |word: &str, at: usize| -> bool {
        let word = word.trim_end_matches(['.', '-', '/']);
        let Some(first) = word.chars().next() else {
            return false;
        };
        if !first.is_uppercase() || NOT_SKILLS.contains(&word) {
            return false;
        }
        let strong = product_token(word, false);
        if avoid.contains(&word.to_lowercase()) {
            return false;
        }
        if at == first_word && !strong {
            return false;
        }
        strong || !ordinary(word)
    };
    let mut runs = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    for &(start, end) in &words {
        let word = &sentence[start..end];
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        let adjacent = run.is_some_and(|(_, e)| sentence[e..start].trim().is_empty());
        match run {
            Some((s, _)) if capitalised && adjacent => run = Some((s, end)),
            _ => {
                if let Some(done) = run.take() {
                    runs.push(done);
                }
                if capitalised {
                    run = Some((start, end));
                }
            }
        }
    }
    if let Some(done) = run {
        runs.push(done);
    }
    let mut found = Vec::new();
    for (start, end) in runs {
        // Trim ordinary words off both ends ("Write", "One"), then keep it if a name is left.
        let mut pieces: Vec<(usize, usize)> = words
            .iter()
            .copied()
            .filter(|&(s, e)| s >= start && e <= end)
            .collect();
        while pieces
            .first()
            .is_some_and(|&(s, e)| !is_name(&sentence[s..e], s))
        {
            pieces.remove(0);
        }
        while pieces.len() > 1
            && pieces
                .last()
                .is_some_and(|&(s, e)| ordinary(sentence[s..e].trim_end_matches(['.', '-'])))
        {
            pieces.pop();
        }
        if let (Some(&(s, _)), Some(&(_, e))) = (pieces.first(), pieces.last()) {
            let e = s + sentence[s..e].trim_end_matches(['.', '-', '/']).len();
            if pieces.len() <= 4 {
                found.push((unit.start + s, unit.start + e));
            }
        }
    }
    found
}

/// Skill phrases of the ad the taxonomy does not know.
pub fn extract(
    taxonomy: &Taxonomy,
    job_role: &str,
    text: &str,
    units: &[Unit],
    known: &[Mention],
) -> Vec<Extracted> {
    // Capitalised words of the title and of the company blurb are places and names.
    let mut avoid: HashSet<String> = job_role
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    for unit in units
        .iter()
        .filter(|u| matches!(u.emphasis, Emphasis::Intro | Emphasis::Noise))
    {
        avoid.extend(
            text[unit.start..unit.end]
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
                .map(str::to_lowercase),
        );
    }
    // What follows the title proper ("… - Sheffield", "…, Leeds | Hybrid") says where and on
    // what terms, not what skill.
    let tail: HashSet<String> = [" - ", " – ", " — ", " | ", ", "]
        .iter()
        .filter_map(|separator| job_role.find(separator).map(|at| at + separator.len()))
        .min()
        .map(|from| {
            job_role[from..]
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let known_spans: Vec<(usize, usize, usize)> = known
        .iter()
        .flat_map(|m| m.spans.iter().map(move |(s, e)| (*s, *e, m.skill)))
        .collect();
    let mut by_key: HashMap<String, Extracted> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for unit in units.iter().filter(|u| u.emphasis != Emphasis::Noise) {
        let sentence = text[unit.start..unit.end].to_lowercase();
        let credentials = [
            "certif",
            "qualified",
            "qualification",
            "licen",
            "accredit",
            "member",
            "professional registration",
            "eligible for registration",
            "registered with",
            "registered as",
            "chartered",
        ]
        .iter()
        .any(|w| sentence.contains(w));
        let mut pieces: Vec<(usize, usize, bool)> = Vec::new();
        for (start, end, in_list) in regions(text, unit) {
            for (s, e) in items(text, start, end) {
                pieces.push((s, e, in_list));
            }
        }
        if unit.emphasis != Emphasis::Intro && !credentials {
            for (s, e) in names(text, unit, &avoid) {
                for (s, e) in slash_parts(text, s, e) {
                    pieces.push((s, e, true));
                }
            }
        }
        {
            for (item_start, item_end, in_list) in pieces {
                let raw = &text[item_start..item_end];
                let item = clean(raw);
                if item.is_empty() {
                    continue;
                }
                let offset = item_start + raw.find(item).unwrap_or(0);
                let span = (offset, offset + item.len());
                // Inside a list, a capitalised word is a name; opening a bullet, it may just
                // be the sentence's first word.
                let Some(kind) = judge(item, in_list) else {
                    continue;
                };
                if item
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .all(|w| tail.contains(&w.to_lowercase()))
                {
                    continue;
                }
                let acronym = item
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .all(char::is_uppercase);
                if credentials && acronym {
                    continue;
                }
                // Part of a known skill's spelling ("Hugging" of "Hugging Face"): not a phrase.
                let partial = known_spans
                    .iter()
                    .any(|&(s, e, _)| s < span.1 && span.0 < e && !(s >= span.0 && e <= span.1));
                if partial {
                    continue;
                }
                let inside: Vec<&(usize, usize, usize)> = known_spans
                    .iter()
                    .filter(|(s, e, _)| *s >= span.0 && *e <= span.1)
                    .collect();
                if inside.iter().any(|(s, e, _)| (*s, *e) == span) {
                    continue;
                }
                let parent = inside.iter().max_by_key(|(s, e, _)| e - s).map(|k| k.2);
                if let Some(&&(s, e, _)) = inside.iter().max_by_key(|(s, e, _)| e - s) {
                    let rest = format!("{} {}", &text[span.0..s], &text[e..span.1]);
                    let same = rest.split_whitespace().all(|w| {
                        let w = lower(w);
                        w.is_empty()
                            || SAME_SKILL_SUFFIXES.contains(&w.as_str())
                            || LEADING.contains(&w.as_str())
                    });
                    if same {
                        continue;
                    }
                }
                // A phrase that spans two known skills is a list the separators missed.
                if inside.len() > 1 {
                    continue;
                }
                let kind = match (parent.map(|p| taxonomy.skill(p)), kind) {
                    (Some(p), SkillKind::Tool) if p.programming => SkillKind::Framework,
                    (_, kind) => kind,
                };
                let entry_key = key(item);
                match by_key.get_mut(&entry_key) {
                    Some(entry) => {
                        if !entry.spans.contains(&span) {
                            entry.spans.push(span);
                        }
                        entry.emphasis = entry.emphasis.max(unit.emphasis);
                    }
                    None => {
                        order.push(entry_key.clone());
                        by_key.insert(
                            entry_key,
                            Extracted {
                                name: display(item),
                                kind,
                                parent,
                                spans: vec![span],
                                emphasis: unit.emphasis,
                            },
                        );
                    }
                }
            }
        }
    }
    merge_extensions(
        order
            .into_iter()
            .filter_map(|k| by_key.remove(&k))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::text::segment;

    fn extracted(text: &str) -> Vec<String> {
        let taxonomy = Taxonomy::embedded();
        let units = segment(text);
        let known = taxonomy.find(text);
        extract(&taxonomy, "Engineer", text, &units, &known)
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    #[test]
    fn lists_after_requirement_phrases_give_their_items() {
        let found = extracted(
            "Requirements:\n- Experience with Zorblax, QuuxDB and Frobnicator 3\n\
             - Knowledge of widget calibration and sprocket alignment\n",
        );
        for expected in ["Zorblax", "QuuxDB", "Frobnicator 3", "Widget Calibration"] {
            assert!(
                found.contains(&expected.to_owned()),
                "{expected} not in {found:?}"
            );
        }
    }

    #[test]
    fn values_perks_and_filler_are_not_skills() {
        let found = extracted(
            "About you:\n- Experience working in a fast-paced environment\n\
             - Proven track record of delivering results\n- Ability to work independently\n\
             - 5+ years of experience in a similar role\n- Bachelor's degree in a related field\n\
             Benefits:\n- Experience with our Zorblax gym membership\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_known_skill_with_a_generic_suffix_is_that_skill() {
        let found =
            extracted("Must have: Python scripting, Kubernetes clusters, Zorblax Multiplatform.");
        assert!(!found.iter().any(|f| f.starts_with("Python")), "{found:?}");
        assert!(
            !found.iter().any(|f| f.starts_with("Kubernetes")),
            "{found:?}"
        );
        assert!(
            found.contains(&"Zorblax Multiplatform".to_owned()),
            "{found:?}"
        );
    }
}
