//! One conversation: messages with their delivery states, the typing indicator,
//! the hand-off card, recalled past tickets, the ticket actions (talk to a
//! person, close) and the composer — or, once closed, a read-only notice.

use leptos::prelude::*;

use super::{
    close_form::CloseForm,
    composer::Composer,
    controls::{button, enabled, note, note_while, ALERT, STATUS},
    handoff_card::HandoffCard,
    history_list::HistoryList,
    keyed::keyed,
    message_item::MessageItem,
    reactive::{dynamic, either, when},
};
use crate::{
    actions::{focus_later, Chat},
    i18n::fill,
};

/// The open ticket's conversation.
#[component]
pub fn Conversation(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    let closing = RwSignal::new(false);
    let on_retry = Callback::new(move |id: String| chat.retry(&id));
    let is_open = move || {
        chat.current
            .with(|c| c.as_ref().is_some_and(|r| r.is_open()))
    };
    let subject = move || {
        chat.current
            .with(|c| c.as_ref().map(|r| r.subject.clone()).unwrap_or_default())
    };
    let messages = move || {
        chat.current
            .with(|c| c.as_ref().map(|r| r.messages.clone()).unwrap_or_default())
    };
    let handoff = move || {
        chat.current
            .with(|c| c.as_ref().and_then(|r| r.handoff.clone()))
    };
    let agent = move || {
        chat.current
            .with(|c| c.as_ref().and_then(|r| r.agent.clone()))
    };
    let joined = move || {
        agent()
            .map(|name| fill(s.agent_joined, name))
            .unwrap_or_default()
    };
    // "<name> is handling this conversation" while a person holds the open ticket.
    let handling = move || {
        agent()
            .filter(|_| is_open())
            .map(|name| fill(s.agent_handling, name))
            .unwrap_or_default()
    };
    // "<name> is typing…" for this ticket, from the event stream.
    let agent_typing = move || {
        chat.agent_typing.with(|t| {
            t.as_ref()
                .filter(|(ticket, _)| {
                    chat.current
                        .with(|c| c.as_ref().is_some_and(|r| &r.id == ticket))
                })
                .map(|(_, name)| fill(s.agent_typing, name))
                .unwrap_or_default()
        })
    };
    let recalled = move || {
        chat.current
            .with(|c| c.as_ref().map(|r| r.recalled.clone()).unwrap_or_default())
    };
    // Keep the newest message in view as messages arrive or the typing indicator shows.
    Effect::new(move |_| {
        let count = chat
            .current
            .with(|c| c.as_ref().map_or(0, |r| r.messages.len()));
        let typing = chat.typing.get();
        scroll_to_end();
        (count, typing)
    });
    view! {
        <div class="ed-conversation" class:ed-conversation--closed=move || !is_open()>
            <h2 class="ed-conversation__subject">{dynamic(subject)}</h2>
            <ol class="ed-messages" aria-label=s.conversations>
                // By position (no keyed diff in the wasm); each message is rebuilt only
                // when it changed.
                {move || {
                    messages()
                        .into_iter()
                        .map(|m| keyed(m.clone(), view! { <MessageItem message=m strings=s on_retry=on_retry /> }))
                        .collect_view()
                }}
            </ol>
            {when(move || chat.typing.get(), move || view! {
                <p class="ed-typing" aria-hidden="true">
                    <span class="ed-typing__dots"></span>
                    {s.typing}
                </p>
            })}
            <p class="ed-typing ed-typing--agent" aria-live="polite" data-testid="agent-typing">
                {dynamic(agent_typing)}
            </p>
            <p class="ed-notice" role="status" data-testid="handling">{dynamic(handling)}</p>
            {move || handoff().map(|h| keyed(h.clone(), view! { <HandoffCard handoff=h strings=s joined=dynamic(joined) /> }))}
            {when(move || !recalled().is_empty(), move || view! {
                <details class="ed-recalled">
                    <summary>{s.past_tickets}</summary>
                    {move || {
                        let episodes = recalled();
                        keyed(episodes.clone(), view! { <HistoryList episodes=episodes strings=s /> })
                    }}
                </details>
            })}
            {note_while("ed-error", ALERT, chat.error)}
            {either(is_open, move || either(move || closing.get(), move || view! {
                <CloseForm chat=chat on_cancel=Callback::new(move |()| {
                    closing.set(false);
                    focus_later("#ed-message");
                }) />
            }, move || view! {
                <div class="ed-row ed-ticket-actions">
                    {when(move || handoff().is_none(), move || button(
                        "ed-button",
                        s.talk_to_person,
                        dynamic(move || chat.busy.get()),
                        dynamic(move || chat.escalate()),
                    ))}
                    {button("ed-button", s.close_ticket, enabled(), dynamic(move || {
                        closing.set(true);
                        focus_later("[name=rating]");
                    }))}
                </div>
                <Composer chat=chat />
            }), move || view! {
                {note("ed-notice", STATUS, s.closed_notice)}
                // A closed ticket stays read-only; more help continues in a new one.
                {button(
                    "ed-button ed-reopen",
                    s.reopen,
                    enabled(),
                    dynamic(move || {
                        chat.start_ticket(&subject());
                    }),
                )}
            })}
        </div>
    }
}

/// Scrolls the panel body to its end (after the browser has laid out the change).
fn scroll_to_end() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let scroll = wasm_bindgen::closure::Closure::once_into_js(|| {
        let body = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(".ed-panel__body").ok().flatten());
        if let Some(body) = body {
            body.set_scroll_top(body.scroll_height());
        }
    });
    let _ = window.request_animation_frame(wasm_bindgen::JsCast::unchecked_ref(&scroll));
}
