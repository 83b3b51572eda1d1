//! What the host page tells the frame (init, identify, open/close, shutdown,
//! locale) and what other tabs tell this one.

use everdesk_api::SessionRequest;
use leptos::prelude::*;

use super::{Chat, Owner, Prefs, Remote, View};
use crate::{
    bridge::HostToFrame,
    config::WidgetConfig,
    storage::Key,
    sync::{SyncEvent, TabSync},
};

/// The owner of an anonymous visitor's data.
pub(super) const VISITOR: &str = "visitor";

/// Fingerprint of an identity, so data stored for one customer is never shown to
/// another on the same browser: `user:<id>`, `jwt:<token>` or `visitor`.
pub fn identity_owner(identity: Option<&SessionRequest>) -> String {
    match identity {
        Some(SessionRequest::Hmac { user_id, .. }) => format!("user:{user_id}"),
        Some(SessionRequest::Jwt { jwt }) => {
            format!("jwt:{}", jwt_subject(jwt).unwrap_or_default())
        }
        Some(SessionRequest::Visitor { .. }) | None => VISITOR.to_owned(),
    }
}

/// The `sub` claim of a JWT, read without verifying (the proxy verifies); used
/// only to tell customers apart locally.
fn jwt_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64url_decode(payload)?;
    let claims = everdesk_api::json::parse(std::str::from_utf8(&bytes).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.trim_end_matches('=').as_bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Moves focus into the panel when it opens or changes screen: the composer, the
/// subject field, or the screen's main action.
pub fn focus_first_control() {
    focus("#ed-message, #ed-subject, [data-autofocus]");
}

/// Moves focus to the first element matching `selector` once the view has caught up
/// with the state change just made: for a control that replaces the focused one
/// (a form opening in place of its button, a card in place of an action), so
/// keyboard and screen-reader users keep their place instead of landing on `<body>`.
pub fn focus_later(selector: &'static str) {
    let later = wasm_bindgen::closure::Closure::once_into_js(move || focus(selector));
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            wasm_bindgen::JsCast::unchecked_ref(&later),
            0,
        );
    }
}

fn focus(selector: &str) {
    let el = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten());
    if let Some(el) =
        el.and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
    {
        let _ = el.focus();
    }
}

impl Chat {
    /// Applies a message from the host page.
    pub fn handle_host(self, msg: HostToFrame) {
        match msg {
            HostToFrame::Init {
                config,
                identity,
                store,
            } => {
                self.adopt_host_storage(store);
                let (config, errors) = WidgetConfig::from_host(&config);
                for error in errors {
                    web_sys::console::warn_1(&format!("EverDesk: {error}").into());
                }
                self.config.set(config);
                self.set_identity(identity);
                self.send_labels();
                self.report_unread();
                self.flush();
                self.start_live();
            }
            HostToFrame::Identify { identity } => {
                self.set_identity(identity);
                // A new customer's scope: messages still waiting (kept data) go out in it.
                self.flush();
                self.start_live();
            }
            HostToFrame::Stored { key, value } => {
                let changed = value.is_some();
                self.store().apply_host_change(&key, value);
                if let Some(event) = crate::sync::event_for_key(Some(&key), changed) {
                    self.handle_sync(event);
                }
            }
            // The host's logout: forget this customer entirely, locally, so the next
            // person on this browser starts as a new visitor (nothing shown, no proof
            // of the previous identity reused).
            HostToFrame::Shutdown => {
                self.identity.set(None);
                self.wipe_local();
            }
            HostToFrame::SetLocale { locale } => {
                let raw = crate::config::HostConfig {
                    locale: Some(locale),
                    ..Default::default()
                };
                let (WidgetConfig { locale, .. }, errors) = WidgetConfig::from_host(&raw);
                if errors.is_empty() {
                    self.config.update(|c| c.locale = locale);
                    self.send_labels();
                }
            }
            HostToFrame::Opened => {
                self.panel_open.set(true);
                focus_first_control();
                match self.view.get_untracked() {
                    View::Ticket(id) => {
                        self.update_record(&id, |_| {});
                    }
                    View::List => self.load_history(),
                    _ => {}
                }
            }
            HostToFrame::Closed => self.panel_open.set(false),
        }
    }

    /// When our own storage is blocked, keep state in the host page's first-party
    /// storage through the loader, and reload what the host kept from last time.
    fn adopt_host_storage(self, snapshot: crate::storage::StrMap) {
        let store = self.store();
        let mirrored = store.mirror_to_host(snapshot.into_entries(), move |key, value| {
            self.tell_host(crate::bridge::FrameToHost::Store {
                key: key.to_owned(),
                value: value.map(str::to_owned),
            })
        });
        if mirrored {
            self.recheck_owner();
            self.storage_degraded.set(false);
            self.handle_sync(SyncEvent::TicketsChanged);
            self.handle_sync(SyncEvent::OutboxChanged);
        }
    }

    /// The customer closes the panel from inside: the host hides the frame.
    pub fn request_close(self) {
        self.panel_open.set(false);
        self.tell_host(crate::bridge::FrameToHost::Close);
    }

