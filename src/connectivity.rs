//! Browser connectivity: `online`/`offline` events drive the outbox (kept while
//! offline, sent when the browser is back).

use leptos::prelude::*;
use wasm_bindgen::{closure::Closure, JsCast};

use crate::actions::Chat;

/// Follows `navigator.onLine` and the `online`/`offline` events for the page's life.
pub fn watch(chat: Chat) {
    let Some(window) = web_sys::window() else {
        return;
    };
    chat.online.set(window.navigator().on_line());
    let online = Closure::<dyn Fn()>::new(move || chat.back_online());
    let offline = Closure::<dyn Fn()>::new(move || chat.online.set(false));
    let _ = window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
    online.forget();
    offline.forget();
}
