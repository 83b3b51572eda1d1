//! The loader⇄frame protocol: one serde-tagged enum per direction, carried as JSON
//! strings over `postMessage` with the exact target origin. Incoming messages are
//! accepted only from the host origin named in the frame URL *and* from the parent
//! window; everything else is ignored.

use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use std::collections::BTreeMap;

use everdesk_api::SessionRequest;

use crate::config::HostConfig;

/// Host page → frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawHostToFrame")]
pub enum HostToFrame {
    /// Settings from the script tag, sent once the frame said it is ready.
    Init {
        /// Raw `data-*` settings.
        config: HostConfig,
        /// Who the customer is, as the host's backend signed it; absent → visitor.
        #[serde(default)]
        identity: Option<SessionRequest>,
        /// The host page's first-party copy of our `everdesk:` keys, used when the
        /// frame's own storage is blocked (third-party storage blocking).
        #[serde(default)]
        store: BTreeMap<String, String>,
    },
    /// Another tab changed the host page's copy of one of our keys.
    Stored {
        /// The key.
        key: String,
        /// The new raw value; `None` when removed.
        value: Option<String>,
    },
    /// `EverDesk('identify', …)`: the customer logged in (or another one did).
    Identify {
        /// The new identity proof.
        identity: SessionRequest,
    },
    /// `EverDesk('shutdown')`: forget the session and wipe local state.
    Shutdown,
    /// `EverDesk('setLocale', tag)`.
    SetLocale {
        /// BCP 47 tag.
        locale: String,
    },
    /// The launcher opened the panel.
    Opened,
    /// The panel was closed from the host side.
    Closed,
}

/// [`HostToFrame`] as received, read as a plain struct: the same JSON as the tagged
/// enum, without serde's buffering of internally tagged enums (smaller wasm).
#[derive(Deserialize)]
struct RawHostToFrame {
    #[serde(rename = "type")]
    kind: String,
    config: Option<HostConfig>,
    identity: Option<SessionRequest>,
    #[serde(default)]
    store: BTreeMap<String, String>,
    key: Option<String>,
    value: Option<String>,
    locale: Option<String>,
}

impl TryFrom<RawHostToFrame> for HostToFrame {
    type Error = String;

    fn try_from(raw: RawHostToFrame) -> Result<Self, Self::Error> {
        let missing = |field: &str| format!("missing field `{field}`");
        Ok(match raw.kind.as_str() {
            "init" => Self::Init {
                config: raw.config.ok_or_else(|| missing("config"))?,
                identity: raw.identity,
                store: raw.store,
            },
            "stored" => Self::Stored {
                key: raw.key.ok_or_else(|| missing("key"))?,
                value: raw.value,
            },
            "identify" => Self::Identify {
                identity: raw.identity.ok_or_else(|| missing("identity"))?,
            },
            "shutdown" => Self::Shutdown,
            "set_locale" => Self::SetLocale {
                locale: raw.locale.ok_or_else(|| missing("locale"))?,
            },
            "opened" => Self::Opened,
            "closed" => Self::Closed,
            other => return Err(format!("unknown message type `{other}`")),
        })
    }
}

/// Frame → host page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FrameToHost {
    /// The frame booted and listens; the host answers with `Init`.
    Ready,
    /// The customer closed the panel from inside.
    Close,
    /// Unread replies across tickets (the launcher badge).
    Unread {
        /// How many.
        count: u32,
    },
    /// A new reply arrived (for the host's `message` event; no content, no PII).
    Message {
        /// The ticket it belongs to.
        ticket_id: String,
    },
    /// The ticket was handed to a person.
    Escalated {
        /// The ticket.
        ticket_id: String,
    },
    /// Something failed that the host may want to log.
    Error {
        /// A stable code such as `upstream_unavailable`.
        code: String,
    },
    /// Keep this key in the host page's first-party storage (the frame's own storage
    /// is blocked); `None` removes it. The loader accepts only `everdesk:` keys.
    Store {
        /// The key.
        key: String,
        /// The raw value.
        value: Option<String>,
    },
    /// Launcher labels in the widget's language.
    Labels {
        /// Accessible name of the launcher while closed.
        open: String,
        /// Accessible name of the launcher while open.
        close: String,
    },
}

