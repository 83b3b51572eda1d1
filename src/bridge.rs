//! The loader⇄frame protocol: one serde-tagged enum per direction, carried as JSON
//! strings over `postMessage` with the exact target origin. Incoming messages are
//! accepted only from the host origin named in the frame URL *and* from the parent
//! window; everything else is ignored.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use crate::config::{HostConfig, WidgetConfig};

/// Host page → frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostToFrame {
    /// Settings from the script tag, sent once the frame said it is ready.
    Init {
        /// Raw `data-*` settings.
        config: HostConfig,
    },
    /// The launcher opened the panel.
    Opened,
    /// The panel was closed from the host side.
    Closed,
}

/// Frame → host page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FrameToHost {
    /// The frame booted and listens; the host answers with `Init`.
    Ready,
    /// The customer closed the panel from inside.
    Close,
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
    /// Listens for host messages (applying `Init` to `set_config`) and announces
    /// `Ready`. The listener lives as long as the page.
    pub fn connect(host: String, set_config: WriteSignal<WidgetConfig>) -> Self {
        let link = Self { host };
        let expected = link.host.clone();
        let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let from_parent = match (ev.source(), web_sys::window().and_then(|w| w.parent().ok().flatten())) {
                (Some(source), Some(parent)) => JsValue::from(source) == JsValue::from(parent),
                _ => false,
            };
            let Some(data) = ev.data().as_string() else { return };
            match accept(&ev.origin(), &expected, from_parent, &data) {
                Some(HostToFrame::Init { config }) => {
                    let (config, errors) = WidgetConfig::from_host(&config);
                    for error in errors {
                        web_sys::console::warn_1(&format!("EverDesk: {error}").into());
                    }
                    set_config.set(config);
                }
                Some(HostToFrame::Opened | HostToFrame::Closed) | None => {}
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
        }
        on_message.forget();
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
        let Some(HostToFrame::Init { config }) = accept(HOST, HOST, true, msg) else {
            panic!("init refused");
        };
        assert_eq!(config.title.as_deref(), Some("Acme"));
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
