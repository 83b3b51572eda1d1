//! The inbox's one state struct (signals, provided as context) and its actions: sign
//! in and out, the queue, the open ticket, claim, reply, close, typing, and what each
//! live event changes. Ties [`crate::api`], [`crate::auth`], [`crate::live`] and the
//! pure rules of [`crate::state`] together; components only call these methods.

use everdesk_api::{
    AgentReplyRequest, AgentSessionResponse, AgentTicketResponse, Author, LiveEvent, LiveEventKind,
    QueueItem, TranscriptMessage,
};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    api::{self, ApiError},
    auth, ids,
    live::{self, LiveStatus},
    state::{self, Follow, Throttle},
};

/// "typing" goes to the customer at most this often, ms.
const TYPING_INTERVAL_MS: f64 = 3_000.0;
/// How long "the customer is typing" shows after their last typing event, ms.
const CUSTOMER_TYPING_MS: i32 = 5_000;

/// Everything the inbox shows.
#[derive(Clone, Copy)]
pub struct Inbox {
    /// The signed-in agent's session.
    pub session: RwSignal<Option<AgentSessionResponse>>,
    /// A sign-in is in flight.
    pub signing_in: RwSignal<bool>,
    /// Why the last sign-in failed (or why the agent was signed out).
    pub sign_in_error: RwSignal<Option<String>>,
    /// The queue, in the proxy's order.
    pub queue: RwSignal<Vec<QueueItem>>,
    /// The queue has been loaded at least once since sign-in.
    pub queue_loaded: RwSignal<bool>,
    /// Why the queue could not be loaded.
    pub queue_error: RwSignal<Option<String>>,
    /// The open ticket's session id.
    pub selected: RwSignal<Option<String>>,
    /// The open ticket's queue entry (claim, state).
    pub item: RwSignal<Option<QueueItem>>,
    /// The open ticket's hand-off, memory, history and feedback (its transcript and
    /// item are kept apart, so live messages do not redraw the rest).
    pub detail: RwSignal<Option<AgentTicketResponse>>,
    /// The open ticket's transcript, oldest first.
    pub transcript: RwSignal<Vec<TranscriptMessage>>,
    /// Why an action on the open ticket failed.
    pub ticket_error: RwSignal<Option<String>>,
    /// A claim or close is in flight.
    pub busy: RwSignal<bool>,
    /// The open ticket's customer is typing.
    pub customer_typing: RwSignal<bool>,
    /// The latest announcement for screen readers (the polite live region).
    pub announcement: RwSignal<String>,
    /// The live stream's state.
    pub live: RwSignal<LiveStatus>,
    typing: StoredValue<Throttle>,
    typing_timer: StoredValue<Option<i32>>,
    /// Bumped whenever the open ticket's item changes here (claim, live events), so a
    /// ticket fetch that started before cannot overwrite it with an older copy.
    item_rev: StoredValue<u64>,
}

impl Default for Inbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Inbox {
    /// An inbox with nobody signed in.
    pub fn new() -> Self {
        Self {
            session: RwSignal::new(None),
            signing_in: RwSignal::new(false),
            sign_in_error: RwSignal::new(None),
            queue: RwSignal::new(Vec::new()),
            queue_loaded: RwSignal::new(false),
            queue_error: RwSignal::new(None),
            selected: RwSignal::new(None),
            item: RwSignal::new(None),
            detail: RwSignal::new(None),
            transcript: RwSignal::new(Vec::new()),
            ticket_error: RwSignal::new(None),
            busy: RwSignal::new(false),
            customer_typing: RwSignal::new(false),
            announcement: RwSignal::new(String::new()),
            live: RwSignal::new(LiveStatus::Off),
            typing: StoredValue::new(Throttle::new(TYPING_INTERVAL_MS)),
            typing_timer: StoredValue::new(None),
            item_rev: StoredValue::new(0),
        }
    }

    /// Boot: this tab's stored session, else a JWT a same-origin page left, and from
    /// now on a JWT the opener posts.
    pub fn start(self) {
        if let Some(session) = auth::load(ids::now_ms() as f64) {
            self.signed_in(session);
        } else if let Some(jwt) = auth::take_handoff() {
            self.sign_in(jwt);
        }
        auth::listen_to_opener(move |jwt| self.sign_in(jwt));
    }

    /// The bearer token, when signed in.
    pub fn token(self) -> Option<String> {
        self.session
            .with_untracked(|s| s.as_ref().map(|s| s.token.clone()))
    }

    /// Exchanges an agent JWT for a session.
    pub fn sign_in(self, jwt: String) {
        self.signing_in.set(true);
        self.sign_in_error.set(None);
        spawn_local(async move {
            let result = api::sign_in(&jwt).await;
            self.signing_in.set(false);
            match result {
                Ok(session) => self.signed_in(session),
                Err(e) => self.sign_in_error.set(Some(e.user_message())),
            }
        });
    }

