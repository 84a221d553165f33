//! Request handlers: validate, send a command or read a view, answer in the seed's shapes.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use assessment_domain::request::MAX_REQUESTED_SKILLS;
use assessment_domain::{
    Cutoff, ExperienceLevel, GenerationOptions, JobDescription, JobRequested, JobRole,
    NotificationUrl, RequestError, TaskExecutionCommand, TaskExecutionError,
};
use assessment_projections::{AssessmentInfo, AssessmentRecord, QUEUED_MESSAGE};
use sha2::Digest;

use super::error::{ApiError, JOB_NOT_FOUND};
use super::params::{canonical_id, parse_as_of};
use super::AppState;
use crate::api_keys::Caller;
use crate::generator::Engine;
use crate::query;
use crate::read_models;
use crate::store::{checkpoints, idempotency_keys, job_queue};

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if content_type == "application/json" || content_type.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

/// An optional integer field: absent or null is `None`, anything but an integer is `invalid`.
fn optional_integer<T>(
    fields: &Map<String, Value>,
    name: &str,
    parse: impl Fn(i64) -> Result<T, RequestError>,
    invalid: RequestError,
) -> Result<Option<T>, RequestError> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_i64().ok_or(invalid).and_then(parse).map(Some),
        Some(_) => Err(invalid),
    }
}

/// The optional generation controls; all absent is the seed API's behaviour.
fn parse_options(
    fields: &Map<String, Value>,
    engine: &Engine,
) -> Result<GenerationOptions, RequestError> {
    let experience_level = match fields.get("experience_level") {
        None | Some(Value::Null) => None,
        Some(Value::String(level)) => Some(ExperienceLevel::parse(level)?),
        Some(_) => return Err(RequestError::InvalidExperienceLevel),
    };
    let question_types = match fields.get("question_types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            GenerationOptions::parse_question_types(items.iter().map(Value::as_str))?
        }
        Some(_) => return Err(RequestError::InvalidQuestionTypes),
    };
    let skills = match fields.get("skills") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_REQUESTED_SKILLS => {
            let names = items
                .iter()
                .map(|item| match item {
                    Value::String(name) if !name.trim().is_empty() && name.len() <= 100 => {
                        Ok(name.clone())
                    }
                    _ => Err(RequestError::InvalidSkills),
                })
                .collect::<Result<Vec<_>, _>>()?;
            engine.canonical_skills(&names)?
        }
        Some(_) => return Err(RequestError::InvalidSkills),
    };
    let language = match fields.get("language") {
        None | Some(Value::Null) => None,
        Some(Value::String(language)) => Some(GenerationOptions::parse_language(language)?),
        Some(_) => return Err(RequestError::InvalidLanguage),
    };
    Ok(GenerationOptions {
        experience_level,
        question_count: optional_integer(
            fields,
            "question_count",
            GenerationOptions::parse_question_count,
            RequestError::InvalidQuestionCount,
        )?,
        duration_minutes: optional_integer(
            fields,
            "duration_minutes",
            GenerationOptions::parse_duration,
            RequestError::InvalidDuration,
        )?,
        question_types,
        skills,
        language,
    })
}

/// The request's fields, checked one by one so each mistake gets its own message.
fn parse_request(
    fields: &Map<String, Value>,
    engine: &Engine,
) -> Result<ValidRequest, RequestError> {
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(value)) => Some(value.as_str()),
        _ => None,
    };
    let (Some(role), Some(description)) = (text("job_role"), text("job_description")) else {
        return Err(RequestError::MissingRoleOrDescription);
    };
    let job_role = JobRole::parse(role)?;
    let job_description = JobDescription::parse(description)?;
    let cutoff = match optional_integer(fields, "cutoff", Ok, RequestError::InvalidCutoff)? {
        None => Cutoff::parse(None)?,
        Some(value) => Cutoff::parse(Some(value))?,
    };
    let notification_url = match fields.get("notification_url") {
        None | Some(Value::Null) => None,
        Some(Value::String(url)) => Some(NotificationUrl::parse(url)?),
        Some(_) => return Err(RequestError::InvalidNotificationUrl),
    };
    let options = parse_options(fields, engine)?;
    Ok(ValidRequest {
        job_role,
        job_description,
        cutoff,
        notification_url,
        options,
    })
}

