//! Ticket-level actions: start, open, sync with the proxy, close (with rating),
//! escalate to a person, and navigation between screens.

use everdesk_api::{
    CloseRequest, CreateTicketRequest, CreateTicketResponse, EscalateRequest, EscalateResponse,
    TicketStatus,
};
use leptos::prelude::*;

use super::{Chat, View};
use crate::{
    api::{decode, ApiError, Endpoint},
    bridge::FrameToHost,
    ids::new_uuid,
    state::{ChatMessage, TicketRecord},
    storage::Key,
};

/// Longest subject kept, in characters.
pub const MAX_SUBJECT_CHARS: usize = 120;

/// Builds the call of [`Chat::on_open_ticket`] from the open ticket's id.
type OpenEndpoint = dyn FnOnce(&str) -> Endpoint;
/// Applies the response text of [`Chat::on_open_ticket`]'s call to the ticket.
type OpenDone = dyn FnOnce(&str, String) -> Result<(), ApiError>;

impl Chat {
    /// Shows the ticket list.
    pub fn show_list(self) {
        self.current.set(None);
        self.error.set(None);
        self.view.set(View::List);
        self.load_history();
    }

    /// Shows the new-ticket form.
    pub fn show_new_ticket(self) {
        self.error.set(None);
        self.notice.set(None);
        self.view.set(View::NewTicket);
    }

    /// Creates a ticket locally (at once, even offline) and on the proxy.
    pub fn start_ticket(self, subject: &str) -> bool {
        let subject: String = subject.trim().chars().take(MAX_SUBJECT_CHARS).collect();
        if subject.is_empty() {
            return false;
        }
        let id = new_uuid();
        let record = TicketRecord::new(id.clone(), subject, self.next_time());
        self.save(&Key::Ticket(id.clone()), &record);
        self.current.set(Some(record));
        self.update_record(&id, |_| {});
        self.view.set(View::Ticket(id.clone()));
        self.spawn_for_customer(Box::pin(async move {
            // A failure here is not shown: the ticket is created with its first message.
            let _ = self.ensure_ticket(&id).await;
        }));
        true
    }

    /// Opens a ticket's conversation, merging messages still in the outbox (typed
    /// just before a crash or reload) so nothing typed is ever invisible.
    pub fn open_ticket(self, id: &str) {
        let Some(mut record) = self
            .store()
            .get::<TicketRecord>(&Key::Ticket(id.to_owned()))
        else {
            return;
        };
        self.outbox.with_untracked(|o| {
            for e in o.entries().iter().filter(|e| e.ticket_id == id) {
                record.add_pending(ChatMessage::pending(
                    e.id.clone(),
                    e.content.clone(),
                    e.sent_at,
                ));
            }
        });
        // Opened on another device: its messages are on the server.
        let remote = record.synced && record.messages.is_empty();
        self.error.set(None);
        self.current.set(Some(record));
        self.view.set(View::Ticket(id.to_owned()));
        self.update_record(id, |_| {});
        if remote {
            self.load_transcript(id.to_owned());
        }
    }

    /// Makes sure the proxy knows the ticket (idempotent: the id is ours).
    pub(super) async fn ensure_ticket(&self, id: &str) -> Result<(), ApiError> {
        let Some(record) = self.record(id) else {
            // Not in this tab (wiped, or only in another tab's memory): nothing to
            // create here, and nothing is sent to it from here.
            return Err(ApiError::Superseded);
        };
        if record.synced {
            return Ok(());
        }
        let req = CreateTicketRequest {
            ticket_id: record.id.clone(),
            subject: record.subject.clone(),
        };
        let text = self.authed(Endpoint::create_ticket(&req)).await?;
        let resp: CreateTicketResponse = decode(&text)?;
        if !self.storage_still_ours() {
            return Err(ApiError::Superseded); // taken over meanwhile: callers stop too
        }
        self.update_record(id, |r| {
            r.synced = true;
            r.created_at = r.created_at.min(resp.ticket.created_at);
            r.add_confirmed(resp.messages);
        });
        // A visitor's first ticket: their live events start now.
        self.start_live();
        Ok(())
    }

    /// Runs a ticket-level call on the open ticket: busy while in flight, the
    /// ticket created on the proxy first if it is not yet, and a failure shown next
    /// to the ticket actions so the customer can try again.
    fn on_open_ticket(
        self,
        endpoint: impl FnOnce(&str) -> Endpoint + 'static,
        done: impl FnOnce(&str, String) -> Result<(), ApiError> + 'static,
    ) {
        // Boxed so the async body below exists once, not once per caller.
        self.on_open_ticket_dyn(Box::new(endpoint), Box::new(done));
    }

    /// [`Chat::on_open_ticket`] with its callbacks type-erased.
    #[inline(never)]
    fn on_open_ticket_dyn(self, endpoint: Box<OpenEndpoint>, done: Box<OpenDone>) {
        let Some(id) = self
            .current
            .with_untracked(|c| c.as_ref().map(|r| r.id.clone()))
        else {
            return;
        };
        self.busy.set(true);
        self.error.set(None);
        self.spawn_for_customer(Box::pin(async move {
            let result = match self.ensure_ticket(&id).await {
                Ok(()) => self.authed(endpoint(&id)).await,
                Err(e) => Err(e),
            };
            self.busy.set(false);
            if !self.storage_still_ours() {
                return; // taken over meanwhile: nothing to update
            }
            if let Err(e) = result.and_then(|text| done(&id, text)) {
                self.error.set(Some(self.failed(&e)));
            }
        }));
    }

    /// Closes the open ticket with an optional rating and comment. A closed ticket
    /// is read-only; its memory is extracted by the proxy. Refused (with a note, and
    /// another try at sending) while messages of the ticket are still on their way:
    /// closing would strand them. Messages the proxy refused stay in the closed
    /// ticket, marked not sent.
    pub fn close_ticket(self, rating: Option<u8>, comment: String) {
        let unsent = self.current.with_untracked(|c| {
            c.as_ref()
                .is_some_and(|r| self.outbox.with_untracked(|o| o.sending(&r.id)))
        });
        if unsent {
            self.error.set(Some(self.strings().unsent_first));
            self.back_online();
            return;
        }
        let req = CloseRequest {
            rating: rating.filter(|r| (1..=5).contains(r)),
            comment: Some(comment.trim().to_owned()).filter(|c| !c.is_empty()),
        };
        self.on_open_ticket(
            move |id| Endpoint::close(id, &req),
            move |id, _| {
                self.outbox.update(|o| o.drop_ticket(id));
                self.save_outbox();
                self.update_record(id, |r| {
                    r.status = TicketStatus::Closed;
                    r.rating = rating;
                });
                // The closed ticket becomes recalled history.
                self.history.set(super::Remote::Idle);
                super::focus_later(".ed-reopen");
                Ok(())
            },
        );
    }

    /// Hands the open ticket to a person; the summary card is kept in the ticket.
    pub fn escalate(self) {
        self.on_open_ticket(
            |id| Endpoint::escalate(id, &EscalateRequest::default()),
            move |id, text| {
                let resp: EscalateResponse = decode(&text)?;
                self.update_record(id, |r| r.handoff = Some(resp.handoff));
                super::focus_later(".ed-handoff");
                self.tell_host(FrameToHost::Escalated {
                    ticket_id: id.to_owned(),
                });
                Ok(())
            },
        );
    }
}
