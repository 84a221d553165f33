//! The generation engine seen from outside: the right skills for the job, a coding section only
//! for programming roles, skills the taxonomy lacks taken from the description, questions for
//! every skill, the optional controls, and one blueprint with different questions per job.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assessment_of, json_of, run_job, seed_request, Backend, TestDb, TestServer};
use crate::on_both_backends;

on_both_backends!(
    the_seed_request_gets_its_skills_at_senior_level_with_a_coding_section,
    sales_and_nursing_roles_get_no_programming_and_no_coding,
    two_jobs_from_one_description_share_the_blueprint_but_not_the_questions,
    requirements_the_taxonomy_lacks_become_skills_with_questions,
    a_description_of_twenty_thousand_characters_completes,
    the_skill_taxonomy_is_served_and_filtered,
    the_optional_controls_shape_the_assessment,
    invalid_optional_controls_are_400,
);

/// Every skill the info lists has questions in `/questions`, and its details agree.
fn assert_every_skill_has_questions(info: &Value, questions: &[Value]) {
    let skills = strings(&info["skills"]);
    let details = info["skill_details"].as_array().unwrap();
    assert_eq!(details.len(), skills.len(), "{info}");
    for (name, detail) in skills.iter().zip(details) {
        assert_eq!(detail["name"], name.as_str());
        let count = questions
            .iter()
            .filter(|q| q["skill"] == name.as_str())
            .count();
        assert!(count > 0, "{name} has no questions");
        assert_eq!(detail["question_count"], count, "{name}");
        assert!(
            detail["source"] == "taxonomy" || detail["source"] == "extracted",
            "{detail}"
        );
        assert!(
            detail["weight"] == "required" || detail["weight"] == "preferred",
            "{detail}"
        );
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn section_names(info: &Value) -> Vec<String> {
    info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_seed_request_gets_its_skills_at_senior_level_with_a_coding_section(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let status = run_job(&server, &seed_request()).await;
    let (info, questions) = assessment_of(&server, &status).await;
    assert_every_skill_has_questions(&info, &questions);
    let skills = strings(&info["skills"]);
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
    assert_eq!(info["seniority"], "senior");
    assert!(
        section_names(&info).contains(&"Coding".to_owned()),
        "{info}"
    );
    assert!(info["sections"].as_array().unwrap().len() <= 6);
    let hard = questions
        .iter()
        .filter(|q| q["difficulty"] == "hard")
        .count();
    let easy = questions
        .iter()
        .filter(|q| q["difficulty"] == "easy")
        .count();
    assert!(
        hard > easy,
        "a senior assessment leans hard: {hard} hard, {easy} easy"
    );
    let minutes = info["total_duration_minutes"].as_u64().unwrap();
    assert!((30..=75).contains(&minutes), "{minutes} minutes");
    let seconds: u64 = questions
        .iter()
        .map(|q| q["duration_seconds"].as_u64().unwrap())
        .sum();
    assert_eq!(
        minutes,
        seconds.div_ceil(60),
        "duration is the sum of the questions' times"
    );
    let coding = questions
        .iter()
        .find(|q| q["type"] == "coding")
        .expect("a coding question");
    assert!(coding["starter_code"].is_string() && coding["language"].is_string());
    assert!(coding["test_cases"].as_array().unwrap().len() >= 2);
    assert_eq!(info["proctoring"]["webcam_monitoring"], true);
}

async fn sales_and_nursing_roles_get_no_programming_and_no_coding(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let programming = [
        "Python",
        "Java",
        "JavaScript",
        "Go",
        "R",
        "C",
        "SQL",
        "Excel",
        "Swift",
        "Ruby",
    ];
    for (role, description, expected) in [
        (
            "Account Executive",
            "Own the full sales cycle for mid-market B2B accounts: prospecting, cold calling, \
             discovery and negotiation. Keep Salesforce up to date and forecast your pipeline. \
             We want a go-getter who will excel at building relationships. 3+ years of quota \
             carrying experience.",
            "Cold Calling",
        ),
        (
            "Registered Nurse",
            "Provide patient care on a busy medical-surgical unit: medication administration, \
             vital signs monitoring, infection control and accurate charting in the EHR (Epic). \
             BLS certification required; ACLS is a plus. Swift response to emergencies.",
            "Patient Care",
        ),
    ] {
        let status = run_job(
            &server,
            &json!({"job_role": role, "job_description": description}),
        )
        .await;
        let (info, questions) = assessment_of(&server, &status).await;
        assert_every_skill_has_questions(&info, &questions);
        let skills = strings(&info["skills"]);
        assert!(skills.contains(&expected.to_owned()), "{role}: {skills:?}");
        for language in programming {
            assert!(
                !skills.contains(&language.to_owned()),
                "{role} got {language}: {skills:?}"
            );
        }
        assert!(
            !section_names(&info).contains(&"Coding".to_owned()),
            "{role}"
        );
        assert!(questions.iter().all(|q| q["type"] != "coding"), "{role}");
    }
}

/// What must not change between two jobs of one description: skills, sections, durations.
fn blueprint(info: &Value) -> Value {
    let sections: Vec<Value> = info["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!([
                s["name"],
                s["skills"],
                s["question_count"],
                s["duration_minutes"]
            ])
        })
        .collect();
    json!({
        "skills": info["skills"],
        "details": info["skill_details"],
        "sections": sections,
        "minutes": info["total_duration_minutes"],
        "count": info["number_of_questions"],
        "proctoring": info["proctoring"],
    })
}

