//! The customer-message flow with the idempotency ledger. Steps, each recorded in the
//! ledger entry so a retry resumes where the last attempt stopped: store the customer
//! turn (`role: user`); gather context and generate the reply (kept for retries); store
//! the reply (`role: assistant`); remember the response. When an agent holds the ticket
//! the flow ends after the customer turn: no reply is generated, the response names the
//! agent (`handled_by`) and the agent sees the message live.
//!
//! Unknown outcomes (an add that timed out) are never re-sent blindly:
//! - customer turn: the retry first asks EverOS for the ticket session's buffered
//!   messages and looks for this turn by its timestamp (unique per session, so an
//!   earlier "ok" with the same text is not mistaken for it); found → treated as stored; not found while the lost add may still be
//!   on its way (within `--everos-settle-ms` of sending it) → 503, try again later, so
//!   a late add is waited for rather than raced; not found after that → re-added with
//!   the *same* timestamp;
//! - reply: EverOS cannot show assistant turns before extraction, so the retry treats
//!   it as stored — at worst one reply is missing from memory, never duplicated.
//!
//! The ledger row records each add as "outcome unknown" before it is sent (write-ahead),
//! and every attempt that moved the progress before its answer goes out, so these rules
//! hold across a restart, even one that kills the proxy in the middle of an add, and on
//! another replica that takes over (a retry waits for, or is told to come back after,
//! the claim of a replica still handling the message).

use everdesk_api::{
    limits, Context, Message, Role, SendMessageRequest, SendMessageResponse, TicketStatus,
};
use tokio::sync::mpsc::UnboundedSender;

use crate::{
    error::ProxyError,
    everos::WireMessage,
    identity::SessionCustomer,
    ledger::{AdmitRefused, Claim, ClaimRefused, Progress, Refused, Step},
    prompt, redact,
    responder::{self, ResponderInput},
    tickets::{TicketRecord, TicketStore},
    AppState,
};

/// Progress events for streaming (`Accept: text/event-stream`).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Context gathered.
    Context(Context),
    /// A piece of the reply.
    Delta(String),
}

/// Longest accepted client message id.
const MAX_MESSAGE_ID_LEN: usize = 128;

fn emit(events: Option<&UnboundedSender<Event>>, e: Event) {
    if let Some(tx) = events {
        let _ = tx.send(e);
    }
}

/// Streams a remembered answer again: its context and its reply in one piece (nothing
/// when a person handles the ticket: there is no reply).
fn replay(events: Option<&UnboundedSender<Event>>, done: &SendMessageResponse) {
    if let Some(reply) = &done.reply {
        emit(events, Event::Context(done.context.clone()));
        emit(events, Event::Delta(reply.content.clone()));
    }
}

/// Checks a client-chosen message id: 1-128 plain characters (a UUID).
pub fn validate_id(id: &str) -> Result<(), ProxyError> {
    let id_ok = !id.is_empty()
        && id.len() <= MAX_MESSAGE_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if id_ok {
        Ok(())
    } else {
        Err(ProxyError::InvalidRequest(
            "message id must be 1-128 plain characters (a UUID)".into(),
        ))
    }
}

/// Checks the message id and content; returns the trimmed content.
pub fn validate(req: &SendMessageRequest) -> Result<String, ProxyError> {
    validate_id(&req.id)?;
    let content = req.content.trim();
    let n = content.chars().count();
    if n == 0 || n > limits::MAX_MESSAGE_CHARS {
        return Err(ProxyError::InvalidRequest(format!(
            "content must be 1-{} characters after trimming",
            limits::MAX_MESSAGE_CHARS
        )));
    }
    Ok(content.to_owned())
}

