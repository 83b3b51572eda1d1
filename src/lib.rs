//! EverDesk widget frame: the Leptos app that runs inside the iframe the loader
//! creates on the host page. Data flows bridge → config → (state → storage → api) →
//! components; this file only declares the modules and boots.

pub mod bridge;
pub mod components;
pub mod config;
pub mod origin;

pub use components::app::App;

/// Mounts the widget into the frame page and connects it to the host page.
///
/// Never panics: a frame opened without a valid `?host=` origin (for example typed
/// into the address bar) shows the panel with a notice instead of talking to anyone.
pub fn boot() {
    use leptos::prelude::*;

    let host = origin::host_origin_from_location();
    let (config, set_config) = signal(config::WidgetConfig::default());
    let link = host.clone().ok().map(|host| bridge::Link::connect(host, set_config));
    let on_close = Callback::new(move |()| {
        if let Some(link) = &link {
            link.send(&bridge::FrameToHost::Close);
        }
    });
    let standalone = host.is_err();
    leptos::mount::mount_to_body(move || {
        view! { <App config=config on_close=on_close standalone=standalone /> }
    });
}
