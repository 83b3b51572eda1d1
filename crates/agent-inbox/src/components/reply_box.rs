//! The reply box: the agent's answer to the customer, sent with a client-chosen id so a
//! retry after a failure is answered once; Ctrl+Enter sends; typing tells the customer
//! (throttled). Replying needs the agent's claim; when it lands, focus moves here.

use leptos::{html, prelude::*, task::spawn_local};

use crate::{ids, Inbox};

/// The reply form.
#[component]
pub fn ReplyBox(
    /// The inbox state.
    inbox: Inbox,
    /// The signed-in agent holds the ticket.
    mine: Signal<bool>,
    /// The ticket is closed.
    closed: Signal<bool>,
) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // Kept across a failed send, so the retry is the same message to the proxy.
    let reply_id = StoredValue::new(ids::new_uuid());
    let field = NodeRef::<html::Textarea>::new();
    let can_write = move || mine.get() && !closed.get();
    let hint = move || {
        if closed.get() {
            "This ticket is closed."
        } else if !mine.get() {
            "Claim the ticket to reply."
        } else {
            "Ctrl+Enter sends. The customer sees your reply under your name."
        }
    };
    let send = move || {
        let content = draft.get_untracked().trim().to_owned();
        if content.is_empty() || sending.get_untracked() || !can_write() {
            return;
        }
        sending.set(true);
        error.set(None);
        spawn_local(async move {
            let result = inbox.reply(reply_id.get_value(), content).await;
            sending.set(false);
            match result {
                Ok(()) => {
                    draft.set(String::new());
                    reply_id.set_value(ids::new_uuid());
                    inbox.announcement.set("Reply sent.".to_owned());
                    if let Some(el) = field.get_untracked() {
                        let _ = el.focus();
                    }
                }
                Err(message) => error.set(Some(message)),
            }
        });
    };
    // Once the agent's claim lands, the next thing to do is write: focus moves here
    // (after the field is enabled, on the next turn of the event loop).
    Effect::new(move |was: Option<bool>| {
        let now = can_write();
        if was == Some(false) && now {
            let focus = wasm_bindgen::closure::Closure::once_into_js(move || {
                if let Some(el) = field.get_untracked() {
                    let _ = el.focus();
                }
            });
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    wasm_bindgen::JsCast::unchecked_ref(&focus),
                    0,
                );
            }
        }
        now
    });
    view! {
        <form
            class="ei-form ei-reply"
            on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                send();
            }
        >
            <label for="ei-reply">"Your reply"</label>
            <textarea
                id="ei-reply"
                node_ref=field
                rows="3"
                maxlength="4000"
                aria-describedby="ei-reply-hint"
                disabled=move || !can_write()
                prop:value=move || draft.get()
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    inbox.typing();
                }
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <p id="ei-reply-hint" class="ei-muted">{hint}</p>
            <button
                type="submit"
                class="ei-button ei-button--primary"
                disabled=move || !can_write() || sending.get() || draft.with(|d| d.trim().is_empty())
            >
                {move || if sending.get() { "Sending…" } else { "Send reply" }}
            </button>
            <p class="ei-error" role="alert" data-testid="reply-error">{move || error.get()}</p>
        </form>
    }
}