/// Handles one customer message from `client` (its IP key, "" when unknown); see the
/// module docs for the retry rules.
pub async fn send(
    state: &AppState,
    who: &SessionCustomer,
    ticket_id: &str,
    client: &str,
    req: SendMessageRequest,
    events: Option<UnboundedSender<Event>>,
) -> Result<SendMessageResponse, ProxyError> {
    let content = validate(&req)?;
    let svc = &state.svc;
    let (record, exchanges) = super::ticket::find_head(state, who, ticket_id).await?;
    if record.ticket.status == TicketStatus::Closed {
        // Only a retry of a message answered before the close gets an answer (its own);
        // anything else is refused without taking a ledger slot, so messages to closed
        // tickets cannot fill the ledger and lock other customers out.
        let answered = match svc
            .ledger
            .existing(&who.id, ticket_id, &req.id, &content)
            .await
        {
            Some(entry) => match svc.ledger.claim(&entry).await {
                Ok(p) => {
                    let done = p.response.clone();
                    svc.ledger.release(p).await;
                    done
                }
                Err(ClaimRefused::Busy(secs)) => return Err(ProxyError::Busy(secs)),
                Err(ClaimRefused::Unavailable) => return Err(ProxyError::Storage),
            },
            None => None,
        };
        return match answered {
            Some(done) => {
                svc.metrics.ledger_hit();
                replay(events.as_ref(), &done);
                Ok(done)
            }
            None => Err(ProxyError::Conflict("this ticket is closed".into())),
        };
    }
    let p = svc
        .ledger
        .admit(&who.id, ticket_id, &req.id, &content, client)
        .await
        .map_err(|refused| match refused {
            AdmitRefused::Entry(Refused::ContentMismatch) => ProxyError::Conflict(
                "this message id was already used with different content".into(),
            ),
            AdmitRefused::Entry(Refused::Full(wait)) => {
                ProxyError::RateLimited(wait.as_secs().max(1))
            }
            AdmitRefused::Claim(ClaimRefused::Busy(secs)) => ProxyError::Busy(secs),
            AdmitRefused::Entry(Refused::Unavailable)
            | AdmitRefused::Claim(ClaimRefused::Unavailable) => ProxyError::Storage,
        })?;
    // A forget that began on any replica before this claim ends the session here: the
    // forget waits only for claims taken before its fence.
    if let Err(e) = crate::fencing::still_valid(state, who).await {
        svc.ledger.release(p).await;
        return Err(e);
    }
    let events = events.as_ref();
    if let Some(done) = &p.response {
        svc.metrics.ledger_hit();
        replay(events, done);
        return Ok(done.clone());
    }
    if record.ticket.status == TicketStatus::Closed {
        return Err(ProxyError::Conflict("this ticket is closed".into()));
    }
    let mut progress = p.clone();
    let attempt = Attempt {
        state,
        who,
        ticket_id,
        claim: &p,
        record: &record,
        exchanges,
        message_id: &req.id,
        content: &content,
    };
    let result = run(&attempt, &mut progress, events).await;
    // Saved before the answer goes out (and under the claim, so in order): an outcome a
    // client has seen is never re-run by a restarted proxy or another replica. Always,
    // since the row may hold a write-ahead "unknown" that a definite refusal undid. An
    // answer was saved, and the claim released, in its last step's transaction.
    match &result {
        Ok(_) => svc.ledger.released(p),
        Err(_) => svc.ledger.finish(p, progress).await,
    }
    result
}

/// One attempt at a message: everything the steps read besides the progress.
struct Attempt<'a> {
    state: &'a AppState,
    who: &'a SessionCustomer,
    ticket_id: &'a str,
    /// The claimed ledger entry `p` is the progress of (for write-ahead saving).
    claim: &'a Claim,
    /// The ticket, without its exchanges.
    record: &'a TicketRecord,
    /// How many exchanges the ticket held when the message came.
    exchanges: usize,
    message_id: &'a str,
    /// The trimmed content.
    content: &'a str,
}

/// Runs the steps of `a` not yet done, recording each in `p`.
async fn run(
    a: &Attempt<'_>,
    p: &mut Progress,
    events: Option<&UnboundedSender<Event>>,
) -> Result<SendMessageResponse, ProxyError> {
    let Attempt {
        state,
        who,
        ticket_id,
        record,
        exchanges,
        claim: _,
        message_id,
        content,
    } = *a;
    let svc = &state.svc;
    let session_id = record.ticket.session_id.clone();
    let stored = if state.config.store_redaction {
        redact::for_store(content)
    } else {
        content.to_owned()
    };

    // 1. The customer turn.
    let user_ts = match p.user {
        Step::Done(ts) => ts,
        Step::Unknown(ts)
            if svc
                .everos
                .has_pending_user_message(&who.id, &session_id, &stored, ts)
                .await? =>
        {
            p.user = Step::Done(ts);
            ts
        }
        Step::Unknown(ts) if crate::clock::now_ms() < ts.saturating_add(settle_ms(state)) => {
            return Err(ProxyError::Upstream(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
            ));
        }
        step => {
            let ts = match step {
                Step::Unknown(ts) => ts,
                _ => {
                    let ts = svc.clock.next(&who.id, &session_id);
                    p.user = Step::Unknown(ts);
                    write_ahead(a, p).await;
                    ts
                }
            };
            let msg = WireMessage {
                role: "user",
                timestamp: ts,
                content: &stored,
                sender_name: who.name.as_deref(),
            };
            match svc.everos.add(&who.id, &session_id, &[msg]).await {
                Ok(()) => p.user = Step::Done(ts),
                Err(e) => {
                    p.user = if e.outcome_unknown() {
                        Step::Unknown(ts)
                    } else {
                        Step::Pending
                    };
                    return Err(e.into());
                }
            }
            ts
        }
    };

    let customer_message = Message {
        id: message_id.to_owned(),
        role: Role::User,
        content: stored.clone(),
        created_at: user_ts,
    };

    // A person holds the ticket: the message is theirs to answer, no reply is generated
    // (unless one already was, before the claim: a retry then finishes that answer).
    if p.reply.is_none() {
        if let Some(agent) = super::agent::holder(state, &session_id).await? {
            let response = SendMessageResponse {
                message: customer_message,
                reply: None,
                context: Context::default(),
                handled_by: Some(agent),
            };
            let exchange = TicketStore::exchange_statements(&who.id, ticket_id, &stored, "");
            return finish(a, p, exchange, response).await;
        }
    }

    // 2. Context and reply (generated once, reused by retries).
    let (reply_text, context) = match &p.reply {
        Some((text, ctx)) => {
            emit(events, Event::Context(ctx.clone()));
            emit(events, Event::Delta(text.clone()));
            (text.clone(), ctx.clone())
        }
        None => {
            let context = super::gather_context(state, who, content, 5).await;
            emit(events, Event::Context(context.clone()));
            let text = generate(
                state,
                who,
                &record.ticket.subject,
                &session_id,
                exchanges + 1,
                content,
                &context,
                events,
            )
            .await?;
            p.reply = Some((text.clone(), context.clone()));
            (text, context)
        }
    };

    // 3. The reply turn.
    let reply_ts = match p.assistant {
        Step::Done(ts) | Step::Unknown(ts) => ts,
        Step::Pending => {
            let ts = svc.clock.next(&who.id, &session_id);
            p.assistant = Step::Unknown(ts);
            write_ahead(a, p).await;
            let stored_reply = if state.config.store_redaction {
                redact::for_store(&reply_text)
            } else {
                reply_text.clone()
            };
            let msg = WireMessage {
                role: "assistant",
                timestamp: ts,
                content: &stored_reply,
                sender_name: None,
            };
            match svc.everos.add(&who.id, &session_id, &[msg]).await {
                Ok(()) => p.assistant = Step::Done(ts),
                Err(e) => {
                    if !e.outcome_unknown() {
                        p.assistant = Step::Pending;
                    }
                    return Err(e.into());
                }
            }
            ts
        }
    };

    // 4. Remember the outcome.
    let exchange = TicketStore::exchange_statements(&who.id, ticket_id, &stored, &reply_text);
    let reply = Message {
        id: format!("re_{message_id}"),
        role: Role::Assistant,
        content: reply_text,
        created_at: reply_ts,
    };
    let response = SendMessageResponse {
        message: customer_message,
        reply: Some(reply),
        context,
        handled_by: None,
    };
    finish(a, p, exchange, response).await
}

