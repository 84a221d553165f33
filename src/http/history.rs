//! The history for auditors: a job's events, the organization's event feed in commit order,
//! the status as of a point in the log, and a live status stream (Server-Sent Events).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;

use super::error::{ApiError, JOB_NOT_FOUND};
use super::params::{canonical_id, parse_time};
use super::AppState;
use crate::api_keys::Caller;
use crate::event_log::{self, Cursor, DecodedEvent, LogFilter, StoredEvent};
use crate::query;
use crate::store::Db;

/// Most events one feed page returns.
pub const MAX_FEED_PAGE: i64 = 1_000;
const DEFAULT_FEED_PAGE: i64 = 100;
/// How often a live stream looks for a change.
const STREAM_POLL: Duration = Duration::from_millis(200);
/// Longest a stream stays open; the client resumes with `Last-Event-ID`.
const STREAM_LIFETIME: Duration = Duration::from_secs(30 * 60);

fn event_json(stored: &StoredEvent) -> Value {
    json!({
        "job_id": stored.job_id,
        "event_type": stored.event_type,
        "event_version": stored.event_version,
        "sequence": stored.sequence,
        "position": stored.position,
        "cursor": stored.cursor().encode(),
        "recorded_at": stored.recorded_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "payload": stored.payload,
    })
}

/// The job's events if it belongs to `organization_id`, else 404.
async fn owned_history(
    db: &Db,
    job_id: &str,
    organization_id: &str,
) -> Result<Vec<DecodedEvent>, ApiError> {
    query::owned_history(db, job_id, organization_id)
        .await?
        .ok_or(JOB_NOT_FOUND)
}

/// `GET /api/v2/task-executions/{job_id}/events`
pub async fn job_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job_id = canonical_id(&job_id).ok_or(JOB_NOT_FOUND)?;
    let events = owned_history(&state.db, &job_id, &caller.organization_id).await?;
    let events: Vec<Value> = events.iter().map(|e| event_json(&e.stored)).collect();
    Ok(Json(json!({ "job_id": job_id, "events": events })))
}

#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    after: Option<String>,
    limit: Option<i64>,
    event_type: Option<String>,
    job_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/v2/events?after=CURSOR&limit=N[&event_type=&job_id=&from=&to=]`
pub async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<FeedQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = match query.after.as_deref() {
        None | Some("") => Cursor::default(),
        Some(text) => Cursor::decode(text).ok_or_else(|| {
            ApiError::BadRequest("after must be a cursor returned by this endpoint".into())
        })?,
    };
    let limit = query.limit.unwrap_or(DEFAULT_FEED_PAGE);
    if !(1..=MAX_FEED_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be an integer between 1 and {MAX_FEED_PAGE}"
        )));
    }
    let filter = LogFilter {
        organization_id: Some(caller.organization_id),
        event_type: query.event_type.filter(|t| !t.is_empty()),
        job_id: query.job_id.filter(|j| !j.is_empty()),
        from: query
            .from
            .as_deref()
            .map(|t| parse_time("from", t))
            .transpose()?,
        to: query
            .to
            .as_deref()
            .map(|t| parse_time("to", t))
            .transpose()?,
    };
    let events = event_log::feed(&state.db, after, limit, &filter).await?;
    let next = events.last().map_or(after, StoredEvent::cursor);
    let has_more = events.len() as i64 == limit;
    Ok(Json(json!({
        "events": events.iter().map(event_json).collect::<Vec<_>>(),
        "next_cursor": next.encode(),
        "has_more": has_more,
    })))
}

/// `GET /api/v2/task-executions/status/{job_id}/stream`: the status view after every event of
/// the job, as Server-Sent Events whose id is the event's log position; the stream ends after
/// the final update. A client that reconnects with `Last-Event-ID` gets only what came after.
/// The views are folded from the job's own events, so no update is skipped or merged.
pub async fn status_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job_id = canonical_id(&job_id).ok_or(JOB_NOT_FOUND)?;
    let organization_id = caller.organization_id;
    owned_history(&state.db, &job_id, &organization_id).await?;
    let resume_after: i64 = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let (sender, receiver) = tokio::sync::mpsc::channel(64);
    let db = state.db.clone();
    let mut shutdown = state.shutdown.clone();
    let closes_at = tokio::time::Instant::now() + STREAM_LIFETIME;
    tokio::spawn(async move {
        let mut follower = query::StatusFollower::new(job_id);
        loop {
            let updates = match follower.next_updates(&db).await {
                Ok(updates) => updates,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "status stream read failed");
                    Vec::new()
                }
            };
            for update in updates {
                if update.position <= resume_after {
                    continue;
                }
                let event = Event::default()
                    .id(update.position.to_string())
                    .event("status")
                    .json_data(&update.status.view)
                    .unwrap_or_else(|_| Event::default().comment("unserializable status"));
                if sender.send(Ok(event)).await.is_err() || update.terminal {
                    return;
                }
            }
            // Resumed after the final update: nothing more will come.
            if follower.ended() {
                return;
            }
            if *shutdown.borrow() || tokio::time::Instant::now() >= closes_at {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(STREAM_POLL) => {}
                () = sender.closed() => return,
                _ = shutdown.changed() => return,
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(receiver)).keep_alive(KeepAlive::default()))
}
