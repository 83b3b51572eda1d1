//! Where the agent's sign-in comes from and where it is kept. The session token lives
//! in memory and in this tab's `sessionStorage` only (gone with the tab). A JWT reaches
//! the inbox without ever being in a URL: pasted into the sign-in form, left in this
//! origin's `sessionStorage` by a same-origin page that then opens `/agent/` in the tab
//! (key [`HANDOFF_KEY`], read once and removed), or posted by the window that opened
//! the inbox (`{type: "everdesk-agent-jwt", jwt}`; only messages whose source is
//! `window.opener` count, and the acknowledgement goes back to that exact origin). Any
//! opener may hand over a JWT: the JWT itself is the proof, checked by the proxy, and the
//! acknowledgement carries nothing.

use std::cell::RefCell;

use everdesk_api::AgentSessionResponse;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{MessageEvent, Storage, Window};

/// The signed-in session (token, expiry, agent) in `sessionStorage`.
const SESSION_KEY: &str = "everdesk-agent.session";
/// A JWT handed over by a same-origin page, consumed at boot.
pub const HANDOFF_KEY: &str = "everdesk-agent.jwt";
/// The `type` of the opener's message carrying a JWT.
pub const HANDOFF_TYPE: &str = "everdesk-agent-jwt";
/// The `type` of the inbox's acknowledgement to the opener.
pub const ACK_TYPE: &str = "everdesk-agent-received";
/// A stored session this close to expiry is not reused, ms.
const EXPIRY_MARGIN_MS: f64 = 60_000.0;

fn storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// The session kept by this tab, when it has not expired.
pub fn load(now_ms: f64) -> Option<AgentSessionResponse> {
    let store = storage()?;
    let text = store.get_item(SESSION_KEY).ok().flatten()?;
    match serde_json::from_str::<AgentSessionResponse>(&text) {
        Ok(s) if (s.expires_at as f64) > now_ms + EXPIRY_MARGIN_MS => Some(s),
        _ => {
            let _ = store.remove_item(SESSION_KEY);
            None
        }
    }
}

/// Keeps the session for this tab (private mode or a full storage: memory only).
pub fn save(session: &AgentSessionResponse) {
    if let (Some(store), Ok(text)) = (storage(), serde_json::to_string(session)) {
        let _ = store.set_item(SESSION_KEY, &text);
    }
}

/// Forgets the session (sign-out, refused token).
pub fn clear() {
    if let Some(store) = storage() {
        let _ = store.remove_item(SESSION_KEY);
    }
}

/// A JWT a same-origin page left for the inbox, removed as it is read.
pub fn take_handoff() -> Option<String> {
    let store = storage()?;
    let jwt = store.get_item(HANDOFF_KEY).ok().flatten()?;
    let _ = store.remove_item(HANDOFF_KEY);
    Some(jwt).filter(|j| !j.trim().is_empty())
}

/// The JWT of an opener's message, when it is one.
fn handoff_jwt(data: &JsValue) -> Option<String> {
    let kind = js_sys::Reflect::get(data, &"type".into())
        .ok()?
        .as_string()?;
    if kind != HANDOFF_TYPE {
        return None;
    }
    js_sys::Reflect::get(data, &"jwt".into())
        .ok()?
        .as_string()
        .filter(|j| !j.trim().is_empty())
}

/// Listens for a JWT from the window that opened the inbox (if any) and passes each
/// new one to `on_jwt`. The listener lives as long as the page.
pub fn listen_to_opener(on_jwt: impl Fn(String) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(opener) = window
        .opener()
        .ok()
        .filter(|o| !o.is_null() && !o.is_undefined())
    else {
        return;
    };
    let last = RefCell::new(String::new());
    let handler = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let from_opener = event
            .source()
            .is_some_and(|s| js_sys::Object::is(&s, &opener));
        if !from_opener {
            return;
        }
        let Some(jwt) = handoff_jwt(&event.data()) else {
            return;
        };
        let ack = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&ack, &"type".into(), &ACK_TYPE.into());
        let _ = opener
            .unchecked_ref::<Window>()
            .post_message(&ack, &event.origin());
        // The opener repeats its message until acknowledged: sign in once per JWT.
        if *last.borrow() == jwt {
            return;
        }
        last.replace(jwt.clone());
        on_jwt(jwt);
    });
    let _ = window.add_event_listener_with_callback("message", handler.as_ref().unchecked_ref());
    handler.forget();
}
