//! Ticket flows: create (idempotent; stores the opening assistant message), close
//! (flush; harmless twice; keeps the close form's feedback) and escalate (hand-off,
//! optional webhook, flush).
//!
//! A ticket's EverOS session is bound to its customer (`everos::ids::session_id`), so two
//! customers who pick the same ticket id never share a session. A flush is never sent
//! twice while the first one's outcome is unknown: a close retried within
//! `--everos-settle-ms` of a flush that timed out gets 503 instead. An escalation does
//! not flush while a customer turn's add has an unknown outcome (the retry looks for it
//! in the session's buffer, which a flush empties): the close flushes then.

use everdesk_api::{
    CloseResponse, CreateTicketRequest, CreateTicketResponse, EscalateResponse, MemoryOutcome,
    Message, Role, Ticket, TicketStatus,
};

use std::time::Duration;

use axum::http::StatusCode;

use crate::{
    clock::now_ms,
    error::ProxyError,
    escalation::{self, HandoffInput},
    everos::{ids, WireMessage},
    extract::check_ticket_id,
    identity::SessionCustomer,
    tickets::{Claim, Feedback, TicketRecord},
    AppState,
};

/// Longest accepted subject, characters.
const MAX_SUBJECT_CHARS: usize = 200;

/// How long a create waits for another replica's claim on the same ticket before
/// answering 503 with `Retry-After`.
const CLAIM_WAIT: Duration = Duration::from_secs(3);
/// How often it looks again meanwhile.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// Creates a ticket; `Ok((created, response))` where `created` is false for a repeat.
/// Exactly once across replicas: the ticket is claimed in the database first (see
/// `tickets/claim.rs`), and only the claim's winner adds the opening line to EverOS.
pub async fn create(
    state: &AppState,
    who: &SessionCustomer,
    req: CreateTicketRequest,
) -> Result<(bool, CreateTicketResponse), ProxyError> {
    check_ticket_id(&req.ticket_id)?;
    let subject = req.subject.trim();
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ProxyError::InvalidRequest(format!(
            "subject must be 1-{MAX_SUBJECT_CHARS} characters"
        )));
    }
    let svc = &state.svc;
    // The fast path in this process; the claim below holds across replicas.
    let lock = svc.tickets.create_lock(&who.id, &req.ticket_id);
    let _guard = lock.lock().await;
    if let Some(existing) = svc.tickets.get(&who.id, &req.ticket_id).await? {
        return Ok((false, response(&existing)));
    }
    if !svc.tickets.make_room(now_ms()).await? {
        tracing::warn!("the ticket store is full of open tickets; a new ticket is refused");
        return Err(ProxyError::Busy(60));
    }
    let (owner, took_over) = match claim_or_wait(state, who, &req.ticket_id).await? {
        Opening::Exists(existing) => return Ok((false, response(&existing))),
        Opening::Claimed(owner, took_over) => (owner, took_over),
    };
    let record = opening_record(state, who, &req.ticket_id, subject);
    if took_over {
        // The claim's replica died mid-create: its add's outcome is unknown, so the
        // ticket opens without adding again (a lost opening line beats a duplicate).
        tracing::info!("a stale ticket claim was taken over; opening without an add");
        if !svc
            .tickets
            .open_claimed(&who.id, record.clone(), &owner)
            .await?
        {
            return opened_elsewhere(state, who, &req.ticket_id).await;
        }
        return Ok((false, response(&record)));
    }
    let added = svc
        .everos
        .add(
            &who.id,
            &record.ticket.session_id,
            &[WireMessage {
                role: "assistant",
                timestamp: record.ticket.created_at,
                content: &record.opening.content,
                sender_name: None,
            }],
        )
        .await;
    match added {
        Ok(()) => {
            if !svc
                .tickets
                .open_claimed(&who.id, record.clone(), &owner)
                .await?
            {
                // Slower than the lease: another request took the claim over and opened
                // the ticket (without adding); its ticket stands.
                return opened_elsewhere(state, who, &req.ticket_id).await;
            }
            super::conversation::record(
                state,
                who,
                &record.ticket,
                std::slice::from_ref(&record.opening),
            )
            .await;
            Ok((true, response(&record)))
        }
        Err(e) => {
            // Unknown outcome (timeout): the opening message may be stored; keep the ticket so a
            // retry answers 200 without adding it again (a lost opening line beats a duplicate).
            // A definite failure frees the claim, so a retry tries again.
            if e.outcome_unknown() {
                svc.tickets.open_claimed(&who.id, record, &owner).await?;
            } else {
                svc.tickets
                    .drop_claim(&who.id, &req.ticket_id, &owner)
                    .await?;
            }
            Err(e.into())
        }
    }
}