    fn signed_in(self, session: AgentSessionResponse) {
        live::stop();
        auth::save(&session);
        let token = session.token.clone();
        self.reset_views();
        self.session.set(Some(session));
        self.announcement
            .set("Signed in. The queue is loading.".to_owned());
        self.refresh_queue();
        let hooks = live::Hooks {
            current: Box::new({
                let token = token.clone();
                move || self.token().as_deref() == Some(token.as_str())
            }),
            opened: Box::new(move || {
                self.refresh_queue();
                if let Some(sid) = self.selected.get_untracked() {
                    self.load_ticket(sid);
                }
            }),
            event: Box::new(move |e| self.handle_event(e)),
            status: Box::new(move |s| self.live.set(s)),
        };
        spawn_local(async move {
            if let Err(e) = live::run(token, hooks).await {
                self.fail(e, self.queue_error);
            }
        });
    }

    fn reset_views(self) {
        self.queue.set(Vec::new());
        self.queue_loaded.set(false);
        self.queue_error.set(None);
        self.selected.set(None);
        self.item.set(None);
        self.detail.set(None);
        self.transcript.set(Vec::new());
        self.ticket_error.set(None);
        self.customer_typing.set(false);
    }

    /// Signs out (the agent's choice, or `reason` when the proxy refused the token).
    pub fn sign_out(self, reason: Option<String>) {
        live::stop();
        auth::clear();
        self.session.set(None);
        self.live.set(LiveStatus::Off);
        self.reset_views();
        self.sign_in_error.set(reason);
    }

    /// Shows an error where it belongs, or signs out when the token was refused.
    fn fail(self, e: ApiError, into: RwSignal<Option<String>>) {
        if e.is_unauthorized() {
            self.sign_out(Some(e.user_message()));
        } else {
            into.set(Some(e.user_message()));
        }
    }

    /// Loads the queue again.
    pub fn refresh_queue(self) {
        let Some(token) = self.token() else {
            return;
        };
        spawn_local(async move {
            let result = api::queue(&token).await;
            if self.token().as_deref() != Some(token.as_str()) {
                return;
            }
            match result {
                Ok(q) => {
                    self.queue.set(q.tickets);
                    self.queue_loaded.set(true);
                    self.queue_error.set(None);
                }
                Err(e) => self.fail(e, self.queue_error),
            }
        });
    }

    /// Opens a ticket.
    pub fn open(self, session_id: String) {
        if self.selected.get_untracked().as_deref() == Some(session_id.as_str()) {
            return;
        }
        self.selected.set(Some(session_id.clone()));
        self.item.set(self.queue.with_untracked(|q| {
            q.iter()
                .find(|i| i.ticket.session_id == session_id)
                .cloned()
        }));
        self.detail.set(None);
        self.transcript.set(Vec::new());
        self.ticket_error.set(None);
        self.customer_typing.set(false);
        self.typing.update_value(Throttle::reset);
        self.load_ticket(session_id);
    }

    /// Closes the ticket view (back to the queue).
    pub fn deselect(self) {
        self.selected.set(None);
        self.item.set(None);
        self.detail.set(None);
        self.transcript.set(Vec::new());
    }

    fn is_open(self, session_id: &str) -> bool {
        self.selected
            .with_untracked(|s| s.as_deref() == Some(session_id))
    }

    fn load_ticket(self, session_id: String) {
        let Some(token) = self.token() else {
            return;
        };
        let rev = self.item_rev.get_value();
        spawn_local(async move {
            let result = api::ticket(&token, &session_id).await;
            if !self.is_open(&session_id) {
                return;
            }
            match result {
                Ok(ticket) => {
                    if self.item_rev.get_value() == rev {
                        self.item.set(Some(ticket.item.clone()));
                    }
                    // Messages the stream delivered meanwhile are kept.
                    self.transcript.update(|t| {
                        for m in ticket.transcript.iter().cloned() {
                            state::add_message(t, m);
                        }
                    });
                    self.detail.set(Some(ticket));
                }
                Err(e) => self.fail(e, self.ticket_error),
            }
        });
    }

    /// Claims the open ticket.
    pub fn claim(self) {
        let (Some(token), Some(sid)) = (self.token(), self.selected.get_untracked()) else {
            return;
        };
        self.busy.set(true);
        self.ticket_error.set(None);
        spawn_local(async move {
            let result = api::claim(&token, &sid).await;
            self.busy.set(false);
            if !self.is_open(&sid) {
                return;
            }
            match result {
                Ok(item) => {
                    self.announcement
                        .set(format!("You claimed “{}”.", item.ticket.subject));
                    self.queue.update(|q| {
                        if let Some(i) = q.iter_mut().find(|i| i.ticket.session_id == sid) {
                            i.claimed_by = item.claimed_by.clone();
                        }
                    });
                    self.item.set(Some(item));
                    self.item_rev.update_value(|r| *r += 1);
                }
                Err(e) => {
                    if e.is_conflict() {
                        self.load_ticket(sid);
                    }
                    self.fail(e, self.ticket_error);
                }
            }
        });
    }

