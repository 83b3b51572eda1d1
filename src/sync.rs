//! Cross-tab sync: tells the other tabs of this origin that stored tickets, a ticket
//! or the outbox changed, or that everything was wiped. Uses
//! `BroadcastChannel("everdesk:v1")`; without it, falls back to the `storage` event
//! (other tabs' writes to `everdesk:v1:*` keys). Also elects the one tab that
//! announces new messages (sound, title flash), which other tabs hand their replies
//! to: see [`TabSync::is_announcer`] and [`SyncEvent::Reply`].
//! Never panics when `window` or `BroadcastChannel` is missing; it just goes quiet.

use std::{cell::Cell, rc::Rc};

use everdesk_api::json::{self, Fields, FromJson, Json, JsonError, ObjWriter, ToJson};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use crate::storage::Key;

/// The channel name, shared by every tab of the origin.
pub const CHANNEL: &str = "everdesk:v1";

/// Something another tab changed; re-read it from storage.
/// JSON: `{"type":"ticket_changed","ticket_id":"…"}`, `{"type":"wiped"}`, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// The ticket list changed.
    TicketsChanged,
    /// One ticket's messages changed.
    TicketChanged {
        /// The ticket that changed.
        ticket_id: String,
    },
    /// The outbox changed.
    OutboxChanged,
    /// All EverDesk data was wiped (forget-me, shutdown).
    Wiped,
    /// A reply arrived in a tab that is not the announcer: the announcer announces it.
    Reply {
        /// The ticket it belongs to.
        ticket_id: String,
        /// The reply's message id: the announcer announces each id once, whichever
        /// tab's copy reaches it first (empty from older tabs).
        id: String,
        /// The reply's text.
        text: String,
    },
}

impl FromJson for SyncEvent {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let f = Fields::of(value)?;
        match f.req::<String>("type")?.as_str() {
            "tickets_changed" => Ok(Self::TicketsChanged),
            "ticket_changed" => Ok(Self::TicketChanged {
                ticket_id: f.req("ticket_id")?,
            }),
            "outbox_changed" => Ok(Self::OutboxChanged),
            "wiped" => Ok(Self::Wiped),
            "reply" => Ok(Self::Reply {
                ticket_id: f.req("ticket_id")?,
                id: f.opt("id")?.unwrap_or_default(),
                text: f.req("text")?,
            }),
            other => Err(JsonError(format!("unknown sync event `{other}`"))),
        }
    }
}

impl ToJson for SyncEvent {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjWriter::new(out);
        let kind = match self {
            Self::TicketsChanged => "tickets_changed",
            Self::TicketChanged { .. } => "ticket_changed",
            Self::OutboxChanged => "outbox_changed",
            Self::Wiped => "wiped",
            Self::Reply { .. } => "reply",
        };
        w.text("type", kind);
        match self {
            Self::TicketChanged { ticket_id } => {
                w.field("ticket_id", ticket_id);
            }
            Self::Reply {
                ticket_id,
                id,
                text,
            } => {
                w.field("ticket_id", ticket_id)
                    .field("id", id)
                    .field("text", text);
            }
            _ => {}
        }
        w.end();
    }
}

/// What travels on the channel: an event, or a tab claiming to be the announcer.
/// JSON: `{"kind":"event","event":{…}}` or `{"kind":"claim"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wire {
    Event { event: SyncEvent },
    Claim,
}

impl FromJson for Wire {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let f = Fields::of(value)?;
        match f.req::<String>("kind")?.as_str() {
            "event" => Ok(Self::Event {
                event: f.req("event")?,
            }),
            "claim" => Ok(Self::Claim),
            other => Err(JsonError(format!("unknown sync message `{other}`"))),
        }
    }
}

impl ToJson for Wire {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjWriter::new(out);
        match self {
            Self::Event { event } => w.text("kind", "event").field("event", event),
            Self::Claim => w.text("kind", "claim"),
        };
        w.end();
    }
}

/// How this tab hears the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// `BroadcastChannel`: events published with [`TabSync::publish`].
    Channel,
    /// `storage` events: other tabs' writes are the events; `publish` is a no-op.
    StorageEvents,
    /// No window: nothing to sync with.
    Off,
}

/// Maps a `storage` event (key, and whether a new value was set) to a [`SyncEvent`].
/// A `None` key means storage was cleared; removing the session or visitor means a
/// wipe. Foreign keys, the probe and preferences map to `None`. Pure.
pub fn event_for_key(key: Option<&str>, has_new_value: bool) -> Option<SyncEvent> {
    let Some(name) = key else {
        return Some(SyncEvent::Wiped);
    };
    match Key::parse(name)? {
        // The ticket list is only ever removed by a wipe (forget-me, shutdown); a
        // removed session or visitor token is a renewal, not a wipe.
        Key::Tickets if !has_new_value => Some(SyncEvent::Wiped),
        Key::Tickets => Some(SyncEvent::TicketsChanged),
        Key::Ticket(ticket_id) => Some(SyncEvent::TicketChanged { ticket_id }),
        Key::Outbox => Some(SyncEvent::OutboxChanged),
        Key::Session | Key::Visitor | Key::Prefs => None,
    }
}