/// Decodes a message if, and only if, it comes from the expected host origin and the
/// parent window and is one of ours. Pure, so the checks are unit-tested natively.
pub fn accept(origin: &str, expected: &str, from_parent: bool, data: &str) -> Option<HostToFrame> {
    if origin != expected || !from_parent {
        return None;
    }
    serde_json::from_str(data).ok()
}

/// The frame's end of the channel to one host origin.
#[derive(Debug, Clone)]
pub struct Link {
    host: String,
}

impl Link {
    /// Listens for host messages, hands each accepted one to `on_message`, and
    /// announces `Ready`. The listener lives as long as the page.
    pub fn connect(host: String, on_message: impl Fn(HostToFrame) + 'static) -> Self {
        let link = Self { host };
        let expected = link.host.clone();
        let listener =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let parent = web_sys::window().and_then(|w| w.parent().ok().flatten());
                let from_parent = match (ev.source(), parent) {
                    (Some(source), Some(parent)) => JsValue::from(source) == JsValue::from(parent),
                    _ => false,
                };
                let Some(data) = ev.data().as_string() else {
                    return;
                };
                if let Some(msg) = accept(&ev.origin(), &expected, from_parent, &data) {
                    on_message(msg);
                }
            });
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        }
        listener.forget();
        link.send(&FrameToHost::Ready);
        link
    }

    /// Posts `msg` to the parent window, to the host origin only.
    pub fn send(&self, msg: &FrameToHost) {
        let parent = web_sys::window().and_then(|w| w.parent().ok().flatten());
        if let (Some(parent), Ok(json)) = (parent, serde_json::to_string(msg)) {
            let _ = parent.post_message(&JsValue::from_str(&json), &self.host);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "https://shop.example";

    #[test]
    fn init_from_the_host_parent_is_accepted() {
        let msg = r#"{"type":"init","config":{"title":"Acme"}}"#;
        let Some(HostToFrame::Init {
            config, identity, ..
        }) = accept(HOST, HOST, true, msg)
        else {
            panic!("init refused");
        };
        assert_eq!(config.title.as_deref(), Some("Acme"));
        assert_eq!(identity, None);
    }

    #[test]
    fn identity_travels_in_init_and_identify() {
        let msg = r#"{"type":"init","config":{},"identity":{"user_id":"u1","user_hash":"ab"}}"#;
        let Some(HostToFrame::Init {
            identity: Some(SessionRequest::Hmac { user_id, .. }),
            ..
        }) = accept(HOST, HOST, true, msg)
        else {
            panic!("identity lost");
        };
        assert_eq!(user_id, "u1");
        let msg = r#"{"type":"identify","identity":{"jwt":"a.b.c"}}"#;
        assert!(matches!(
            accept(HOST, HOST, true, msg),
            Some(HostToFrame::Identify {
                identity: SessionRequest::Jwt { .. }
            })
        ));
    }

    #[test]
    fn wrong_origin_wrong_source_or_foreign_data_is_ignored() {
        let msg = r#"{"type":"opened"}"#;
        assert_eq!(accept("https://evil.example", HOST, true, msg), None);
        assert_eq!(accept(HOST, HOST, false, msg), None);
        assert_eq!(accept(HOST, HOST, true, r#"{"type":"hack"}"#), None);
        assert_eq!(accept(HOST, HOST, true, "not json"), None);
        assert_eq!(accept(HOST, HOST, true, msg), Some(HostToFrame::Opened));
    }

    #[test]
    fn frame_messages_use_snake_case_tags() {
        assert_eq!(
            serde_json::to_string(&FrameToHost::Ready).unwrap(),
            r#"{"type":"ready"}"#
        );
        assert_eq!(
            serde_json::to_string(&FrameToHost::Close).unwrap(),
            r#"{"type":"close"}"#
        );
    }
}
