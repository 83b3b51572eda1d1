//! The hand-off card: who the customer is as their identity vouches (EverOS user id,
//! verified or visitor, the name the host signed), and the cookbook's hand-off: customer
//! summary, the issue, what was actually tried, sentiment, relevant history, the note.

use everdesk_api::{Customer, CustomerKind, Handoff, HistoryEpisode};
use leptos::prelude::*;

/// The hand-off card (or a note that the customer has not asked for a person).
#[component]
pub fn HandoffCard(
    /// The hand-off, when the customer escalated.
    handoff: Option<Handoff>,
    /// The ticket's customer (the hand-off's own, when it has one, wins).
    customer: Customer,
) -> impl IntoView {
    let customer = handoff
        .as_ref()
        .and_then(|h| h.customer.clone())
        .unwrap_or(customer);
    let kind = match customer.kind {
        CustomerKind::Verified => "Verified customer (signed by the host)",
        CustomerKind::Visitor => "Visitor (not verified)",
    };
    let name = customer
        .name
        .clone()
        .unwrap_or_else(|| "No name vouched for".to_owned());
    view! {
        <section class="ei-card" aria-labelledby="ei-handoff-title" data-testid="handoff">
            <h3 id="ei-handoff-title">"Hand-off"</h3>
            <dl class="ei-facts">
                <dt>"Customer"</dt>
                <dd data-testid="handoff-name">{name}</dd>
                <dt>"Identity"</dt>
                <dd data-testid="handoff-kind">{kind}</dd>
                <dt>"EverOS user id"</dt>
                <dd><code data-testid="handoff-user-id">{customer.id.clone()}</code></dd>
            </dl>
            {match handoff {
                None => view! {
                    <p class="ei-muted">"The customer has not asked for a person in this ticket."</p>
                }.into_any(),
                Some(h) => view! { <HandoffBody handoff=h /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn HandoffBody(handoff: Handoff) -> impl IntoView {
    let tried = handoff.attempted_solutions;
    view! {
        <dl class="ei-facts">
            <dt>"Summary"</dt>
            <dd>{handoff.customer_summary}</dd>
            <dt>"Issue"</dt>
            <dd data-testid="handoff-issue">{handoff.issue_summary}</dd>
            <dt>"Sentiment"</dt>
            <dd>{handoff.customer_sentiment}</dd>
            <dt>"Note"</dt>
            <dd>{handoff.handoff_note}</dd>
        </dl>
        <h4>"Attempted solutions"</h4>
        {if tried.is_empty() {
            view! { <p class="ei-muted">"Nothing tried yet."</p> }.into_any()
        } else {
            view! {
                <ul class="ei-list" data-testid="handoff-tried">
                    {tried.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}
                </ul>
            }
            .into_any()
        }}
        <h4>"Relevant history"</h4>
        <EpisodeList episodes=handoff.relevant_history empty="No relevant past tickets." />
    }
}

/// Past tickets (EverOS episodes), subject and summary.
#[component]
pub fn EpisodeList(
    /// The episodes.
    episodes: Vec<HistoryEpisode>,
    /// Said when there are none.
    empty: &'static str,
) -> impl IntoView {
    if episodes.is_empty() {
        return view! { <p class="ei-muted">{empty}</p> }.into_any();
    }
    view! {
        <ul class="ei-list">
            {episodes
                .into_iter()
                .map(|e| view! {
                    <li>
                        {e.subject.map(|s| view! { <strong>{s}</strong> ": " })}
                        {e.summary}
                    </li>
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
