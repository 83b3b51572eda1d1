//! The page: header (who is signed in, the live stream's state, sign-out), the polite
//! live region, and either the sign-in form or the queue beside the open ticket.

use leptos::prelude::*;

use super::{queue::QueueList, sign_in::SignIn, ticket::TicketPane};
use crate::{live::LiveStatus, Inbox};

/// The inbox.
#[component]
pub fn App(
    /// The inbox state.
    inbox: Inbox,
) -> impl IntoView {
    let signed_in = move || inbox.session.with(Option::is_some);
    let agent_name = move || {
        inbox
            .session
            .with(|s| s.as_ref().map(|s| s.agent.name.clone()))
            .unwrap_or_default()
    };
    let live = move || match inbox.live.get() {
        LiveStatus::Off => "",
        LiveStatus::Connecting => "Connecting…",
        LiveStatus::Live => "Live",
        LiveStatus::Reconnecting => "Reconnecting…",
    };
    view! {
        <div class="ei-app">
            <a class="ei-skip" href="#ei-main">"Skip to the ticket"</a>
            <header class="ei-header">
                <h1 class="ei-header__title">"EverDesk agent inbox"</h1>
                <Show when=signed_in>
                    <p class="ei-header__live" data-testid="live-status" data-state=move || format!("{:?}", inbox.live.get()).to_lowercase()>
                        {live}
                    </p>
                    <p class="ei-header__agent">"Signed in as " <strong>{agent_name}</strong></p>
                    <button type="button" class="ei-button" on:click=move |_| inbox.sign_out(None)>
                        "Sign out"
                    </button>
                </Show>
                <div class="ei-visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
                    {move || inbox.announcement.get()}
                </div>
            </header>
            <Show
                when=signed_in
                fallback=move || view! { <main id="ei-main" class="ei-main ei-main--signin"><SignIn inbox=inbox /></main> }
            >
                <div class="ei-layout">
                    <nav class="ei-queue" aria-labelledby="ei-queue-title">
                        <QueueList inbox=inbox />
                    </nav>
                    <main id="ei-main" class="ei-main" tabindex="-1">
                        <TicketPane inbox=inbox />
                    </main>
                </div>
            </Show>
        </div>
    }
}