struct ValidRequest {
    job_role: JobRole,
    job_description: JobDescription,
    cutoff: Cutoff,
    notification_url: Option<NotificationUrl>,
    options: GenerationOptions,
}

/// `POST /api/v2/assessments/generate-ai`
pub async fn generate_assessment(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_json(&headers)?;
    let value: Value = serde_json::from_slice(&body).map_err(|error| {
        ApiError::BadRequest(format!("Request body is not valid JSON: {error}"))
    })?;
    let Value::Object(fields) = value else {
        return Err(ApiError::BadRequest(
            "Request body must be a JSON object".to_owned(),
        ));
    };
    let request = parse_request(&fields, &state.engine)?;
    let mut job_id = uuid::Uuid::new_v4().to_string();
    // With an `Idempotency-Key`, the key's job: a new one, or the one a first request with the
    // same key and body reserved (which this request then creates only if that one did not).
    let key = idempotency_key(&headers)?;
    let mut repeated = false;
    if let Some(key) = key {
        let hash = request_hash(&Value::Object(fields));
        let now = state.clock.now();
        let reservation = idempotency_keys::reserve(
            &state.db,
            &caller.organization_id,
            key,
            &hash,
            &job_id,
            now,
            now - IDEMPOTENCY_KEY_KEPT,
        )
        .await
        .map_err(anyhow::Error::from)?;
        if reservation.request_hash != hash {
            return Err(ApiError::Unprocessable(
                "This Idempotency-Key was used with a different request body",
            ));
        }
        repeated = reservation.job_id != job_id;
        job_id = reservation.job_id;
    }
    // A repeated request names a job admitted already.
    if let (Some(max), false) = (state.limits.max_queued_jobs, repeated) {
        let unfinished =
            job_queue::unfinished_of(&state.db, &caller.organization_id, i64::from(max))
                .await
                .map_err(anyhow::Error::from)?;
        if let Err(refused) = state.limits.admit_job(unfinished as u64) {
            if let Some(key) = key {
                idempotency_keys::release(&state.db, &caller.organization_id, key, &job_id)
                    .await
                    .map_err(anyhow::Error::from)?;
            }
            return Err(refused);
        }
    }
    let keyed = key.is_some();
    let command = TaskExecutionCommand::RequestAssessment(Box::new(JobRequested {
        job_id: job_id.clone(),
        organization_id: caller.organization_id.clone(),
        job_role: request.job_role.into_inner(),
        job_description: request.job_description.into_inner(),
        cutoff: request.cutoff.value(),
        notification_url: request.notification_url.map(NotificationUrl::into_inner),
        options: request.options,
        api_key_id: Some(caller.key_id.clone()),
        requested_at: state.clock.now(),
    }));
    match state
        .bus
        .create(&job_id, &caller.organization_id, command)
        .await
    {
        Ok(()) => {
            tracing::info!(%job_id, organization_id = %caller.organization_id, "assessment job queued")
        }
        // The key's job exists already: this is a retry (or ran beside the first request).
        Err(
            cqrs_es::AggregateError::AggregateConflict
            | cqrs_es::AggregateError::UserError(TaskExecutionError::AlreadyRequested),
        ) if keyed => {
            tracing::info!(%job_id, "Idempotency-Key repeated: the job it stands for is answered")
        }
        Err(error) => return Err(error.into()),
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "job_id": job_id,
            "status": "pending",
            "message": QUEUED_MESSAGE,
        })),
    ))
}

/// How long an `Idempotency-Key` stands for its job.
pub const IDEMPOTENCY_KEY_KEPT: chrono::Duration = chrono::Duration::hours(24);

