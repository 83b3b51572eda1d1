//! The conversation: every message with its author kind and name and its time, as
//! text nodes only (never HTML from a message), newest at the bottom.

use everdesk_api::{Author, TranscriptMessage};
use leptos::{html, prelude::*};

use super::time::Time;
use crate::{state, Inbox};

/// The open ticket's transcript, scrolled to the newest message as messages arrive.
#[component]
pub fn Transcript(
    /// The inbox state.
    inbox: Inbox,
) -> impl IntoView {
    let list = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        inbox.transcript.with(Vec::len);
        if let Some(el) = list.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    view! {
        <div class="ei-transcript" node_ref=list tabindex="0" role="region" aria-label="Messages">
            <Show when=move || inbox.transcript.with(Vec::is_empty)>
                <p class="ei-muted">"No messages yet."</p>
            </Show>
            <ol class="ei-transcript__list" data-testid="transcript">
                <For
                    each=move || inbox.transcript.get()
                    key=|m| m.id.clone()
                    children=|m| view! { <MessageItem message=m /> }
                />
            </ol>
        </div>
    }
}

/// One message.
#[component]
pub fn MessageItem(
    /// The message.
    message: TranscriptMessage,
) -> impl IntoView {
    let kind = match message.author {
        Author::Customer => "customer",
        Author::Bot => "bot",
        Author::Agent => "agent",
    };
    view! {
        <li class=format!("ei-msg ei-msg--{kind}") data-author=kind data-message-id=message.id.clone()>
            <p class="ei-msg__meta">
                <span class="ei-msg__author">{state::author_label(&message)}</span>
                " · "
                <Time at=message.created_at />
            </p>
            <p class="ei-msg__text">{message.content}</p>
        </li>
    }
}
