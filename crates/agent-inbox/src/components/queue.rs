//! The queue: escalated tickets first, each with its state badge, the customer as
//! their identity vouches, who claimed it and the latest customer words. Choosing one
//! opens it beside the queue.

use everdesk_api::{QueueItem, QueueState};
use leptos::prelude::*;

use super::time::Time;
use crate::{state, Inbox};

/// The queue with its refresh button.
#[component]
pub fn QueueList(
    /// The inbox state.
    inbox: Inbox,
) -> impl IntoView {
    let count = move || inbox.queue.with(Vec::len);
    view! {
        <div class="ei-queue__head">
            <h2 id="ei-queue-title">"Queue " <span class="ei-count">{move || format!("({})", count())}</span></h2>
            <button type="button" class="ei-button" on:click=move |_| inbox.refresh_queue()>"Refresh"</button>
        </div>
        <p class="ei-error" role="alert">{move || inbox.queue_error.get()}</p>
        <Show when=move || inbox.queue_loaded.get() && count() == 0>
            <p class="ei-muted">"No open tickets."</p>
        </Show>
        <ul class="ei-queue__list" data-testid="queue">
            <For
                each=move || inbox.queue.get()
                key=|i| i.ticket.session_id.clone()
                children=move |item| view! { <QueueEntry session_id=item.ticket.session_id inbox=inbox /> }
            />
        </ul>
    }
}

/// One ticket of the queue, kept (and focusable) while its entry changes.
#[component]
fn QueueEntry(session_id: String, inbox: Inbox) -> impl IntoView {
    let item = Memo::new({
        let sid = session_id.clone();
        move |_| {
            inbox
                .queue
                .with(|q| q.iter().find(|i| i.ticket.session_id == sid).cloned())
        }
    });
    let current = {
        let sid = session_id.clone();
        move || {
            inbox
                .selected
                .with(|s| s.as_deref() == Some(sid.as_str()))
                .then_some("true")
        }
    };
    let field = move |f: fn(&QueueItem) -> String| {
        move || item.with(|i| i.as_ref().map(f)).unwrap_or_default()
    };
    let claim = move || {
        let me = inbox.session.with(|s| s.as_ref().map(|s| s.agent.clone()));
        item.with(|i| {
            i.as_ref()
                .map(|i| state::claim_label(i.claimed_by.as_ref(), me.as_ref()))
                .unwrap_or_default()
        })
    };
    let queue_state = move || item.with(|i| i.as_ref().map_or(QueueState::Open, |i| i.state));
    let badge = move || match queue_state() {
        QueueState::Escalated => "ei-badge ei-badge--escalated",
        _ => "ei-badge",
    };
    let last = move || item.with(|i| i.as_ref().map_or(0, |i| i.last_message_at));
    let preview = move || item.with(|i| i.as_ref().and_then(|i| i.preview.clone()));
    let sid = session_id.clone();
    view! {
        <li
            class="ei-queue__item"
            data-session-id=session_id
            data-state=move || state::state_label(queue_state()).to_lowercase()
        >
            <button
                type="button"
                class="ei-queue__open"
                aria-current=current
                on:click=move |_| inbox.open(sid.clone())
            >
                <span class="ei-queue__subject">{field(|i| i.ticket.subject.clone())}</span>
                <span class="ei-queue__meta">
                    <span class=badge>{move || state::state_label(queue_state())}</span>
                    " "
                    <span>{field(|i| state::customer_label(&i.customer))}</span>
                </span>
                <span class="ei-queue__meta">
                    <span data-testid="claimed-by">{claim}</span>
                    " · "
                    {move || view! { <Time at=last() /> }}
                </span>
                {move || preview().map(|p| view! { <span class="ei-queue__preview">{p}</span> })}
            </button>
        </li>
    }
}