async fn two_jobs_from_one_description_share_the_blueprint_but_not_the_questions(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let first = run_job(&server, &seed_request()).await;
    let second = run_job(&server, &seed_request()).await;
    let (info_a, questions_a) = assessment_of(&server, &first).await;
    let (info_b, questions_b) = assessment_of(&server, &second).await;
    assert_ne!(
        info_a["id"], info_b["id"],
        "each job has its own assessment"
    );
    assert_eq!(blueprint(&info_a), blueprint(&info_b));
    assert_every_skill_has_questions(&info_b, &questions_b);
    // Overlap, counted over the skills with 12 or more library questions.
    let (_, listed) = server.get("/api/v2/skills").await;
    let deep: Vec<&str> = listed["skills"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["questions"].as_u64().unwrap() >= 12)
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let ids = |questions: &[Value]| -> Vec<String> {
        questions
            .iter()
            .filter(|q| deep.contains(&q["skill"].as_str().unwrap()))
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (a, b) = (ids(&questions_a), ids(&questions_b));
    assert!(
        a.len() >= 5,
        "the seed's skills are deep in the library: {a:?}"
    );
    let shared = a.iter().filter(|id| b.contains(id)).count();
    assert!(
        shared * 2 <= a.len(),
        "{shared} of {} questions repeat: {a:?} / {b:?}",
        a.len()
    );
    // The same job is drawn the same way: replaying its events rebuilds the same assessment.
    let (ok, output) = crate::helpers::cli(&db, &["replay", "--verify"]).await;
    assert!(ok, "{output}");
}

async fn requirements_the_taxonomy_lacks_become_skills_with_questions(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let request = json!({
        "job_role": "Android Engineer",
        "job_description": "About us\nWe make a meditation app loved by 2 million people.\n\n\
            Requirements:\n- 3+ years of Kotlin and Jetpack Compose\n\
            - Hands-on experience with Zorblax Sync and QuuxKit for offline storage\n\
            - Knowledge of widget gasket tuning\n- Unit testing with JUnit\n\n\
            Benefits:\n- Free access to FlimFlam Premium, our partner gym\n",
    });
    let status = run_job(&server, &request).await;
    let (info, questions) = assessment_of(&server, &status).await;
    assert_every_skill_has_questions(&info, &questions);
    let details = info["skill_details"].as_array().unwrap();
    let source_of = |name: &str| {
        details
            .iter()
            .find(|d| d["name"] == name)
            .map(|d| d["source"].as_str().unwrap().to_owned())
    };
    assert_eq!(source_of("Kotlin").as_deref(), Some("taxonomy"), "{info}");
    assert_eq!(source_of("Jetpack Compose").as_deref(), Some("taxonomy"));
    for extracted in ["Zorblax Sync", "QuuxKit", "Widget Gasket Tuning"] {
        assert_eq!(source_of(extracted).as_deref(), Some("extracted"), "{info}");
    }
    assert_eq!(
        source_of("FlimFlam Premium"),
        None,
        "perks are not skills: {info}"
    );
    // An extracted skill's questions are scenarios written for it, naming it and the job.
    let zorblax: Vec<&Value> = questions
        .iter()
        .filter(|q| q["skill"] == "QuuxKit")
        .collect();
    for question in zorblax {
        let text = question["text"].as_str().unwrap();
        assert!(text.contains("QuuxKit"), "{text}");
        assert_eq!(question["type"], "subjective");
        assert!(
            question["rubric"].as_str().unwrap().len() > 200,
            "{question}"
        );
    }
    let logs = crate::helpers::job_logs(&db, status["id"].as_str().unwrap()).await;
    assert!(
        logs.iter()
            .any(|l| l.contains("Taken from the description") && l.contains("QuuxKit")),
        "{logs:?}"
    );
}

async fn a_description_of_twenty_thousand_characters_completes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let paragraph = "Requirements: experience with Python, Django and PostgreSQL; knowledge of \
        Docker and Kubernetes; familiarity with Zorblax Sync is a plus. We value people who \
        go the extra mile and excel at collaboration.\n";
    let description: String = paragraph
        .repeat(20_000 / paragraph.len() + 1)
        .chars()
        .take(20_000)
        .collect();
    let status = run_job(
        &server,
        &json!({"job_role": "Backend Engineer", "job_description": description}),
    )
    .await;
    assert_eq!(status["status"], "completed", "{status}");
    let (info, questions) = assessment_of(&server, &status).await;
    assert_every_skill_has_questions(&info, &questions);
    assert!(strings(&info["skills"]).contains(&"Django".to_owned()));
}

