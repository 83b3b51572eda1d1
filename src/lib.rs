//! EverDesk widget frame: the Leptos app that runs inside the iframe the loader
//! creates on the host page. Data flows bridge → config → (state → storage → api) →
//! components; this file only declares the modules and boots.

pub mod actions;
pub mod api;
pub mod bridge;
pub mod components;
pub mod config;
pub mod connectivity;
pub mod i18n;
pub use everdesk_api::ids;
pub mod live;
pub mod origin;
pub mod state;
pub mod storage;
pub mod sync;
pub mod text;

pub use components::app::App;

/// Mounts the widget into the frame page and connects it to the host page, the
/// browser's connectivity events and the other tabs.
///
/// Never panics: a frame opened without a valid `?host=` origin (for example typed
/// into the address bar), or for a host the proxy does not allow to embed it, shows
/// a notice instead of talking to anyone (and never calls the API).
pub fn boot() {
    use leptos::prelude::*;

    let chat = actions::Chat::new(storage::Store::open());
    let notice = match origin::host_origin_from_location() {
        Err(_) => Some(i18n::STANDALONE_NOTICE),
        Ok(host) if !origin::host_allowed(&host, origin::allowed_hosts_from_page().as_deref()) => {
            Some(i18n::HOST_REFUSED_NOTICE)
        }
        Ok(host) => {
            // Hidden (preloaded) until the host says it opened the panel.
            chat.panel_open.set(false);
            chat.attach_host(bridge::Link::connect(host, move |msg| {
                chat.handle_host(msg)
            }));
            None
        }
    };
    chat.attach_sync(sync::TabSync::connect(move |event| chat.handle_sync(event)));
    connectivity::watch(chat);
    leptos::mount::mount_to_body(move || view! { <App chat=chat notice=notice /> });
}

/// The panic hook: logs the panic's message and place to the browser console (what
/// `console_error_panic_hook` did, in less wasm).
pub fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let message = info.payload_as_str().unwrap_or("panic");
    let place = info
        .location()
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    web_sys::console::error_1(&format!("EverDesk panicked: {message}{place}").into());
}
