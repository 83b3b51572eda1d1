//! The escalation summary card: what a human agent receives, shown to the
//! customer so they know what was handed over.

use everdesk_api::Handoff;
use leptos::prelude::*;

use super::{history_list::HistoryList, reactive::Dyn, rich_text::RichText};
use crate::i18n::Strings;

/// The hand-off summary.
#[component]
pub fn HandoffCard(
    /// The hand-off from the proxy.
    handoff: Handoff,
    /// Strings of the widget's language.
    strings: &'static Strings,
    /// "<name> has joined" once a person claimed the ticket, else empty.
    #[prop(optional)]
    joined: Option<Dyn<String>>,
) -> impl IntoView {
    view! {
        <section class="ed-handoff" aria-labelledby="ed-handoff-title" data-testid="handoff" tabindex="-1">
            <h2 id="ed-handoff-title" class="ed-heading">{strings.handoff_title}</h2>
            {joined.map(|joined| view! {
                <p class="ed-handoff__joined" role="status" data-testid="joined">{joined}</p>
            })}
            <h3 class="ed-subheading">{strings.handoff_issue}</h3>
            <RichText text=handoff.issue_summary />
            <h3 class="ed-subheading">{strings.handoff_tried}</h3>
            <ul class="ed-handoff__tried">
                {handoff
                    .attempted_solutions
                    .into_iter()
                    .map(|a| view! { <li><RichText text=a /></li> })
                    .collect_view()}
            </ul>
            <h3 class="ed-subheading">{strings.handoff_history}</h3>
            <HistoryList episodes=handoff.relevant_history strings=strings />
            <h3 class="ed-subheading">{strings.handoff_note}</h3>
            <RichText text=handoff.handoff_note />
        </section>
    }
}