    /// Closes the open ticket.
    pub fn close(self) {
        let (Some(token), Some(sid)) = (self.token(), self.selected.get_untracked()) else {
            return;
        };
        self.busy.set(true);
        self.ticket_error.set(None);
        spawn_local(async move {
            let result = api::close(&token, &sid).await;
            self.busy.set(false);
            match result {
                Ok(_) => {
                    self.queue
                        .update(|q| q.retain(|i| i.ticket.session_id != sid));
                    if self.is_open(&sid) {
                        self.item_rev.update_value(|r| *r += 1);
                        self.item.update(|i| {
                            if let Some(i) = i {
                                i.state = everdesk_api::QueueState::Closed;
                                i.ticket.status = everdesk_api::TicketStatus::Closed;
                            }
                        });
                    }
                    self.announcement.set("Ticket closed.".to_owned());
                }
                Err(e) => self.fail(e, self.ticket_error),
            }
        });
    }

    /// Sends a reply to the open ticket; `id` is kept by the caller for a retry.
    pub async fn reply(self, id: String, content: String) -> Result<(), String> {
        let (Some(token), Some(sid)) = (self.token(), self.selected.get_untracked()) else {
            return Err("Not signed in.".to_owned());
        };
        let request = AgentReplyRequest { id, content };
        match api::reply(&token, &sid, &request).await {
            Ok(r) => {
                self.typing.update_value(Throttle::reset);
                if self.is_open(&sid) {
                    self.transcript.update(|t| state::add_message(t, r.message));
                }
                Ok(())
            }
            Err(e) => {
                let message = e.user_message();
                if e.is_unauthorized() {
                    self.sign_out(Some(message.clone()));
                }
                Err(message)
            }
        }
    }

    /// The agent typed in the reply box: tells the customer, throttled.
    pub fn typing(self) {
        let (Some(token), Some(sid)) = (self.token(), self.selected.get_untracked()) else {
            return;
        };
        let mut ready = false;
        self.typing
            .update_value(|t| ready = t.ready(ids::now_ms() as f64));
        if ready {
            spawn_local(async move {
                // Best effort: a lost typing notice is not worth an error.
                let _ = api::typing(&token, &sid).await;
            });
        }
    }

    /// What a live event changes.
    pub fn handle_event(self, event: LiveEvent) {
        let mut follow = Follow::Done;
        self.queue
            .update(|q| follow = state::apply_to_queue(q, &event));
        if follow == Follow::Refetch {
            self.refresh_queue();
        }
        let subject = self.queue.with_untracked(|q| {
            q.iter()
                .find(|i| i.ticket.session_id == event.session_id)
                .map(|i| i.ticket.subject.clone())
        });
        let open = self.is_open(&event.session_id);
        // A message the open ticket already shows (the agent's own reply) is not news.
        let seen = match &event.kind {
            LiveEventKind::Message { message } if open => self
                .transcript
                .with_untracked(|t| t.iter().any(|m| m.id == message.id)),
            _ => false,
        };
        if open {
            let mut follow = Follow::Done;
            let mut transcript = self.transcript.get_untracked();
            self.item.update(|item| {
                if let Some(item) = item {
                    follow = state::apply_to_ticket(item, &mut transcript, &event);
                }
            });
            self.transcript.set(transcript);
            if !matches!(event.kind, LiveEventKind::Typing { .. }) {
                self.item_rev.update_value(|r| *r += 1);
            }
            if follow == Follow::Refetch {
                self.load_ticket(event.session_id.clone());
            }
        }
        match &event.kind {
            LiveEventKind::Message { message } if message.author == Author::Customer && !seen => {
                if open {
                    self.customer_typing.set(false);
                }
                let who = message
                    .name
                    .clone()
                    .unwrap_or_else(|| "the customer".into());
                self.announcement.set(match (open, subject) {
                    (true, _) => format!("New message from {who}: {}", message.content),
                    (false, Some(s)) => format!("New message in “{s}”."),
                    (false, None) => "New message in a ticket.".to_owned(),
                });
            }
            LiveEventKind::Escalated => self.announcement.set(match subject {
                Some(s) => format!("Escalated: “{s}”."),
                None => "A customer asked for a person.".to_owned(),
            }),
            LiveEventKind::Typing {
                author: Author::Customer,
            } if open => self.show_customer_typing(),
            _ => {}
        }
    }

    fn show_customer_typing(self) {
        self.customer_typing.set(true);
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some(old) = self.typing_timer.get_value() {
            window.clear_timeout_with_handle(old);
        }
        let hide = wasm_bindgen::closure::Closure::once_into_js(move || {
            self.customer_typing.set(false);
        });
        let handle = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                wasm_bindgen::JsCast::unchecked_ref(&hide),
                CUSTOMER_TYPING_MS,
            )
            .ok();
        self.typing_timer.set_value(handle);
    }
}
