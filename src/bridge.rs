//! The loader⇄frame protocol: one serde-tagged enum per direction, carried as JSON
//! strings over `postMessage` with the exact target origin. The serde derives define
//! the JSON; at run time the frame reads and writes it with the small codec of
//! `everdesk_api::json`, and the tests hold the two to the same JSON. Incoming messages are
//! accepted only from the host origin named in the frame URL *and* from the parent
//! window; everything else is ignored.

use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use everdesk_api::{
    json::{self, Fields, FromJson, Json, JsonError, ObjWriter, ToJson},
    SessionRequest,
};

use crate::{config::HostConfig, storage::StrMap};

/// Host page → frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
        store: StrMap,
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
        /// The new identity proof; `None` when the host sent an unusable one (then
        /// the customer is treated as an anonymous visitor, never as the previous one).
        identity: Option<SessionRequest>,
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

impl FromJson for HostToFrame {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let f = Fields::of(value)?;
        Ok(match f.req::<String>("type")?.as_str() {
            "init" => Self::Init {
                config: f.req("config")?,
                identity: identity_or_none(f.get("identity")),
                store: match f.get("store") {
                    Some(store) => string_map(store)?,
                    None => StrMap::default(),
                },
            },
            "stored" => Self::Stored {
                key: f.req("key")?,
                value: f.opt("value")?,
            },
            "identify" => Self::Identify {
                identity: identity_or_none(f.get("identity")),
            },
            "shutdown" => Self::Shutdown,
            "set_locale" => Self::SetLocale {
                locale: f.req("locale")?,
            },
            "opened" => Self::Opened,
            "closed" => Self::Closed,
            other => return Err(JsonError(format!("unknown message type `{other}`"))),
        })
    }
}

/// The identity proof in a host message. An unusable one (say `data-user-id` without
/// `data-user-hash`) is reported on the console and read as no identity, so the rest of
/// the message still applies and the customer is an anonymous visitor.
fn identity_or_none(value: Option<&Json>) -> Option<SessionRequest> {
    let value = value.filter(|v| !matches!(v, Json::Null))?;
    let parsed = SessionRequest::from_json(value);
    #[cfg(target_arch = "wasm32")]
    if let Err(error) = &parsed {
        web_sys::console::warn_1(
            &format!("EverDesk: identity ignored, the customer is a visitor: {error}").into(),
        );
    }
    parsed.ok()
}

/// An object whose members are all strings.
fn string_map(value: &Json) -> Result<StrMap, JsonError> {
    match value {
        Json::Obj(members) => {
            let mut map = StrMap::default();
            for (k, v) in members {
                map.insert(k.clone(), String::from_json(v)?);
            }
            Ok(map)
        }
        _ => Err(JsonError::expected("an object of strings")),
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
    /// is blocked); `None` removes it. The loader accepts only `everdesk:` keys. Never
    /// sent with a credential (`storage::is_secret`): every host-page script reads that
    /// storage.
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
        /// Accessible name of the frame: the panel heading.
        title: String,
    },
}

impl ToJson for FrameToHost {
    fn write_json(&self, out: &mut String) {
        let mut w = ObjWriter::new(out);
        match self {
            Self::Ready => w.text("type", "ready"),
            Self::Close => w.text("type", "close"),
            Self::Unread { count } => w.text("type", "unread").field("count", count),
            Self::Message { ticket_id } => w.text("type", "message").field("ticket_id", ticket_id),
            Self::Escalated { ticket_id } => {
                w.text("type", "escalated").field("ticket_id", ticket_id)
            }
            Self::Error { code } => w.text("type", "error").field("code", code),
            Self::Store { key, value } => w
                .text("type", "store")
                .field("key", key)
                .field("value", value),
            Self::Labels { open, close, title } => w
                .text("type", "labels")
                .field("open", open)
                .field("close", close)
                .field("title", title),
        };
        w.end();
    }
}