/// The ticket another request opened while this one's claim lapsed: a repeat.
async fn opened_elsewhere(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
) -> Result<(bool, CreateTicketResponse), ProxyError> {
    match state.svc.tickets.get(&who.id, ticket_id).await? {
        Some(existing) => Ok((false, response(&existing))),
        // Opened and gone again (forgotten in between): try again.
        None => Err(ProxyError::Busy(1)),
    }
}

/// How a create's claim turned out.
enum Opening {
    /// The ticket exists (another request made it): a repeat.
    Exists(Box<TicketRecord>),
    /// This request holds the claim (its token), taken over from a dead replica or not.
    Claimed(String, bool),
}

/// Claims the ticket, waiting up to [`CLAIM_WAIT`] while another replica holds a live
/// claim; 503 (`Busy`) when it still does.
async fn claim_or_wait(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
) -> Result<Opening, ProxyError> {
    let tickets = &state.svc.tickets;
    let lease = state.config.everos_connect_timeout() + state.config.everos_timeout() + LEASE_SLACK;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let started = tokio::time::Instant::now();
    loop {
        let (owner, took_over) = match tickets
            .claim(&who.id, ticket_id, now_ms(), lease_ms)
            .await?
        {
            Claim::Won(owner) => (owner, false),
            Claim::TookOver(owner) => (owner, true),
            Claim::Held => {
                if let Some(existing) = tickets.get(&who.id, ticket_id).await? {
                    return Ok(Opening::Exists(Box::new(existing)));
                }
                if started.elapsed() >= CLAIM_WAIT {
                    return Err(ProxyError::Busy(1));
                }
                tokio::time::sleep(CLAIM_POLL).await;
                continue;
            }
        };
        // The claim may be free because its winner just wrote the ticket (in the same
        // transaction that freed it): then this is a repeat.
        if let Some(existing) = tickets.get(&who.id, ticket_id).await? {
            tickets.drop_claim(&who.id, ticket_id, &owner).await?;
            return Ok(Opening::Exists(Box::new(existing)));
        }
        return Ok(Opening::Claimed(owner, took_over));
    }
}

/// A claim outlives an add (connect and request timeouts) by this much before another
/// replica may take it over.
const LEASE_SLACK: Duration = Duration::from_secs(5);

/// The open ticket `ticket_id` with its opening line, as the winner writes it.
fn opening_record(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
    subject: &str,
) -> TicketRecord {
    let session_id = ids::session_id(&who.id, ticket_id);
    let subject = if state.config.store_redaction {
        crate::redact::for_store(subject)
    } else {
        subject.to_owned()
    };
    let content = format!("Ticket opened: {subject}");
    let ts = state.svc.clock.next(&who.id, &session_id);
    TicketRecord {
        ticket: Ticket {
            id: ticket_id.to_owned(),
            session_id,
            subject,
            status: TicketStatus::Open,
            created_at: ts,
        },
        opening: Message {
            id: format!("open_{ticket_id}"),
            role: Role::Assistant,
            content,
            created_at: ts,
        },
        customer_messages: Vec::new(),
        replies: Vec::new(),
        feedback: None,
    }
}

fn response(r: &TicketRecord) -> CreateTicketResponse {
    CreateTicketResponse {
        ticket: r.ticket.clone(),
        messages: vec![r.opening.clone()],
    }
}

/// The customer's ticket, or 404.
pub async fn find(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
) -> Result<TicketRecord, ProxyError> {
    state
        .svc
        .tickets
        .get(&who.id, ticket_id)
        .await?
        .ok_or(ProxyError::NotFound)
}

/// The customer's ticket without its exchanges, and how many it holds; or 404.
pub async fn find_head(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
) -> Result<(TicketRecord, usize), ProxyError> {
    state
        .svc
        .tickets
        .head(&who.id, ticket_id)
        .await?
        .ok_or(ProxyError::NotFound)
}

