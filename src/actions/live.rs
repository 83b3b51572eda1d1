//! The customer's live work, bound to the customer scope (see `live::scope`): the
//! event stream (`GET /v1/events`, resumed with `Last-Event-ID`, reconnected with
//! backoff), the server's ticket list merged for verified customers, transcripts
//! loaded on demand — and what each live event changes.

use std::{cell::Cell, future::Future, pin::Pin, rc::Rc};

use everdesk_api::{
    routes, Author, LiveEvent, LiveEventKind, TicketListResponse, TicketStatus, TranscriptPage,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::{host::identity_owner, Chat, Owner, Remote};
use crate::{
    api::{decode, open_stream, ApiError, Endpoint},
    live::{self, spawn_scoped, Scope, SseParser},
    state::{ChatMessage, TicketRecord},
    storage::Key,
};

/// A type-erased future: each async body below exists once in the wasm instead of
/// being inlined into every caller's state machine.
type Task<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Most transcript pages loaded when a ticket from another device is opened.
const MAX_TRANSCRIPT_PAGES: usize = 10;

/// How long "… is typing" stays without a new typing event, ms.
const TYPING_SHOWN_MS: i32 = 6_000;

/// Waits `ms` on the browser's timer.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

impl Chat {
    /// Runs `f` on the current customer's scope, opening one if there is none.
    /// `None` once the widget is disposed.
    pub(super) fn with_scope<R>(&self, f: impl FnOnce(&Scope) -> R) -> Option<R> {
        self.scope
            .try_update_value(|s| f(s.get_or_insert_with(Scope::new)))
    }

    /// Runs `task` bound to the current customer's scope (see `live::scope`).
    pub(super) fn spawn_for_customer(&self, task: Task<'static, ()>) {
        if let Some(handle) = self.with_scope(Scope::handle) {
            spawn_scoped(handle, task);
        }
    }

    /// Drops the current customer's scope: every task bound to it stops where it is
    /// (never resumed), its event stream is aborted, and what those tasks showed while
    /// in flight (typing, busy, loading) goes with them.
    pub(super) fn close_scope(&self) {
        self.scope.set_value(None);
        self.agent_typing.set(None);
        self.typing.set(false);
        self.busy.set(false);
        if self.history.with_untracked(|h| *h == Remote::Loading) {
            self.history.set(Remote::Idle);
        }
        if self.profile.with_untracked(|p| *p == Remote::Loading) {
            self.profile.set(Remote::Idle);
        }
    }

    /// Whether this tab's customer is verified (their tickets live on the server).
    fn verified(&self) -> bool {
        identity_owner(self.identity.get_untracked().as_ref()) != super::host::VISITOR
    }

    /// Starts the customer's live work once per scope: the event stream (and, for a
    /// verified customer, the server's tickets) — for a visitor only once they have a
    /// ticket (no session is opened for someone who never wrote).
    pub fn start_live(self) {
        if self.api().is_err() || self.owner.get_value() == Owner::Hidden {
            return;
        }
        let verified = self.verified();
        if !verified && self.tickets.with_untracked(Vec::is_empty) {
            return;
        }
        let Some((handle, start, signal, last)) = self.with_scope(|s| {
            (
                s.handle(),
                !s.live_started.replace(true),
                s.signal(),
                s.last_seq.clone(),
            )
        }) else {
            return;
        };
        if let (true, Some(signal)) = (start, signal) {
            spawn_scoped(handle, Box::pin(self.run_live(verified, signal, last)));
        }
    }

    /// The stream, reconnected with backoff until the scope is dropped. Before each
    /// connection a verified customer's tickets are merged from the server (what
    /// happened on other devices while this one was away).
    async fn run_live(
        self,
        verified: bool,
        signal: web_sys::AbortSignal,
        last: Rc<Cell<Option<i64>>>,
    ) {
        let mut backoff = live::BACKOFF_START_MS;
        let connected = Cell::new(false);
        loop {
            if verified {
                self.sync_server().await;
            }
            let read: Task<'_, Result<(), ApiError>> =
                Box::pin(self.read_live(&signal, &last, &connected));
            if let Err(e) = read.await {
                if e.is_unauthorized() {
                    self.store().remove(&Key::Session);
                }
            }
            // A stream that was up starts the backoff again; failed tries double it.
            if connected.replace(false) {
                backoff = live::BACKOFF_START_MS;
            }
            sleep(backoff).await;
            backoff = live::next_backoff(backoff);
        }
    }

    /// One connection of the stream, read to its end; `connected` is set once the
    /// proxy answered.
    async fn read_live(
        self,
        signal: &web_sys::AbortSignal,
        last: &Cell<Option<i64>>,
        connected: &Cell<bool>,
    ) -> Result<(), ApiError> {
        let url = self.api()?.url(routes::EVENTS);
        let token: Task<'_, Result<String, ApiError>> = Box::pin(self.token());
        let token = token.await?;
        let open: Task<'_, _> = Box::pin(open_stream(&url, &token, last.get(), signal));
        let stream = open.await?;
        connected.set(true);
        let mut parser = SseParser::default();
        while let Some(chunk) = stream.next().await? {
            for frame in parser.push(&chunk) {
                let Some(event) = live::decode(&frame) else {
                    continue;
                };
                let mut seen = last.get();
                if live::is_new(&event, &mut seen) {
                    last.set(seen);
                    self.apply_live(event);
                }
            }
        }
        Ok(())
    }

    /// Merges the server's ticket list into the local one: tickets opened on another
    /// device appear (their messages load when opened); closed and joined states follow.
    fn sync_server(self) -> Task<'static, ()> {
        Box::pin(async move {
            if let Ok(text) = self.authed(Endpoint::tickets()).await {
                if let Ok(list) = decode::<TicketListResponse>(&text) {
                    self.merge_server_tickets(list);
                }
            }
        })
    }

    /// [`Chat::sync_server`]'s answer, merged.
    fn merge_server_tickets(self, list: TicketListResponse) {
        for summary in list.tickets {
            let id = summary.ticket.id.clone();
            if self.record(&id).is_none() {
                self.save(
                    &Key::Ticket(id.clone()),
                    &TicketRecord::from_server(&summary),
                );
            }
            self.update_record(&id, |r| r.merge_server(&summary));
        }
    }

    /// Loads the ticket's transcript from the server, newest page first, back to its
    /// start (at most [`MAX_TRANSCRIPT_PAGES`] pages), merging each page as it comes.
    pub fn load_transcript(self, id: String) {
        self.spawn_for_customer(Box::pin(async move {
            let mut before = None;
            for _ in 0..MAX_TRANSCRIPT_PAGES {
                let Ok(text) = self.authed(Endpoint::transcript(&id, before)).await else {
                    return;
                };
                let Ok(page) = decode::<TranscriptPage>(&text) else {
                    return;
                };
                before = page.before;
                self.update_record(&id, |r| {
                    for m in page.messages {
                        r.add_from_server(ChatMessage::from_transcript(m));
                    }
                });
                if before.is_none() {
                    return;
                }
            }
        }));
    }

    /// Applies one live event to the ticket it names.
    #[inline(never)]
    pub fn apply_live(self, event: LiveEvent) {
        let id = event.ticket_id;
        if self.record(&id).is_none() {
            // A ticket this device has not seen yet: the server's list brings it.
            if self.verified() {
                self.spawn_for_customer(self.sync_server());
            }
            return;
        }
        match event.kind {
            LiveEventKind::Message { message } => {
                // Another tab of this browser may have stored it already: then that
                // tab announced it, and this one does not again.
                let stored = self
                    .store()
                    .get::<TicketRecord>(&Key::Ticket(id.clone()))
                    .is_some_and(|r| r.has_message(&message.id));
                let agent = message.author == Author::Agent;
                let name = message.name.clone();
                let text = message.content.clone();
                let message_id = message.id.clone();
                let mut added = false;
                self.update_record(&id, |r| {
                    added = r.add_from_server(ChatMessage::from_transcript(message));
                    if agent && name.is_some() {
                        r.agent = name;
                    }
                });
                if agent {
                    self.agent_typing.set(None);
                    if added && !stored {
                        self.announce_reply(id, message_id, text);
                    }
                }
            }
            LiveEventKind::Claimed { agent } => {
                self.update_record(&id, |r| r.agent = Some(agent.name));
            }
            LiveEventKind::Closed => {
                self.update_record(&id, |r| r.status = TicketStatus::Closed);
                self.agent_typing.set(None);
            }
            LiveEventKind::Typing {
                author: Author::Agent,
            } => self.show_typing(id),
            // Escalated on another device: the server's list brings the hand-off card.
            LiveEventKind::Escalated => {
                if self.verified() && self.record(&id).is_some_and(|r| r.handoff.is_none()) {
                    self.spawn_for_customer(self.sync_server());
                }
            }
            LiveEventKind::Typing { .. } => {}
        }
    }

    /// Shows "<agent> is typing…" for the ticket, hidden again after a while without
    /// another typing event. The same line is not set again while it shows (the live
    /// region announces it once).
    fn show_typing(self, id: String) {
        let name = self
            .record(&id)
            .and_then(|r| r.agent)
            .unwrap_or_else(|| self.strings().support.to_owned());
        let shown = Some((id, name));
        if self.agent_typing.with_untracked(|t| *t != shown) {
            self.agent_typing.set(shown);
        }
        let mut n = 0;
        self.typing_gen.update_value(|g| {
            *g = g.wrapping_add(1);
            n = *g;
        });
        let hide = wasm_bindgen::closure::Closure::once_into_js(move || {
            if self.typing_gen.try_get_value() == Some(n) {
                self.agent_typing.set(None);
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                hide.unchecked_ref(),
                TYPING_SHOWN_MS,
            );
        }
    }
}
