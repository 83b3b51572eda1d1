//! The home screen: start a conversation, the customer's tickets (open first,
//! newest first, unread markers), recalled past tickets, and what we remember.

use leptos::prelude::*;

use super::{
    controls::{button, enabled, note},
    history_list::HistoryPanel,
    keyed::keyed,
    reactive::{dynamic, either},
};
use crate::{actions::Chat, i18n::fill};
use everdesk_api::TicketStatus;

/// Ticket list with its entry points.
#[component]
pub fn TicketList(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    chat.load_history();
    let empty = move || chat.tickets.with(Vec::is_empty);
    view! {
        <div class="ed-home">
            {note("ed-home__welcome", None, s.welcome)}
            <button
                type="button"
                class="ed-button ed-button--primary"
                data-autofocus
                on:click=move |_| chat.show_new_ticket()
            >
                {s.new_conversation}
            </button>
            <h2 class="ed-heading">{s.conversations}</h2>
            {either(move || !empty(), move || view! {
                <ul class="ed-tickets" role="list">
                    {move || chat.tickets.get().into_iter().map(move |t| {
                            let id = t.id.clone();
                            let closed = t.status == TicketStatus::Closed;
                            let status = if closed { s.status_closed } else { s.status_open };
                            let unread = t.unread;
                            // Rebuilt only when this ticket changed.
                            keyed(t.clone(), view! {
                                <li class="ed-tickets__item">
                                    <button
                                        type="button"
                                        class="ed-ticket"
                                        class:ed-ticket--closed=closed
                                        on:click=move |_| chat.open_ticket(&id)
                                    >
                                        <span class="ed-ticket__subject">{t.subject.clone()}</span>
                                        <span class="ed-ticket__meta">
                                            <span class="ed-ticket__status">{status}</span>
                                            {(unread > 0).then(|| view! {
                                                <span class="ed-badge" data-testid="unread">
                                                    {fill(s.unread, unread)}
                                                </span>
                                            })}
                                        </span>
                                        <span class="ed-ticket__preview">{t.preview.clone()}</span>
                                    </button>
                                </li>
                            })
                    }).collect_view()}
                </ul>
            }, move || note("ed-muted", None, s.no_conversations))}
            <HistoryPanel chat=chat />
            {button("ed-link-button", s.memory_title, enabled(), dynamic(move || chat.show_memory()))}
        </div>
    }
}