/// Closes a ticket: flushes its EverOS session once; a second close answers
/// `no_extraction`. `feedback`, when given, is kept with the ticket (also by a second
/// close, so a form sent after the ticket closed is not lost).
pub async fn close(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
    feedback: Option<Feedback>,
) -> Result<CloseResponse, ProxyError> {
    let record = find(state, who, ticket_id).await?;
    let tickets = &state.svc.tickets;
    let done = |memory| CloseResponse {
        status: TicketStatus::Closed,
        memory,
    };
    let closed_already = |feedback: Option<Feedback>| async move {
        if feedback.is_some() {
            tickets.close(&who.id, ticket_id, feedback).await?;
        }
        Ok(done(MemoryOutcome::NoExtraction))
    };
    if record.ticket.status == TicketStatus::Closed {
        return closed_already(feedback).await;
    }
    let lock = tickets.create_lock(&who.id, ticket_id);
    let _guard = lock.lock().await;
    if find(state, who, ticket_id).await?.ticket.status == TicketStatus::Closed {
        return closed_already(feedback).await;
    }
    let session_id = &record.ticket.session_id;
    if state
        .svc
        .unsettled_flushes
        .waiting(&who.id, session_id, now_ms())
    {
        return Err(ProxyError::Upstream(StatusCode::SERVICE_UNAVAILABLE));
    }
    match state.svc.everos.flush(&who.id, session_id).await {
        Ok(memory) => {
            state.svc.unsettled_flushes.settled(&who.id, session_id);
            tickets.close(&who.id, ticket_id, feedback).await?;
            let closed = find(state, who, ticket_id).await.unwrap_or(record);
            state.svc.recent.remember(&who.id, &closed, now_ms());
            super::conversation::closed(state, &who.id, &closed.ticket).await;
            Ok(done(memory))
        }
        Err(e) => {
            // A timed-out flush may still run: a retry waits out the settle window, after
            // which re-flushing is harmless (an empty buffer is `no_extraction`). The
            // ticket stays open for that retry.
            if e.outcome_unknown() {
                state.svc.unsettled_flushes.unknown(
                    &who.id,
                    session_id,
                    now_ms() + settle_ms(state),
                );
            }
            Err(e.into())
        }
    }
}

fn settle_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.everos_settle_ms).unwrap_or(i64::MAX)
}

/// Builds the hand-off, searching episodic memory (top 10), and posts it to the webhook.
pub async fn escalate(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
    reason: Option<String>,
) -> Result<EscalateResponse, ProxyError> {
    let record = find(state, who, ticket_id).await?;
    let query = format!(
        "{} {}",
        record.ticket.subject,
        record.customer_messages.join(" ")
    );
    let query: String = query.chars().take(1000).collect();
    let everos = &state.svc.everos;
    let (profile, history) = tokio::join!(
        everos.profile(&who.id, &query, 5),
        everos.episodes(&who.id, &query, 10)
    );
    // A customer asking for a person is never refused because memory is unavailable:
    // a failed search (logged and counted by the client) leaves that part empty.
    let mut history = history.unwrap_or_default();
    let profile = profile.unwrap_or_default();
    state
        .svc
        .recent
        .merge(&who.id, Some(&query), &mut history, 10, now_ms());
    history.retain(|ep| ep.session_id != record.ticket.session_id);
    let mut handoff = escalation::build(HandoffInput {
        record: &record,
        customer: who,
        profile: &profile,
        history,
        reason: reason.as_deref(),
        now: now_ms(),
    });
    if let Some(llm) = &state.svc.llm {
        let messages = crate::prompt::handoff_messages(
            &record.ticket.subject,
            &record.customer_messages,
            &record.replies,
        );
        match llm.complete(&messages, |_| {}).await {
            Ok(answer) => match crate::prompt::parse_handoff_answer(&answer) {
                Some((sentiment, summary)) => {
                    handoff.customer_sentiment = sentiment;
                    handoff.issue_summary = summary;
                }
                None => tracing::warn!("LLM hand-off answer malformed; using the rules"),
            },
            Err(e) => tracing::warn!(error = %e, "LLM hand-off failed; using the rules"),
        }
    }
    if let Some(webhook) = &state.svc.webhook {
        let body = serde_json::to_vec(&handoff).map_err(|_| ProxyError::Internal)?;
        handoff.delivered = webhook.deliver(body).await;
    }
    super::conversation::escalated(state, who, &record.ticket, &handoff).await?;
    // What was said so far becomes memory now, so the agent and the next ticket can
    // recall it; later messages form the next episode when the ticket closes. A failure
    // here does not undo the hand-off (the close flushes again).
    // Not while a customer turn's outcome is unknown: the retry finds it only in the
    // buffer (the close flushes instead; after it a retry is refused, never re-added).
    let session_id = &record.ticket.session_id;
    if state
        .svc
        .ledger
        .has_unknown_user_turn(&who.id, ticket_id)
        .await
    {
        tracing::info!("a customer turn of unknown outcome: the flush waits for the close");
    } else if !state
        .svc
        .unsettled_flushes
        .waiting(&who.id, session_id, now_ms())
    {
        if let Err(e) = state.svc.everos.flush(&who.id, session_id).await {
            tracing::warn!(error = %e, "flush on escalation failed; the close will flush");
            if e.outcome_unknown() {
                state.svc.unsettled_flushes.unknown(
                    &who.id,
                    session_id,
                    now_ms() + settle_ms(state),
                );
            }
        }
    }
    Ok(EscalateResponse { handoff })
}
