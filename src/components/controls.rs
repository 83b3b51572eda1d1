//! Shared controls. Every call of [`button`] is the same view type (label, class and
//! handler are values, the handler type-erased), so the renderer's code for it is in
//! the wasm once instead of once per button.

use leptos::prelude::*;

use super::{
    keyed::keyed,
    reactive::{dynamic, Dyn},
};

/// A `type="button"` button with a text label; `disabled` is reactive.
pub fn button(
    class: &'static str,
    label: &'static str,
    disabled: Dyn<bool>,
    on_click: Dyn<()>,
) -> impl IntoView {
    view! {
        <button type="button" class=class disabled=disabled on:click=move |_| on_click()>
            {label}
        </button>
    }
}

/// Never disabled.
pub fn enabled() -> Dyn<bool> {
    dynamic(|| false)
}

/// A paragraph of text: notices (`role="status"`), errors (`role="alert"`) and
/// placeholders (no role) are all this one view type.
pub fn note(
    class: &'static str,
    role: Option<&'static str>,
    text: impl Into<String>,
) -> impl IntoView {
    note_view(class, role, text.into())
}

fn note_view(class: &'static str, role: Option<&'static str>, text: String) -> impl IntoView {
    view! { <p class=class role=role>{text}</p> }
}

/// `role="status"`.
pub const STATUS: Option<&str> = Some("status");
/// `role="alert"`.
pub const ALERT: Option<&str> = Some("alert");

/// A [`note`] shown while `text` holds a message (an error, a notice), rebuilt only
/// when the message changes. One view type for every such signal.
pub fn note_while(
    class: &'static str,
    role: Option<&'static str>,
    text: RwSignal<Option<&'static str>>,
) -> impl IntoView {
    move || {
        let current = text.get();
        keyed(
            current,
            current.map(|t| note_view(class, role, t.to_owned())),
        )
    }
}
