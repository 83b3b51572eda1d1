//! The open ticket: its heading, state, customer and claim, the Claim and Close
//! buttons, the conversation with the reply box, and beside it the hand-off card and
//! what EverOS remembers. Focus moves to the heading when a ticket opens.

use everdesk_api::QueueState;
use leptos::{html, prelude::*};

use super::{
    handoff_card::HandoffCard, memory::MemoryPanel, reply_box::ReplyBox, transcript::Transcript,
};
use crate::{state, Inbox};

/// The ticket pane: the open ticket, or a hint to choose one.
#[component]
pub fn TicketPane(
    /// The inbox state.
    inbox: Inbox,
) -> impl IntoView {
    move || {
        match inbox.selected.get() {
        Some(sid) => view! { <TicketView inbox=inbox session_id=sid /> }.into_any(),
        None => view! {
            <section class="ei-empty" aria-labelledby="ei-empty-title">
                <h2 id="ei-empty-title">"No ticket open"</h2>
                <p class="ei-muted">"Choose a ticket from the queue. Escalated tickets are listed first."</p>
            </section>
        }
        .into_any(),
    }
    }
}

/// One ticket.
#[component]
fn TicketView(inbox: Inbox, session_id: String) -> impl IntoView {
    let heading = NodeRef::<html::H2>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let subject = move || {
        inbox
            .item
            .with(|i| i.as_ref().map(|i| i.ticket.subject.clone()))
            .unwrap_or_else(|| "Loading…".to_owned())
    };
    let queue_state = move || inbox.item.with(|i| i.as_ref().map(|i| i.state));
    let closed = move || queue_state() == Some(QueueState::Closed);
    let mine = move || {
        let me = inbox.session.with(|s| s.as_ref().map(|s| s.agent.clone()));
        inbox.item.with(|i| match (i, me) {
            (Some(i), Some(me)) => state::claimed_by_me(i, &me),
            _ => false,
        })
    };
    let claim = move || {
        let me = inbox.session.with(|s| s.as_ref().map(|s| s.agent.clone()));
        inbox.item.with(|i| {
            i.as_ref()
                .map(|i| state::claim_label(i.claimed_by.as_ref(), me.as_ref()))
                .unwrap_or_default()
        })
    };
    let customer = move || {
        inbox
            .item
            .with(|i| i.as_ref().map(|i| state::customer_label(&i.customer)))
            .unwrap_or_default()
    };
    view! {
        <article class="ei-ticket" aria-labelledby="ei-ticket-title" data-session-id=session_id>
            <div class="ei-ticket__head">
                <h2 id="ei-ticket-title" node_ref=heading tabindex="-1">{subject}</h2>
                <p class="ei-ticket__meta">
                    <span class="ei-badge" class:ei-badge--escalated=move || queue_state() == Some(QueueState::Escalated) data-testid="ticket-state">
                        {move || queue_state().map(state::state_label)}
                    </span>
                    " "
                    <span>{customer}</span>
                    " · "
                    <span data-testid="ticket-claim">{claim}</span>
                </p>
                <div class="ei-actions">
                    <button
                        type="button"
                        class="ei-button ei-button--primary"
                        disabled=move || inbox.busy.get() || mine() || closed()
                        on:click=move |_| inbox.claim()
                    >
                        {move || if mine() { "Claimed" } else { "Claim" }}
                    </button>
                    <button
                        type="button"
                        class="ei-button"
                        disabled=move || inbox.busy.get() || closed()
                        on:click=move |_| inbox.close()
                    >
                        {move || if closed() { "Closed" } else { "Close ticket" }}
                    </button>
                    <button type="button" class="ei-button ei-button--quiet" on:click=move |_| inbox.deselect()>
                        "Back to the queue"
                    </button>
                </div>
                <p class="ei-error" role="alert" data-testid="ticket-error">{move || inbox.ticket_error.get()}</p>
            </div>
            <div class="ei-ticket__body">
                <section class="ei-conversation" aria-labelledby="ei-conversation-title">
                    <h3 id="ei-conversation-title">"Conversation"</h3>
                    <Transcript inbox=inbox />
                    <p class="ei-typing" data-testid="customer-typing">
                        {move || inbox.customer_typing.get().then_some("The customer is typing…")}
                    </p>
                    <ReplyBox inbox=inbox mine=Signal::derive(mine) closed=Signal::derive(closed) />
                </section>
                <aside class="ei-context" aria-label="Customer context">
                    {move || inbox.detail.with(|d| d.as_ref().map(|d| {
                        let customer = d.item.customer.clone();
                        let handoff = d.handoff.clone();
                        let profile = d.profile.clone();
                        let history = d.history.clone();
                        let feedback = d.feedback.clone();
                        view! {
                            <HandoffCard handoff=handoff customer=customer />
                            <MemoryPanel profile=profile history=history feedback=feedback />
                        }
                    }))}
                </aside>
            </div>
        </article>
    }
}