    /// A new identity. Data stored for a different customer is wiped first, except
    /// a signed-in customer's data on a page without identity (a page of the site
    /// that does not identify): that is hidden, and wiped only if this visitor
    /// writes something, so the customer's tickets and unsent messages are still
    /// there on the next signed-in page.
    fn set_identity(&self, identity: Option<SessionRequest>) {
        let owner = identity_owner(identity.as_ref());
        let stored = self.store().get::<Prefs>(&Key::Prefs).map(|p| p.owner);
        let was_hidden = self.owner.get_value() == Owner::Hidden;
        if identity_owner(self.identity.get_untracked().as_ref()) != owner {
            // Another customer: the previous one's live work ends here.
            self.close_scope();
        }
        self.identity.set(identity);
        match stored {
            Some(theirs) if theirs != owner && owner == VISITOR => {
                self.forget_in_memory();
                self.owner.set_value(Owner::Hidden);
            }
            Some(theirs) if theirs != owner => self.wipe_local(),
            _ if was_hidden => {
                // Their owner is back on this page: show their data again.
                self.recheck_owner();
                self.handle_sync(SyncEvent::TicketsChanged);
                self.handle_sync(SyncEvent::OutboxChanged);
                self.flush();
            }
            _ => {}
        }
    }

    /// Forgets everything local: storage, tickets, outbox, session; tells other tabs.
    /// Without storage of our own the visitor lives in the proxy's cookie: that is
    /// forgotten too, so the next person on this browser is a new visitor.
    pub fn wipe_local(&self) {
        let store = self.store();
        if !store.has_own_storage() {
            self.fresh_visitor.set_value(true);
            if let Ok(api) = self.api() {
                // Not on the customer's scope, which the wipe drops: it writes nothing.
                leptos::task::spawn_local(async move {
                    let _ = api.call(None, &crate::api::Endpoint::forget_cookie()).await;
                });
            }
        }
        if store.wipe().is_err() {
            self.storage_degraded.set(true);
        }
        self.forget_in_memory();
        self.publish(SyncEvent::Wiped);
        self.report_unread();
    }

    /// The in-memory half of a wipe (this tab's, or another tab's we heard of).
    pub(super) fn forget_in_memory(&self) {
        self.close_scope();
        let store = self.store();
        if !store.has_own_storage() {
            // Tokens in memory only: no other tab's wipe removes them for us.
            store.remove(&Key::Session);
            store.remove(&Key::Visitor);
        }
        self.recheck_owner();
        self.tickets.set(Vec::new());
        self.current.set(None);
        self.outbox.set(Default::default());
        self.history.set(Remote::Idle);
        self.profile.set(Remote::Idle);
        self.view.set(View::List);
    }

    /// Applies a change made by another tab, and shows its unread count on this
    /// tab's launcher too.
    pub fn handle_sync(self, event: SyncEvent) {
        // Another tab may have handed the storage to another customer since.
        if self.owner.get_value() != Owner::Hidden {
            self.recheck_owner();
            if self.owner.get_value() == Owner::Hidden {
                self.forget_in_memory();
            }
        }
        if self.owner.get_value() == Owner::Hidden && event != SyncEvent::Wiped {
            return; // another tab's customer's data: not for this page
        }
        let store = self.store();
        match event {
            SyncEvent::TicketsChanged | SyncEvent::TicketChanged { .. } => {
                self.tickets.set(super::load_tickets(&store));
                if let SyncEvent::TicketChanged { ticket_id } = event {
                    let open = self
                        .current
                        .with_untracked(|c| c.as_ref().is_some_and(|r| r.id == ticket_id));
                    if open {
                        self.current.set(store.get(&Key::Ticket(ticket_id)));
                    }
                }
            }
            SyncEvent::OutboxChanged => {
                self.outbox.set(store.get(&Key::Outbox).unwrap_or_default())
            }
            SyncEvent::Wiped => self.forget_in_memory(),
            SyncEvent::Reply {
                ticket_id,
                id,
                text,
            } => {
                let announcer = self
                    .sync
                    .with_value(|sync| sync.as_ref().is_some_and(TabSync::is_announcer));
                if announcer {
                    self.announce_here(ticket_id, &id, &text);
                }
            }
        }
        self.report_unread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_tell_customers_apart() {
        let hmac = SessionRequest::Hmac {
            user_id: "u1".into(),
            user_hash: "h".into(),
            name: None,
            email: None,
        };
        assert_eq!(identity_owner(Some(&hmac)), "user:u1");
        assert_eq!(identity_owner(None), "visitor");
        // {"sub":"cust-9"} base64url-encoded, unsigned.
        let jwt = SessionRequest::Jwt {
            jwt: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjdXN0LTkifQ.sig".into(),
        };
        assert_eq!(identity_owner(Some(&jwt)), "jwt:cust-9");
    }

    #[test]
    fn base64url_decodes_without_padding() {
        assert_eq!(base64url_decode("aGk").unwrap(), b"hi");
        assert_eq!(base64url_decode("aGk=").unwrap(), b"hi");
        assert!(base64url_decode("a*b").is_none());
    }
}
