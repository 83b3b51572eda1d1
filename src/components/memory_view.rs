//! "What we remember": the customer's profile facts, and forget-me behind a
//! confirmation (deletes the memory on the proxy, then everything local).

use leptos::either::EitherOf4;
use leptos::prelude::*;

use super::{
    controls::{button, enabled, note, note_while, ALERT},
    keyed::keyed,
    reactive::{dynamic, either},
};
use everdesk_api::ProfileFact;

use crate::{
    actions::{focus_later, Chat, Remote},
    i18n::Strings,
};

/// Profile facts and forget-me.
#[component]
pub fn MemoryView(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    let confirming = RwSignal::new(false);
    let cancel = move || {
        confirming.set(false);
        focus_later(".ed-forget");
    };
    // Built afresh when the state changes, never diffed.
    let facts = move || {
        let profile = chat.profile.get();
        keyed(profile.clone(), facts_view(profile, s))
    };
    view! {
        <section class="ed-memory" aria-labelledby="ed-memory-title">
            <h2 id="ed-memory-title" class="ed-heading">{s.memory_title}</h2>
            {facts}
            {note_while("ed-error", ALERT, chat.error)}
            {either(move || confirming.get(), move || view! {
                // Escape cancels the question (not the whole panel).
                <div
                    class="ed-confirm"
                    role="alertdialog"
                    aria-labelledby="ed-forget-question"
                    on:keydown=move |e| {
                        if e.key() == "Escape" {
                            e.stop_propagation();
                            cancel();
                        }
                    }
                >
                    <p id="ed-forget-question">{s.forget_confirm}</p>
                    <div class="ed-row">
                        {button(
                            "ed-button ed-button--danger",
                            s.forget_yes,
                            dynamic(move || chat.busy.get()),
                            dynamic(move || chat.forget_me()),
                        )}
                        // The least destructive answer takes the focus.
                        {button("ed-button ed-forget-cancel", s.cancel, enabled(), dynamic(cancel))}
                    </div>
                </div>
            }, move || view! {
                {button(
                    "ed-button ed-button--danger ed-forget",
                    s.forget_me,
                    enabled(),
                    dynamic(move || {
                        confirming.set(true);
                        focus_later(".ed-forget-cancel");
                    }),
                )}
            })}
        </section>
    }
}

/// The facts section for one state of the request.
fn facts_view(profile: Remote<Vec<ProfileFact>>, s: &'static Strings) -> impl IntoView {
    match profile {
        Remote::Ready(facts) if facts.is_empty() => {
            EitherOf4::A(note("ed-muted", None, s.memory_empty))
        }
        Remote::Ready(facts) => EitherOf4::B(view! {
            <ul class="ed-facts" role="list">
                {facts.into_iter().map(|f| view! { <li class="ed-facts__item">{f.text}</li> }).collect_view()}
            </ul>
        }),
        Remote::Failed(text) => EitherOf4::C(note("ed-error", ALERT, text)),
        Remote::Loading | Remote::Idle => {
            EitherOf4::D(view! { <p class="ed-muted" aria-busy="true">"…"</p> })
        }
    }
}