/// This tab's link to its siblings. Cheap to clone (shared inside); listening stops
/// when the last clone is dropped, so keep one for the page's lifetime (it is `!Send`:
/// share it through `StoredValue::new_local` rather than `provide_context`).
#[derive(Debug, Clone)]
pub struct TabSync {
    link: Rc<Link>,
}

impl TabSync {
    /// Starts listening; `on_event` runs for every change another tab reports.
    pub fn connect(on_event: impl Fn(SyncEvent) + 'static) -> Self {
        Self {
            link: Rc::new(Link::connect(on_event)),
        }
    }

    /// How this tab hears the others.
    pub fn mode(&self) -> SyncMode {
        self.link.mode
    }

    /// Tells the other tabs about a change. With the `storage`-event fallback this is
    /// a no-op: the storage write itself notifies them.
    pub fn publish(&self, event: &SyncEvent) {
        self.link.publish(event);
    }

    /// Makes this tab the announcer and tells the others to stand down. Runs on
    /// connect (if focused) and on every window `focus`; callers may also run it
    /// when the customer interacts.
    pub fn claim(&self) {
        claim(&self.link.leading, self.link.channel.as_ref());
    }

    /// Whether this tab should announce a new message (sound, title flash), so that
    /// only one tab does. The rule, kept simple on purpose:
    ///
    /// - a visible, focused tab always announces (the customer is looking at it);
    /// - otherwise, the tab that most recently claimed (connected while focused, or
    ///   was focused) announces; every claim tells the others to stand down. Without
    ///   `BroadcastChannel` claims cannot be heard, so only the focused tab announces.
    ///
    /// If the leading tab closes, nobody announces until a tab is focused again; the
    /// unread badge still shows everywhere.
    pub fn is_announcer(&self) -> bool {
        focused_and_visible() || (self.link.mode == SyncMode::Channel && self.link.leading.get())
    }
}

/// The listeners and channel behind a [`TabSync`]; unregistered on drop.
struct Link {
    mode: SyncMode,
    channel: Option<web_sys::BroadcastChannel>,
    /// True while this tab is the most recent claimant (see [`TabSync::is_announcer`]).
    leading: Rc<Cell<bool>>,
    /// Kept alive while the channel's `onmessage` points at it.
    _on_message: Option<Closure<dyn Fn(web_sys::MessageEvent)>>,
    on_storage: Option<Closure<dyn Fn(web_sys::StorageEvent)>>,
    on_focus: Option<Closure<dyn Fn(web_sys::Event)>>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("mode", &self.mode)
            .field("leading", &self.leading.get())
            .finish_non_exhaustive()
    }
}

impl Link {
    fn connect(on_event: impl Fn(SyncEvent) + 'static) -> Self {
        let on_event: Rc<dyn Fn(SyncEvent)> = Rc::new(on_event);
        let leading = Rc::new(Cell::new(false));
        let Some(window) = web_sys::window() else {
            return Self::off(leading);
        };
        let mut sync = match web_sys::BroadcastChannel::new(CHANNEL) {
            Ok(channel) => Self::over_channel(channel, on_event, leading),
            Err(_) => Self::over_storage_events(&window, on_event, leading),
        };
        sync.watch_focus(&window);
        if focused_and_visible() {
            claim(&sync.leading, sync.channel.as_ref());
        }
        sync
    }

    fn off(leading: Rc<Cell<bool>>) -> Self {
        Self {
            mode: SyncMode::Off,
            channel: None,
            leading,
            _on_message: None,
            on_storage: None,
            on_focus: None,
        }
    }

