//! What EverOS remembers about the customer (profile facts), their past tickets
//! relevant to this one, and the close form's feedback when they left some.

use everdesk_api::{FeedbackView, HistoryEpisode, ProfileFact};
use leptos::prelude::*;

use super::handoff_card::EpisodeList;

/// The memory panel.
#[component]
pub fn MemoryPanel(
    /// Profile facts.
    profile: Vec<ProfileFact>,
    /// Relevant past tickets.
    history: Vec<HistoryEpisode>,
    /// The close form's answers.
    feedback: Option<FeedbackView>,
) -> impl IntoView {
    view! {
        <section class="ei-card" aria-labelledby="ei-memory-title" data-testid="memory">
            <h3 id="ei-memory-title">"What EverOS remembers"</h3>
            {if profile.is_empty() {
                view! { <p class="ei-muted">"Nothing remembered about this customer yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="ei-list">
                        {profile.into_iter().map(|f| view! { <li>{f.text}</li> }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <h4>"Past tickets"</h4>
            <EpisodeList episodes=history empty="No past tickets." />
        </section>
        {feedback.map(|f| view! {
            <section class="ei-card" aria-labelledby="ei-feedback-title" data-testid="feedback">
                <h3 id="ei-feedback-title">"Close feedback"</h3>
                <p>{f.rating.map_or_else(|| "No rating".to_owned(), |r| format!("Rating: {r} of 5"))}</p>
                {f.comment.map(|c| view! { <p>{c}</p> })}
            </section>
        })}
    }
}
