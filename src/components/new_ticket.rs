//! The new-ticket form: a labelled subject field and a start button.

use leptos::{ev::SubmitEvent, prelude::*};

use super::reactive::dynamic;
use crate::actions::{Chat, MAX_SUBJECT_CHARS};

/// Asks for the subject of a new ticket.
#[component]
pub fn NewTicket(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    let subject = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if chat.start_ticket(&subject.get_untracked()) {
            subject.set(String::new());
        }
    };
    view! {
        <form class="ed-form" on:submit=submit>
            <label class="ed-label" for="ed-subject">{s.subject_label}</label>
            <input
                id="ed-subject"
                class="ed-input"
                type="text"
                autocomplete="off"
                required
                maxlength=MAX_SUBJECT_CHARS.to_string()
                placeholder=s.subject_placeholder
                on:input=move |ev| subject.set(event_target_value(&ev))
            />
            <button
                type="submit"
                class="ed-button ed-button--primary"
                disabled=dynamic(move || subject.with(|t| t.trim().is_empty()))
            >
                {s.start}
            </button>
        </form>
    }
}