    fn over_channel(
        channel: web_sys::BroadcastChannel,
        on_event: Rc<dyn Fn(SyncEvent)>,
        leading: Rc<Cell<bool>>,
    ) -> Self {
        let follower = leading.clone();
        let on_message =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(data) = ev.data().as_string() else {
                    return;
                };
                match json::from_str::<Wire>(&data) {
                    Ok(Wire::Event { event }) => on_event(event),
                    Ok(Wire::Claim) => follower.set(false),
                    Err(_) => {}
                }
            });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Self {
            mode: SyncMode::Channel,
            channel: Some(channel),
            leading,
            _on_message: Some(on_message),
            on_storage: None,
            on_focus: None,
        }
    }

    fn over_storage_events(
        window: &web_sys::Window,
        on_event: Rc<dyn Fn(SyncEvent)>,
        leading: Rc<Cell<bool>>,
    ) -> Self {
        let on_storage =
            Closure::<dyn Fn(web_sys::StorageEvent)>::new(move |ev: web_sys::StorageEvent| {
                let key = ev.key();
                if let Some(event) = event_for_key(key.as_deref(), ev.new_value().is_some()) {
                    on_event(event);
                }
            });
        let _ =
            window.add_event_listener_with_callback("storage", on_storage.as_ref().unchecked_ref());
        Self {
            mode: SyncMode::StorageEvents,
            channel: None,
            leading,
            _on_message: None,
            on_storage: Some(on_storage),
            on_focus: None,
        }
    }

    /// Claims the announcer role whenever the customer focuses this tab.
    fn watch_focus(&mut self, window: &web_sys::Window) {
        let leading = self.leading.clone();
        let channel = self.channel.clone();
        let on_focus = Closure::<dyn Fn(web_sys::Event)>::new(move |_: web_sys::Event| {
            claim(&leading, channel.as_ref());
        });
        let _ = window.add_event_listener_with_callback("focus", on_focus.as_ref().unchecked_ref());
        self.on_focus = Some(on_focus);
    }

    fn publish(&self, event: &SyncEvent) {
        let Some(channel) = &self.channel else { return };
        post(
            channel,
            &Wire::Event {
                event: event.clone(),
            },
        );
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        if let Some(listener) = &self.on_storage {
            let _ = window
                .remove_event_listener_with_callback("storage", listener.as_ref().unchecked_ref());
        }
        if let Some(listener) = &self.on_focus {
            let _ = window
                .remove_event_listener_with_callback("focus", listener.as_ref().unchecked_ref());
        }
    }
}

fn claim(leading: &Cell<bool>, channel: Option<&web_sys::BroadcastChannel>) {
    leading.set(true);
    if let Some(channel) = channel {
        post(channel, &Wire::Claim);
    }
}

fn post(channel: &web_sys::BroadcastChannel, wire: &Wire) {
    if let Err(e) = channel.post_message(&JsValue::from_str(&json::to_string(wire))) {
        web_sys::console::warn_2(&"EverDesk sync: could not publish".into(), &e);
    }
}

/// True when this document is visible and has focus.
fn focused_and_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| {
            d.visibility_state() == web_sys::VisibilityState::Visible
                && d.has_focus().unwrap_or(false)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_use_snake_case_tags() {
        assert_eq!(
            json::to_string(&SyncEvent::TicketsChanged),
            r#"{"type":"tickets_changed"}"#
        );
        assert_eq!(
            json::to_string(&SyncEvent::TicketChanged {
                ticket_id: "t1".into()
            }),
            r#"{"type":"ticket_changed","ticket_id":"t1"}"#
        );
        assert_eq!(json::to_string(&SyncEvent::Wiped), r#"{"type":"wiped"}"#);
    }

    #[test]
    fn wire_messages_round_trip_and_reject_foreign_data() {
        for wire in [
            Wire::Claim,
            Wire::Event {
                event: SyncEvent::OutboxChanged,
            },
            Wire::Event {
                event: SyncEvent::Reply {
                    ticket_id: "t".into(),
                    id: "m1".into(),
                    text: "Hello \"there\"".into(),
                },
            },
        ] {
            let json = json::to_string(&wire);
            assert_eq!(json::from_str::<Wire>(&json).unwrap(), wire);
        }
        assert!(json::from_str::<Wire>(r#"{"kind":"hack"}"#).is_err());
        assert!(json::from_str::<Wire>(r#"{"type":"wiped"}"#).is_err());
    }

    #[test]
    fn storage_keys_map_to_events() {
        assert_eq!(
            event_for_key(Some("everdesk:v1:tickets"), true),
            Some(SyncEvent::TicketsChanged)
        );
        assert_eq!(
            event_for_key(Some("everdesk:v1:ticket:42"), true),
            Some(SyncEvent::TicketChanged {
                ticket_id: "42".into()
            })
        );
        assert_eq!(
            event_for_key(Some("everdesk:v1:outbox"), false),
            Some(SyncEvent::OutboxChanged)
        );
        assert_eq!(event_for_key(None, false), Some(SyncEvent::Wiped));
        assert_eq!(
            event_for_key(Some("everdesk:v1:tickets"), false),
            Some(SyncEvent::Wiped)
        );
        assert_eq!(event_for_key(Some("everdesk:v1:session"), false), None);
        assert_eq!(event_for_key(Some("everdesk:v1:visitor"), false), None);
        assert_eq!(event_for_key(Some("everdesk:v1:session"), true), None);
        assert_eq!(event_for_key(Some("everdesk:v1:prefs"), true), None);
        assert_eq!(event_for_key(Some("everdesk:v1:probe"), true), None);
        assert_eq!(event_for_key(Some("cart"), true), None);
    }
}
