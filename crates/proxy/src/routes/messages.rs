//! `POST /v1/tickets/{id}/messages`: JSON, or SSE (`context`, `delta`…, `done` | `error`)
//! when the client sends `Accept: text/event-stream`. Each message first takes a permit
//! from the reply gate (`reply_gate`: one reply per customer, a global cap), held until
//! its flow ends — also when the client has gone away.

use std::convert::Infallible;

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{
        sse::{Event as SseEvent, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Extension, Json,
};
use everdesk_api::{sse, SendMessageRequest, StreamDelta};
use futures::stream::StreamExt;
use tokio_stream::wrappers::UnboundedReceiverStream;

use crate::{
    error::ProxyError,
    extract::{ApiJson, Authed, TicketPath},
    flows::message::{self, Event},
    request_id,
    routes::ClientKey,
    AppState,
};

fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

fn json_event(name: &str, value: &impl serde::Serialize) -> SseEvent {
    SseEvent::default()
        .event(name)
        .data(serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()))
}

/// Sends a customer message and answers with the reply.
pub async fn send(
    State(state): State<AppState>,
    Authed(who): Authed,
    TicketPath(ticket_id): TicketPath,
    client: Option<Extension<ClientKey>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SendMessageRequest>,
) -> Result<Response, ProxyError> {
    // The ledger shares its room fairly per client (IP) too.
    let client = client
        .map(|Extension(ClientKey(key))| key)
        .filter(|key| key != "unknown")
        .unwrap_or_default();
    if !wants_sse(&headers) {
        let permit = state.svc.reply_gate.acquire(&who.id).await?;
        // A forget that began while this waited has ended the session: nothing more of
        // this customer's may reach EverOS. (Without a wait the extractor has just
        // checked; the check after the ledger claim is the one a forget relies on.)
        if permit.waited() {
            crate::fencing::still_valid(&state, &who).await?;
        }
        // Spawned, so a client that goes away mid-request (a reload, a closed tab)
        // cannot cancel the flow between an EverOS add and the ledger update: the
        // retry with the same message id then finds the finished outcome.
        let id = request_id::current();
        let flow = tokio::spawn(request_id::scope(id, async move {
            let _permit = permit;
            message::send(&state, &who, &ticket_id, &client, req, None).await
        }));
        let resp = flow.await.map_err(|e| {
            tracing::error!(error = %e, "message flow panicked");
            ProxyError::Internal
        })??;
        return Ok(Json(resp).into_response());
    }
    // Request errors are answered with a status before the stream starts.
    message::validate(&req)?;
    crate::flows::ticket::find(&state, &who, &ticket_id).await?;
    let permit = state.svc.reply_gate.acquire(&who.id).await?;
    // A forget that began while this waited has ended the session: nothing more of
    // this customer's may reach EverOS. (Without a wait the extractor has just checked.)
    if permit.waited() {
        crate::fencing::still_valid(&state, &who).await?;
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<SseEvent>();
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let id = request_id::current();
    // The flow runs to completion even if the client goes away, so the ledger stays consistent.
    tokio::spawn(request_id::scope(id, async move {
        let _permit = permit;
        let forward_tx = tx.clone();
        let forward = tokio::spawn(async move {
            while let Some(ev) = ev_rx.recv().await {
                let sse_ev = match ev {
                    Event::Context(ctx) => json_event(sse::CONTEXT, &ctx),
                    Event::Delta(text) => json_event(sse::DELTA, &StreamDelta { text }),
                };
                let _ = forward_tx.send(sse_ev);
            }
        });
        let result = message::send(&state, &who, &ticket_id, &client, req, Some(ev_tx)).await;
        let _ = forward.await;
        let last = match result {
            Ok(resp) => json_event(sse::DONE, &resp),
            Err(e) => json_event(sse::ERROR, &e.body()),
        };
        let _ = tx.send(last);
    }));
    let stream = UnboundedReceiverStream::new(rx).map(Ok::<_, Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
