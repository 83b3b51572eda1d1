//! Browser tests (wasm-bindgen-test in headless Chromium): the real components,
//! mounted into a real DOM, asserted by role, text and aria.
#![cfg(target_arch = "wasm32")]

use everdesk::{
    config::{Theme, WidgetConfig},
    App,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh container in the document, so tests do not see each other's DOM.
fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

#[wasm_bindgen_test]
async fn panel_is_a_labelled_dialog_with_the_configured_title() {
    let root = container();
    let (config, set_config) = signal(WidgetConfig::default());
    let closes = RwSignal::new(0);
    let on_close = Callback::new(move |()| closes.update(|n| *n += 1));
    let _mount = leptos::mount::mount_to(root.clone(), move || {
        view! { <App config=config on_close=on_close /> }
    });

    let dialog = root.query_selector("[role=dialog]").unwrap().expect("dialog");
    let label_id = dialog.get_attribute("aria-labelledby").expect("labelled");
    let heading = root
        .query_selector(&format!("#{label_id}"))
        .unwrap()
        .expect("label target");
    assert_eq!(heading.text_content().unwrap(), "Support");
    assert!(root.query_selector("[role=status]").unwrap().is_none());

    set_config.set(WidgetConfig {
        title: "Acme help".into(),
        theme: Theme::Dark,
        color: Some("#112233".into()),
        ..WidgetConfig::default()
    });
    leptos::task::tick().await;
    assert_eq!(heading.text_content().unwrap(), "Acme help");
    assert_eq!(dialog.get_attribute("data-theme").as_deref(), Some("dark"));
    assert!(dialog
        .get_attribute("style")
        .unwrap_or_default()
        .contains("--ed-brand: #112233"));

    let close: web_sys::HtmlElement = root
        .query_selector("button[aria-label='Close support chat']")
        .unwrap()
        .expect("close button")
        .unchecked_into();
    close.click();
    leptos::task::tick().await;
    assert_eq!(closes.get_untracked(), 1);
}

#[wasm_bindgen_test]
async fn standalone_frame_explains_itself() {
    let root = container();
    let on_close = Callback::new(|()| {});
    let _mount = leptos::mount::mount_to(root.clone(), move || {
        view! { <App config=Signal::stored(WidgetConfig::default()) on_close=on_close standalone=true /> }
    });
    let status = root
        .query_selector("[role=status]")
        .unwrap()
        .expect("notice");
    assert!(status.text_content().unwrap().contains("loader script"));
}