async fn the_skill_taxonomy_is_served_and_filtered(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let (code, listed) = server.get("/api/v2/skills").await;
    assert_eq!(code, StatusCode::OK);
    let skills = listed["skills"].as_array().unwrap();
    assert!(skills.len() >= 1_500, "{}", skills.len());
    assert!(listed["families"].as_array().unwrap().len() >= 40);
    let compose = skills
        .iter()
        .find(|s| s["name"] == "Jetpack Compose")
        .expect("Jetpack Compose is known");
    assert_eq!(compose["family"], "mobile");
    assert!(compose["parent"].is_string(), "{compose}");
    assert!(compose["questions"].as_u64().unwrap() >= 12, "{compose}");

    let (code, mobile) = server.get("/api/v2/skills?family=mobile&q=compose").await;
    assert_eq!(code, StatusCode::OK);
    let found = mobile["skills"].as_array().unwrap();
    assert!(!found.is_empty());
    assert!(found.iter().all(|s| s["family"] == "mobile"), "{mobile}");
    let (code, error) = server.get("/api/v2/skills?family=basket_weaving").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(error["error"].as_str().unwrap().contains("unknown family"));
}

async fn the_optional_controls_shape_the_assessment(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;

    let mut request = seed_request();
    let extra = json!({
        "experience_level": "junior",
        "question_count": 10,
        "question_types": ["multiple_choice", "true_false"],
        "skills": ["rust", "k8s"],
    });
    request
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let status = run_job(&server, &request).await;
    let (info, questions) = assessment_of(&server, &status).await;
    assert_eq!(info["seniority"], "junior");
    assert_eq!(questions.len(), 10);
    assert_eq!(info["number_of_questions"], 10);
    let skills = strings(&info["skills"]);
    assert_eq!(skills[0], "Rust", "must-have skills come first: {skills:?}");
    assert!(skills.contains(&"Kubernetes".to_owned()));
    for question in &questions {
        assert!(
            question["type"] == "multiple_choice" || question["type"] == "true_false",
            "{question}"
        );
        assert_ne!(
            question["difficulty"], "hard",
            "junior assessments have no hard questions"
        );
    }

    let mut request = seed_request();
    let extra = json!({"duration_minutes": 30, "language": "python"});
    request
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let status = run_job(&server, &request).await;
    let (info, questions) = assessment_of(&server, &status).await;
    assert!(
        info["total_duration_minutes"].as_u64().unwrap() <= 30,
        "{info}"
    );
    for coding in questions.iter().filter(|q| q["type"] == "coding") {
        assert_eq!(coding["language"], "python");
    }
}

async fn invalid_optional_controls_are_400(backend: Backend) {
    let db = TestDb::new(backend).await;
    let server = TestServer::start(&db).await;
    let cases = [
        (
            json!({"experience_level": "guru"}),
            "experience_level must be one of",
        ),
        (
            json!({"experience_level": 3}),
            "experience_level must be one of",
        ),
        (
            json!({"question_count": 3}),
            "question_count must be an integer between 5 and 60",
        ),
        (
            json!({"question_count": "ten"}),
            "question_count must be an integer",
        ),
        (
            json!({"duration_minutes": 5}),
            "duration_minutes must be an integer between 10 and 180",
        ),
        (
            json!({"question_types": ["essay"]}),
            "question_types must be a non-empty list",
        ),
        (
            json!({"question_types": []}),
            "question_types must be a non-empty list",
        ),
        (
            json!({"question_types": "coding"}),
            "question_types must be a non-empty list",
        ),
        (
            json!({"skills": ["Underwater Basket Weaving"]}),
            "unknown skills: Underwater Basket Weaving",
        ),
        (json!({"skills": "Python"}), "skills must be a list"),
        (json!({"skills": [""]}), "skills must be a list"),
        (
            json!({"skills": vec!["Python"; 11]}),
            "skills must be a list of at most 10",
        ),
        (json!({"language": "cobol"}), "language must be one of"),
    ];
    for (extra, expected) in cases {
        let mut body = seed_request();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (code, error) = json_of(server.generate(&body).await).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{extra}");
        let message = error["error"].as_str().unwrap();
        assert!(message.starts_with(expected), "{extra}: {message}");
    }
    assert_eq!(crate::helpers::event_count(&db.connect().await).await, 0);
}
