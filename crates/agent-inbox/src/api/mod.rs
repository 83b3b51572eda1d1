//! The ONLY code that talks to the proxy's agent routes: one function per endpoint,
//! `Result<wire type, ApiError>`. Paths come from `everdesk_api::routes`; the proxy
//! serves the inbox, so the API is on the same origin.

mod error;
pub mod http;

pub use error::ApiError;

use everdesk_api::{
    routes, AgentReplyRequest, AgentReplyResponse, AgentSessionRequest, AgentSessionResponse,
    AgentTicketResponse, CloseResponse, QueueItem, QueueResponse,
};
use serde::{de::DeserializeOwned, Serialize};

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::Decode(e.to_string()))
}

fn encode<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Decode(e.to_string()))
}

/// `POST /v1/agent/session` with a JWT.
pub async fn sign_in(jwt: &str) -> Result<AgentSessionResponse, ApiError> {
    let body = encode(&AgentSessionRequest::Jwt {
        jwt: jwt.trim().to_owned(),
    })?;
    decode(&http::send("POST", routes::AGENT_SESSION, None, Some(&body)).await?)
}

/// `GET /v1/agent/queue`.
pub async fn queue(token: &str) -> Result<QueueResponse, ApiError> {
    decode(&http::send("GET", routes::AGENT_QUEUE, Some(token), None).await?)
}

/// `GET /v1/agent/tickets/{session_id}`.
pub async fn ticket(token: &str, session_id: &str) -> Result<AgentTicketResponse, ApiError> {
    let url = routes::agent_ticket(session_id);
    decode(&http::send("GET", &url, Some(token), None).await?)
}

/// `POST …/claim`.
pub async fn claim(token: &str, session_id: &str) -> Result<QueueItem, ApiError> {
    let url = routes::agent_claim(session_id);
    decode(&http::send("POST", &url, Some(token), Some("{}")).await?)
}

/// `POST …/messages`: a reply (idempotent by `reply.id`).
pub async fn reply(
    token: &str,
    session_id: &str,
    reply: &AgentReplyRequest,
) -> Result<AgentReplyResponse, ApiError> {
    let url = routes::agent_reply(session_id);
    let body = encode(reply)?;
    decode(&http::send("POST", &url, Some(token), Some(&body)).await?)
}

/// `POST …/close`.
pub async fn close(token: &str, session_id: &str) -> Result<CloseResponse, ApiError> {
    let url = routes::agent_close(session_id);
    decode(&http::send("POST", &url, Some(token), Some("{}")).await?)
}

/// `POST …/typing`.
pub async fn typing(token: &str, session_id: &str) -> Result<(), ApiError> {
    let url = routes::agent_typing(session_id);
    http::send("POST", &url, Some(token), Some("{}"))
        .await
        .map(drop)
}
