//! The generation engine seen from outside: the right skills for the job, a coding section only
//! for programming roles, the optional controls, and the same assessment for the same input.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assessment_of, json_of, run_job, seed_request, Backend, TestDb, TestServer};
use crate::on_both_backends;

on_both_backends!(
    the_seed_request_gets_its_skills_at_senior_level_with_a_coding_section,
    sales_and_nursing_roles_get_no_programming_and_no_coding,
    the_same_request_gives_the_same_assessment,
    the_optional_controls_shape_the_assessment,
    invalid_optional_controls_are_400,
);

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

async fn the_same_request_gives_the_same_assessment(backend: Backend) {
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
    assert_eq!(questions_a, questions_b);
    assert_eq!(info_a["sections"], info_b["sections"]);
    assert_eq!(info_a["proctoring"], info_b["proctoring"]);
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

    let (code, listed) = server.get("/api/v2/skills").await;
    assert_eq!(code, StatusCode::OK);
    assert!(listed["skills"].as_array().unwrap().len() >= 150);
}
