//! The composer: a labelled text area (Enter sends, Shift+Enter is a new line),
//! a characters-left counter near the limit, and a send button that is disabled
//! only while there is nothing sendable.

use everdesk_api::limits::MAX_MESSAGE_CHARS;
use leptos::{ev::KeyboardEvent, prelude::*};

use super::reactive::dynamic;
use crate::{actions::Chat, i18n::fill};

/// Show the counter once fewer than this many characters are left.
const COUNTER_FROM: usize = 500;

/// The message input of an open ticket.
#[component]
pub fn Composer(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    let draft = RwSignal::new(String::new());
    let area = NodeRef::<leptos::html::Textarea>::new();
    let left = move || MAX_MESSAGE_CHARS as i64 - draft.with(|d| d.trim().chars().count()) as i64;
    let counter_hidden = move || left() > COUNTER_FROM as i64;
    let sendable = move || draft.with(|d| !d.trim().is_empty()) && left() >= 0;
    let send = move || {
        if chat.send(&draft.get_untracked()) {
            // The field is uncontrolled (the browser keeps its text): clear it here.
            if let Some(el) = area.get_untracked() {
                el.set_value("");
            }
            draft.set(String::new());
        }
    };
    let on_key = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            send();
        }
    };
    view! {
        <form class="ed-composer" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <label class="ed-visually-hidden" for="ed-message">{s.message_label}</label>
            <textarea
                id="ed-message"
                class="ed-composer__input"
                rows="2"
                placeholder=s.message_placeholder
                aria-describedby="ed-counter"
                node_ref=area
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=on_key
            ></textarea>
            <span
                id="ed-counter"
                class="ed-composer__counter"
                class:ed-composer__counter--over=dynamic(move || left() < 0)
                hidden=dynamic(counter_hidden)
            >
                {dynamic(move || fill(s.chars_left, left()))}
            </span>
            <button type="submit" class="ed-button ed-button--primary" disabled=dynamic(move || !sendable())>
                {s.send}
            </button>
        </form>
    }
}
