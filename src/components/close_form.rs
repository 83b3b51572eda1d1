//! Closing a ticket: an optional 1–5 rating (a radio group) and comment.

use leptos::{ev::SubmitEvent, prelude::*};

use super::{
    controls::{button, enabled},
    reactive::dynamic,
};
use crate::{actions::Chat, i18n::fill};

/// The close-ticket form.
#[component]
pub fn CloseForm(
    /// The widget's state and actions.
    chat: Chat,
    /// Hide the form without closing.
    on_cancel: Callback<()>,
) -> impl IntoView {
    let s = chat.strings();
    let rating = RwSignal::new(None::<u8>);
    let comment = RwSignal::new(String::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        chat.close_ticket(rating.get_untracked(), comment.get_untracked());
    };
    view! {
        <form class="ed-form ed-close-form" on:submit=submit>
            <fieldset class="ed-rating">
                <legend class="ed-label">{s.rating_question}</legend>
                {(1u8..=5)
                    .map(|n| {
                        view! {
                            <label class="ed-rating__option">
                                <input
                                    type="radio"
                                    name="ed-rating"
                                    value=n.to_string()
                                    prop:checked=dynamic(move || rating.get() == Some(n))
                                    on:change=move |_| rating.set(Some(n))
                                />
                                <span aria-hidden="true">"★"</span>
                                <span class="ed-visually-hidden">{dynamic(move || fill(s.rating_value, n))}</span>
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <label class="ed-label" for="ed-comment">{s.comment_label}</label>
            <textarea
                id="ed-comment"
                class="ed-input"
                rows="2"
                maxlength="1000"
                prop:value=dynamic(move || comment.get())
                on:input=move |ev| comment.set(event_target_value(&ev))
            ></textarea>
            <div class="ed-row">
                <button type="submit" class="ed-button ed-button--primary" disabled=dynamic(move || chat.busy.get())>
                    {s.close_ticket}
                </button>
                {button("ed-button", s.cancel, enabled(), dynamic(move || on_cancel.run(())))}
            </div>
        </form>
    }
}