/// Decodes a message if, and only if, it comes from the expected host origin and the
/// parent window and is one of ours. Pure, so the checks are unit-tested natively.
pub fn accept(origin: &str, expected: &str, from_parent: bool, data: &str) -> Option<HostToFrame> {
    if origin != expected || !from_parent {
        return None;
    }
    json::from_str(data).ok()
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
        if let Some(parent) = parent {
            let text = json::to_string(msg);
            let _ = parent.post_message(&JsValue::from_str(&text), &self.host);
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
                identity: Some(SessionRequest::Jwt { .. })
            })
        ));
    }

    #[test]
    fn an_unusable_identity_is_no_identity_and_the_rest_still_applies() {
        // data-user-id without data-user-hash: the loader sends only the id.
        let msg = r#"{"type":"init","config":{"title":"Acme"},"identity":{"user_id":"u1"}}"#;
        let Some(HostToFrame::Init {
            config, identity, ..
        }) = accept(HOST, HOST, true, msg)
        else {
            panic!("the whole init was dropped");
        };
        assert_eq!((config.title.as_deref(), identity), (Some("Acme"), None));
        let msg = r#"{"type":"identify","identity":{"user_id":"u2"}}"#;
        assert_eq!(
            accept(HOST, HOST, true, msg),
            Some(HostToFrame::Identify { identity: None }),
            "read as a visitor, never as the previous customer"
        );
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
    fn frame_messages_are_written_as_the_serde_enum_defines() {
        let all = [
            FrameToHost::Ready,
            FrameToHost::Close,
            FrameToHost::Unread { count: 3 },
            FrameToHost::Message {
                ticket_id: "t1".into(),
            },
            FrameToHost::Escalated {
                ticket_id: "t1".into(),
            },
            FrameToHost::Error {
                code: "conflict".into(),
            },
            FrameToHost::Store {
                key: "everdesk:v1:tickets".into(),
                value: Some("{\"v\":1}".into()),
            },
            FrameToHost::Store {
                key: "everdesk:v1:tickets".into(),
                value: None,
            },
            FrameToHost::Labels {
                open: "Open".into(),
                close: "Close".into(),
                title: "Support".into(),
            },
        ];
        for msg in all {
            assert_eq!(json::to_string(&msg), serde_json::to_string(&msg).unwrap());
        }
        assert_eq!(json::to_string(&FrameToHost::Ready), r#"{"type":"ready"}"#);
    }

    #[test]
    fn host_messages_are_read_as_the_serde_enum_defines() {
        let identity = SessionRequest::Hmac {
            user_id: "u1".into(),
            user_hash: "ab".into(),
            name: None,
            email: Some("a@b.c".into()),
        };
        let all = [
            HostToFrame::Init {
                config: HostConfig {
                    proxy_url: Some("https://p.example".into()),
                    title: Some("Acme".into()),
                    color: None,
                    theme: Some("dark".into()),
                    locale: Some("ar".into()),
                },
                identity: Some(identity.clone()),
                store: [("everdesk:v1:outbox".to_owned(), "[]".to_owned())]
                    .into_iter()
                    .collect(),
            },
            HostToFrame::Init {
                config: HostConfig::default(),
                identity: None,
                store: StrMap::default(),
            },
            HostToFrame::Stored {
                key: "k".into(),
                value: None,
            },
            HostToFrame::Stored {
                key: "k".into(),
                value: Some("v".into()),
            },
            HostToFrame::Identify {
                identity: Some(identity),
            },
            HostToFrame::Shutdown,
            HostToFrame::SetLocale {
                locale: "es".into(),
            },
            HostToFrame::Opened,
            HostToFrame::Closed,
        ];
        for msg in all {
            let text = serde_json::to_string(&msg).unwrap();
            assert_eq!(json::from_str::<HostToFrame>(&text), Ok(msg), "{text}");
        }
        let bad_store = r#"{"type":"init","config":{},"store":{"k":1}}"#;
        assert!(serde_json::from_str::<HostToFrame>(bad_store).is_err());
        assert_eq!(accept(HOST, HOST, true, bad_store), None);
    }
}
