//! Agent routes: sign-in, the queue, one ticket, claim, reply, close, typing. Only agent
//! tokens pass [`AgentAuthed`]; customer session tokens are refused here, as agent
//! tokens are on the customer routes.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use everdesk_api::{
    AgentReplyRequest, AgentReplyResponse, AgentSessionRequest, AgentSessionResponse,
    AgentTicketResponse, CloseResponse, QueueItem, QueueResponse,
};

use crate::{
    error::ProxyError,
    extract::{AgentAuthed, ApiJson},
    flows::agent,
    AppState,
};

/// A `{session_id}` path segment: the shape of the proxy's own session ids.
fn session_path(Path(id): Path<String>) -> Result<String, ProxyError> {
    let ok = id.len() <= 160
        && id.starts_with("ticket_")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(ProxyError::NotFound)
    }
}

/// `POST /v1/agent/session`.
pub async fn session(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AgentSessionRequest>,
) -> Result<Json<AgentSessionResponse>, ProxyError> {
    let resp = state.svc.identity.open_agent_session(req)?;
    tracing::info!(agent = %resp.agent.id, "agent signed in");
    Ok(Json(resp))
}

/// `GET /v1/agent/queue`.
pub async fn queue(
    State(state): State<AppState>,
    AgentAuthed(_agent): AgentAuthed,
) -> Result<Json<QueueResponse>, ProxyError> {
    Ok(Json(QueueResponse {
        tickets: agent::queue(&state).await?,
    }))
}

/// `GET /v1/agent/tickets/{session_id}`.
pub async fn ticket(
    State(state): State<AppState>,
    AgentAuthed(_agent): AgentAuthed,
    path: Path<String>,
) -> Result<Json<AgentTicketResponse>, ProxyError> {
    let id = session_path(path)?;
    agent::ticket(&state, &id).await.map(Json)
}

/// `POST /v1/agent/tickets/{session_id}/claim`.
pub async fn claim(
    State(state): State<AppState>,
    AgentAuthed(me): AgentAuthed,
    path: Path<String>,
) -> Result<Json<QueueItem>, ProxyError> {
    let id = session_path(path)?;
    agent::claim(&state, &id, &me).await.map(Json)
}

/// `POST /v1/agent/tickets/{session_id}/messages`.
pub async fn reply(
    State(state): State<AppState>,
    AgentAuthed(me): AgentAuthed,
    path: Path<String>,
    ApiJson(req): ApiJson<AgentReplyRequest>,
) -> Result<Json<AgentReplyResponse>, ProxyError> {
    let id = session_path(path)?;
    let message = agent::reply(&state, &id, &me, req).await?;
    Ok(Json(AgentReplyResponse { message }))
}

/// `POST /v1/agent/tickets/{session_id}/close`.
pub async fn close(
    State(state): State<AppState>,
    AgentAuthed(_agent): AgentAuthed,
    path: Path<String>,
) -> Result<Json<CloseResponse>, ProxyError> {
    let id = session_path(path)?;
    agent::close(&state, &id).await.map(Json)
}

/// `POST /v1/agent/tickets/{session_id}/typing`.
pub async fn typing(
    State(state): State<AppState>,
    AgentAuthed(_agent): AgentAuthed,
    path: Path<String>,
) -> Result<StatusCode, ProxyError> {
    let id = session_path(path)?;
    agent::typing(&state, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
