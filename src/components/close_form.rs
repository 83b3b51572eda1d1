//! Closing a ticket: an optional 1–5 rating (a radio group) and comment.
//!
//! The inputs are plain, uncontrolled form fields: the browser keeps their state and
//! the form is read once, on submit. No signal per star, so the wasm stays small.

use leptos::{ev::SubmitEvent, prelude::*};
use wasm_bindgen::JsCast;

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
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let field = |name: &str| {
            let form = ev.target()?.dyn_into::<web_sys::HtmlFormElement>().ok()?;
            web_sys::FormData::new_with_form(&form)
                .ok()?
                .get(name)
                .as_string()
        };
        let (rating, comment) = read_form(field("rating"), field("comment"));
        chat.close_ticket(rating, comment);
    };
    let stars: Vec<_> = (1u8..=5)
        .map(|n| {
            view! {
                <label class="ed-rating__option">
                    <input type="radio" name="rating" value=n.to_string() />
                    <span aria-hidden="true">"★"</span>
                    <span class="ed-visually-hidden">{fill(s.rating_value, n)}</span>
                </label>
            }
        })
        .collect();
    view! {
        // Escape cancels the form (not the whole panel, which it would close).
        <form class="ed-form ed-close-form" on:submit=submit on:keydown=move |e| {
            if e.key() == "Escape" {
                e.stop_propagation();
                on_cancel.run(());
            }
        }>
            <fieldset class="ed-rating">
                <legend class="ed-label">{s.rating_question}</legend>
                {stars}
            </fieldset>
            <label class="ed-label" for="ed-comment">{s.comment_label}</label>
            <textarea id="ed-comment" name="comment" class="ed-input" rows="2" maxlength="1000"></textarea>
            <div class="ed-row">
                <button type="submit" class="ed-button ed-button--primary" disabled=dynamic(move || chat.busy.get())>
                    {s.close_ticket}
                </button>
                {button("ed-button", s.cancel, enabled(), dynamic(move || on_cancel.run(())))}
            </div>
        </form>
    }
}

/// The rating (1–5, or none) and comment from the submitted form's raw values.
pub fn read_form(rating: Option<String>, comment: Option<String>) -> (Option<u8>, String) {
    let rating = rating
        .and_then(|r| r.parse::<u8>().ok())
        .filter(|r| (1..=5).contains(r));
    (rating, comment.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rating_of_one_to_five_and_the_comment() {
        assert_eq!(
            read_form(Some("5".into()), Some("Thanks".into())),
            (Some(5), "Thanks".into())
        );
        assert_eq!(read_form(None, None), (None, String::new()));
        for bad in ["0", "6", "five", ""] {
            assert_eq!(read_form(Some(bad.into()), None).0, None, "{bad}");
        }
    }
}
