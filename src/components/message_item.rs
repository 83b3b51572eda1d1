//! One message bubble: author, safely rendered text, time, and for the
//! customer's own messages the delivery state with a retry when it failed.

use everdesk_api::Role;
use leptos::prelude::*;

use super::{
    controls::{button, enabled},
    reactive::dynamic,
    rich_text::RichText,
};
use crate::{
    i18n::Strings,
    state::{ChatMessage, Delivery},
};

/// A message of the conversation.
#[component]
pub fn MessageItem(
    /// The message.
    message: ChatMessage,
    /// Strings of the widget's language.
    strings: &'static Strings,
    /// Retry a failed message (by id).
    on_retry: Callback<String>,
) -> impl IntoView {
    let mine = message.role == Role::User;
    let author = if mine { strings.you } else { strings.support };
    // A person's reply shows their name; otherwise the author is for screen readers.
    let named = message.name.is_some();
    let name = message.name.clone().unwrap_or_else(|| author.to_owned());
    let (state, label) = match &message.delivery {
        Delivery::Sending => ("sending", strings.sending.to_owned()),
        Delivery::Sent => ("sent", strings.sent.to_owned()),
        Delivery::Failed { reason } => ("failed", format!("{} — {reason}", strings.not_sent)),
    };
    let failed = matches!(message.delivery, Delivery::Failed { .. });
    let id = message.id.clone();
    view! {
        <li
            class="ed-msg"
            class:ed-msg--mine=mine
            class:ed-msg--failed=failed
            data-delivery=state
            data-message-id=message.id.clone()
        >
            <span
                class=if named { "ed-msg__author" } else { "ed-visually-hidden" }
                data-testid="author"
            >
                {name}
                <span class="ed-visually-hidden">": "</span>
            </span>
            <div class="ed-msg__bubble">
                <RichText text=message.content.clone() />
            </div>
            {mine.then(|| view! {
                <p class="ed-msg__status">
                    <span>{label}</span>
                    {failed.then(|| view! {
                        " "
                        {button(
                            "ed-link-button",
                            strings.retry,
                            enabled(),
                            dynamic(move || on_retry.run(id.clone())),
                        )}
                    })}
                </p>
            })}
        </li>
    }
}
