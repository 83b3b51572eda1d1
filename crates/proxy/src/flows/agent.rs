//! The agent flows: the queue across customers, one ticket with what EverOS remembers,
//! claim (one agent per ticket), reply (stored in EverOS as an assistant turn named
//! after the agent, shown live to the customer), close, typing.

use everdesk_api::{
    Agent, AgentReplyRequest, AgentTicketResponse, Author, CloseResponse, FeedbackView,
    LiveEventKind, QueueItem, QueueState, TicketStatus, TranscriptMessage,
};

use crate::{
    clock::now_ms,
    conversations::{ClaimError, Conversation},
    error::ProxyError,
    everos::WireMessage,
    identity::SessionCustomer,
    tickets::TicketRecord,
    AppState,
};

/// Most tickets the queue lists.
const QUEUE_LIMIT: usize = 200;
/// Longest agent reply, characters.
const MAX_REPLY_CHARS: usize = 4_000;
/// Longest queue preview, characters.
const PREVIEW_CHARS: usize = 140;

/// The ticket record of a conversation (its status, subject, feedback).
async fn record_of(state: &AppState, c: &Conversation) -> Result<Option<TicketRecord>, ProxyError> {
    Ok(state.svc.tickets.get(&c.customer.id, &c.ticket_id).await?)
}

/// The queue entry of a conversation.
fn item(c: &Conversation, record: &TicketRecord) -> QueueItem {
    let state = if record.ticket.status == TicketStatus::Closed {
        QueueState::Closed
    } else if c.escalated_at.is_some() {
        QueueState::Escalated
    } else {
        QueueState::Open
    };
    let preview = c
        .preview
        .as_ref()
        .map(|m| m.chars().take(PREVIEW_CHARS).collect());
    QueueItem {
        ticket: record.ticket.clone(),
        customer: c.customer.clone(),
        state,
        escalated_at: c.escalated_at,
        claimed_by: c.claimed_by.clone(),
        last_message_at: c.last_message_at,
        preview,
    }
}

/// Escalated tickets first (longest waiting first), then open ones (latest activity
/// first); closed ones are not listed (the database orders and limits them).
pub async fn queue(state: &AppState) -> Result<Vec<QueueItem>, ProxyError> {
    let mut items = Vec::new();
    for (_, c) in state.svc.conversations.queue(QUEUE_LIMIT).await? {
        if let Some(r) = record_of(state, &c).await? {
            let i = item(&c, &r);
            if i.state != QueueState::Closed {
                items.push(i);
            }
        }
    }
    Ok(items)
}

async fn find(
    state: &AppState,
    session_id: &str,
) -> Result<(Conversation, TicketRecord), ProxyError> {
    let c = state
        .svc
        .conversations
        .get(session_id)
        .await?
        .ok_or(ProxyError::NotFound)?;
    let r = record_of(state, &c).await?.ok_or(ProxyError::NotFound)?;
    Ok((c, r))
}