/// The last step of an attempt: the ticket's exchange, the transcript messages and their
/// live events, and the finished progress with the claim's release, all in one
/// transaction. If it fails nothing of it is kept: the progress still ends before this
/// step (every add done), so the retry does it again.
async fn finish(
    a: &Attempt<'_>,
    p: &mut Progress,
    mut statements: Vec<crate::store::Statement>,
    response: SendMessageResponse,
) -> Result<SendMessageResponse, ProxyError> {
    let messages: Vec<Message> = std::iter::once(response.message.clone())
        .chain(response.reply.clone())
        .collect();
    p.response = Some(response.clone());
    statements.push(a.state.svc.ledger.finish_statement(a.claim, p));
    let recorded = super::conversation::record_exchange(
        a.state,
        a.who,
        &a.record.ticket,
        &messages,
        statements,
    )
    .await;
    if let Err(e) = recorded {
        p.response = None;
        return Err(e.into());
    }
    Ok(response)
}

/// The settle window of an add of unknown outcome, as configured.
fn settle_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.everos_settle_ms).unwrap_or(i64::MAX)
}

/// Saves `p`, whose next add is marked "outcome unknown", before that add is sent: a
/// proxy killed while the add is on the wire leaves the check-before-re-adding rules
/// above to the retry (after a restart, or on another replica) instead of a belief that
/// nothing was sent.
async fn write_ahead(a: &Attempt<'_>, p: &Progress) {
    a.state.svc.ledger.save(a.claim, p).await;
}

/// The reply: the LLM when configured (streamed as deltas), else the built-in responder.
#[allow(clippy::too_many_arguments)]
async fn generate(
    state: &AppState,
    who: &SessionCustomer,
    subject: &str,
    session_id: &str,
    message_number: usize,
    content: &str,
    context: &Context,
    events: Option<&UnboundedSender<Event>>,
) -> Result<String, ProxyError> {
    let name = responder::customer_name(who.name.as_deref(), &context.profile);
    if let Some(llm) = &state.svc.llm {
        let messages = prompt::reply_messages(
            name.as_deref(),
            &context.profile,
            &context.history,
            subject,
            content,
        );
        return llm
            .complete(&messages, |piece| {
                emit(events, Event::Delta(piece.to_owned()))
            })
            .await
            .map_err(|_| ProxyError::Upstream(axum::http::StatusCode::BAD_GATEWAY));
    }
    let text = responder::reply(&ResponderInput {
        session_name: name.as_deref(),
        profile: &context.profile,
        history: &context.history,
        session_id,
        subject,
        message_number,
        offer_human_after: state.config.offer_human_after,
    });
    for (i, word) in text.split(' ').enumerate() {
        let piece = if i == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        };
        emit(events, Event::Delta(piece));
    }
    Ok(text)
}
