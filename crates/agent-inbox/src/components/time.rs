//! Times as the agent reads them: a `<time>` with the ISO instant and the local clock.

use leptos::prelude::*;

/// An epoch-ms instant as `<time datetime=ISO>local date and time</time>`.
#[component]
pub fn Time(
    /// Epoch ms.
    at: i64,
) -> impl IntoView {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    let iso = String::from(date.to_iso_string());
    let shown = String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED));
    view! { <time datetime=iso>{shown}</time> }
}