/// The request's `Idempotency-Key`, if it sends one: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key =
        value.to_str().ok().map(str::trim).filter(|key| {
            (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        });
    key.map(Some).ok_or_else(|| {
        ApiError::BadRequest("Idempotency-Key must be 1 to 255 visible ASCII characters".into())
    })
}

/// A hash of a request body that ignores the order of fields and the spacing.
fn request_hash(body: &Value) -> String {
    fn canonical(value: &Value, out: &mut String) {
        match value {
            Value::Object(fields) => {
                let mut names: Vec<&String> = fields.keys().collect();
                names.sort();
                out.push('{');
                for (index, name) in names.into_iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(name.clone()).to_string());
                    out.push(':');
                    canonical(&fields[name], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = String::new();
    canonical(body, &mut text);
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Ids are UUIDs; anything else cannot name a job or assessment.
#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    /// A log position, or an RFC 3339 time: the status as it was then.
    as_of: Option<String>,
}

/// `GET /api/v2/task-executions/status/{job_id}[?as_of=POSITION|TIME]`
pub async fn task_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
    Query(query): Query<StatusQuery>,
) -> Result<Response, ApiError> {
    let job_id = canonical_id(&job_id).ok_or(JOB_NOT_FOUND)?;
    let organization_id = &caller.organization_id;
    match query.as_of {
        // The stored view goes out as it is stored: no parse and re-serialization.
        None => query::task_status_document(&state.db, &job_id, organization_id)
            .await?
            .map(|document| {
                ([(header::CONTENT_TYPE, "application/json")], document).into_response()
            })
            .ok_or(JOB_NOT_FOUND),
        Some(as_of) => {
            let point = parse_as_of(&as_of)?;
            query::status_as_of(&state.db, &job_id, organization_id, point)
                .await?
                .map(|s| Json(s.view).into_response())
                .ok_or(JOB_NOT_FOUND)
        }
    }
}

/// The caller's assessment `raw_id`, or 404.
async fn find_assessment(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<AssessmentRecord, ApiError> {
    const NOT_FOUND: ApiError = ApiError::NotFound("Assessment not found");
    let id = canonical_id(raw_id).ok_or(NOT_FOUND)?;
    read_models::assessment(&state.db, &id, &caller.organization_id)
        .await?
        .ok_or(NOT_FOUND)
}

/// `GET /api/v2/assessments/{assessment_id}/info`
pub async fn assessment_info(
    State(state): State<AppState>,
    caller: Caller,
    Path(assessment_id): Path<String>,
) -> Result<Json<AssessmentInfo>, ApiError> {
    let record = find_assessment(&state, &caller, &assessment_id).await?;
    Ok(Json(record.info))
}

/// `GET /api/v2/assessments/{assessment_id}/questions`
pub async fn assessment_questions(
    State(state): State<AppState>,
    caller: Caller,
    Path(assessment_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = find_assessment(&state, &caller, &assessment_id).await?;
    Ok(Json(json!({
        "assessment_id": record.info.id,
        "number_of_questions": record.questions.len(),
        "questions": record.questions,
    })))
}

/// `GET /api/v2/skills`: the skills the generator knows (for the `skills` request option),
/// optionally only one family's (`?family=mobile`) or those whose name or alias contains a
/// text (`?q=compose`), and the job families.
pub async fn skills(
    State(state): State<AppState>,
    _caller: Caller,
    Query(filter): Query<SkillFilter>,
) -> Result<Json<Value>, ApiError> {
    let taxonomy = &state.engine.taxonomy;
    let families = taxonomy.families();
    let family = match filter.family.as_deref() {
        None | Some("") => None,
        Some(id) => Some(families.parse(id).ok_or(ApiError::BadRequest(format!(
            "unknown family: {id} (the families are listed in this response without filters)"
        )))?),
    };
    let needle = filter.q.as_deref().map(|q| q.trim().to_lowercase());
    let matches = |name: &str| {
        needle
            .as_ref()
            .is_none_or(|n| name.to_lowercase().contains(n))
    };
    let library = &state.engine.library;
    let skills: Vec<Value> = taxonomy
        .skills()
        .iter()
        .filter(|skill| family.is_none_or(|f| skill.family == f))
        .filter(|skill| matches(&skill.name) || skill.aliases.iter().any(|a| matches(a)))
        .map(|skill| {
            json!({
                "name": skill.name,
                "family": families.id(skill.family),
                "category": skill.category,
                "kind": skill.kind.as_str(),
                "parent": skill.parent.map(|p| taxonomy.skill(p).name.as_str()),
                "about": skill.about,
                "aliases": skill.aliases,
                "questions": library.count(&skill.name),
            })
        })
        .collect();
    let listed: Vec<Value> = families
        .all()
        .map(|(_, info)| json!({"id": info.id, "name": info.name}))
        .collect();
    Ok(Json(json!({
        "count": skills.len(),
        "skills": skills,
        "families": listed,
    })))
}

#[derive(Debug, Deserialize)]
pub struct SkillFilter {
    family: Option<String>,
    q: Option<String>,
}

/// `GET /health`: the process is up and its database answers.
pub async fn health(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.db.ping().await.map_err(anyhow::Error::from)?;
    Ok(Json(json!({
        "status": "ok",
        "database": state.db.backend_name(),
    })))
}

/// `GET /healthz`: the process is alive and serving (no database, no key).
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: whether this instance should get traffic: the database answers, its schema
/// is this build's, and both subscriptions (read models, webhook outbox) have applied every
/// event recorded more than `READY_MAX_LAG_SECONDS` ago. 200 with each check when ready, 503
/// with the same checks and an `error` naming the first that failed when not. No key needed;
/// nothing in it is the tenants'.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut checks = Map::new();
    let mut failed: Option<String> = None;
    match state.db.ping().await {
        Ok(()) => {
            checks.insert("database".into(), json!("ok"));
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: the database does not answer");
            checks.insert("database".into(), json!("unreachable"));
            failed.get_or_insert("the database does not answer".into());
        }
    }
    if failed.is_none() {
        match state.db.schema().await {
            Ok(crate::store::Schema::Current) => {
                checks.insert("schema".into(), json!("current"));
            }
            Ok(other) => {
                checks.insert("schema".into(), json!(format!("{other:?}")));
                failed.get_or_insert(format!(
                    "the database schema is not this build's: {other:?}"
                ));
            }
            Err(error) => {
                checks.insert("schema".into(), json!("unknown"));
                failed.get_or_insert(format!("the schema could not be read: {error}"));
            }
        }
        let now = chrono::Utc::now();
        for name in [
            crate::projector::READ_MODELS,
            crate::webhooks::outbox::WEBHOOKS,
        ] {
            match checkpoints::oldest_unapplied(&state.db, name).await {
                Ok(oldest) => {
                    let lag = oldest.map_or(0.0, |at| {
                        (now - at).num_milliseconds().max(0) as f64 / 1000.0
                    });
                    checks.insert(format!("{name}_lag_seconds"), json!(lag));
                    if lag > state.ready_max_lag.as_secs_f64() {
                        failed.get_or_insert(format!(
                            "subscription {name} is {lag:.1} s behind the log (bound {} s)",
                            state.ready_max_lag.as_secs()
                        ));
                    }
                }
                Err(error) => {
                    failed.get_or_insert(format!("subscription {name}: {error}"));
                }
            }
        }
    }
    let (status, mut body) = match failed {
        None => (StatusCode::OK, json!({ "status": "ready" })),
        Some(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "not ready", "error": reason }),
        ),
    };
    body["checks"] = Value::Object(checks);
    (status, Json(body)).into_response()
}

pub async fn unknown_route() -> ApiError {
    ApiError::NotFound("Not found")
}