/// One ticket for an agent, with the customer's profile and relevant past tickets.
pub async fn ticket(state: &AppState, session_id: &str) -> Result<AgentTicketResponse, ProxyError> {
    let (c, r) = find(state, session_id).await?;
    let query: String = std::iter::once(r.ticket.subject.as_str())
        .chain(r.customer_messages.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(1000)
        .collect();
    let everos = &state.svc.everos;
    let (profile, history) = tokio::join!(
        everos.profile(&c.customer.id, &query, 10),
        everos.episodes(&c.customer.id, &query, 10)
    );
    // The agent still sees the conversation when memory is unavailable.
    let mut history = history.unwrap_or_default();
    history.retain(|e| e.session_id != session_id);
    let transcript = state.svc.conversations.transcript(&c).await?;
    Ok(AgentTicketResponse {
        item: item(&c, &r),
        handoff: c.handoff.clone(),
        transcript,
        profile: profile.unwrap_or_default(),
        history,
        feedback: r.feedback.as_ref().map(|f| FeedbackView {
            rating: f.rating,
            comment: f.comment.clone(),
        }),
    })
}

/// The agent holding the ticket with this session id, if one claimed it.
pub async fn holder(state: &AppState, session_id: &str) -> Result<Option<Agent>, ProxyError> {
    Ok(state.svc.conversations.holder(session_id).await?)
}

/// Claims a ticket; `409 conflict` when another agent holds it.
pub async fn claim(
    state: &AppState,
    session_id: &str,
    agent: &Agent,
) -> Result<QueueItem, ProxyError> {
    let (before, r) = find(state, session_id).await?;
    let c = state
        .svc
        .conversations
        .claim(session_id, agent)
        .await
        .map_err(|e| match e {
            ClaimError::NotFound => ProxyError::NotFound,
            ClaimError::Taken(holder) => {
                ProxyError::Conflict(format!("{} already claimed this ticket", holder.name))
            }
            ClaimError::Store(e) => e.into(),
        })?;
    if before.claimed_by.as_ref().is_none_or(|h| h.id != agent.id) {
        announce(
            state,
            &c,
            session_id,
            LiveEventKind::Claimed {
                agent: agent.clone(),
            },
        )
        .await;
    }
    Ok(item(&c, &r))
}

/// An agent's reply: only by the agent holding the claim, on an open ticket; a retry
/// with the same id returns the stored message.
pub async fn reply(
    state: &AppState,
    session_id: &str,
    agent: &Agent,
    req: AgentReplyRequest,
) -> Result<TranscriptMessage, ProxyError> {
    crate::flows::message::validate_id(&req.id)?;
    let content = req.content.trim();
    let n = content.chars().count();
    if n == 0 || n > MAX_REPLY_CHARS {
        return Err(ProxyError::InvalidRequest(format!(
            "content must be 1-{MAX_REPLY_CHARS} characters after trimming"
        )));
    }
    let (c, r) = find(state, session_id).await?;
    let id = format!("agent_{}", req.id);
    if let Some(done) = state.svc.conversations.message(&c, &id).await? {
        return Ok(done);
    }
    if c.claimed_by.as_ref().is_none_or(|h| h.id != agent.id) {
        return Err(ProxyError::Conflict(
            "claim the ticket before replying".into(),
        ));
    }
    if r.ticket.status == TicketStatus::Closed {
        return Err(ProxyError::Conflict("this ticket is closed".into()));
    }
    let stored = if state.config.store_redaction {
        crate::redact::for_store(content)
    } else {
        content.to_owned()
    };
    let ts = state.svc.clock.next(&c.customer.id, session_id);
    state
        .svc
        .everos
        .add(
            &c.customer.id,
            session_id,
            &[WireMessage {
                role: "assistant",
                timestamp: ts,
                content: &stored,
                sender_name: Some(&agent.name),
            }],
        )
        .await?;
    let message = TranscriptMessage {
        id,
        author: Author::Agent,
        name: Some(agent.name.clone()),
        content: stored,
        created_at: ts,
    };
    if state
        .svc
        .conversations
        .append(session_id, &c, &message)
        .await?
    {
        announce(
            state,
            &c,
            session_id,
            LiveEventKind::Message {
                message: message.clone(),
            },
        )
        .await;
    }
    Ok(message)
}

/// Closes a ticket for its customer (the same flush as the customer's own close).
pub async fn close(state: &AppState, session_id: &str) -> Result<CloseResponse, ProxyError> {
    let (c, _) = find(state, session_id).await?;
    let who = SessionCustomer {
        id: c.customer.id.clone(),
        kind: c.customer.kind,
        name: c.customer.name.clone(),
        issued_at: now_ms(),
        name_vouched: c.customer.name.is_some(),
    };
    let _quiet = state.svc.reply_gate.quiet(&who.id).await?;
    super::ticket::close(state, &who, &c.ticket_id, None).await
}

/// Publishes `kind` on `c`'s ticket (to the customer's streams and the agents').
async fn announce(state: &AppState, c: &Conversation, session_id: &str, kind: LiveEventKind) {
    state
        .svc
        .live
        .publish(&c.customer.id, &c.ticket_id, session_id, kind)
        .await;
}

/// Tells the customer an agent is typing.
pub async fn typing(state: &AppState, session_id: &str) -> Result<(), ProxyError> {
    let (c, _) = find(state, session_id).await?;
    announce(
        state,
        &c,
        session_id,
        LiveEventKind::Typing {
            author: Author::Agent,
        },
    )
    .await;
    Ok(())
}
