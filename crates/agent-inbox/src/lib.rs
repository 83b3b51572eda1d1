//! EverDesk agent inbox: the Leptos app the proxy serves at `/agent/`, where support
//! agents sign in, work the queue, read a ticket with its hand-off and what EverOS
//! remembers, claim, reply and close, live. Separate from the customer widget (which
//! never loads it). Data flows auth → inbox (state, api, live) → components; this file
//! only declares the modules and boots.

pub mod api;
pub mod auth;
pub mod components;
pub use everdesk_api::ids;
pub mod inbox;
pub mod live;
pub mod sse;
pub mod state;

pub use components::app::App;
pub use inbox::Inbox;

/// Mounts the inbox into the page and signs in from what this tab was given.
pub fn boot() {
    use leptos::prelude::*;

    let inbox = Inbox::new();
    leptos::mount::mount_to_body(move || view! { <App inbox=inbox /> });
    inbox.start();
}

/// The panic hook: logs the panic's message and place to the browser console.
pub fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = info.payload_as_str().unwrap_or("panic");
    let place = info
        .location()
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    web_sys::console::error_1(&format!("EverDesk inbox panicked: {message}{place}").into());
}
