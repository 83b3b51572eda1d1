//! "From your past tickets": recalled episodes (subject, summary, date), only
//! this customer's, with an explanation when there are none yet.

use everdesk_api::HistoryEpisode;
use leptos::either::{Either, EitherOf4};
use leptos::prelude::*;

use super::{
    controls::{button, enabled, note},
    keyed::keyed,
    reactive::dynamic,
};
use crate::{actions::Chat, actions::Remote, i18n::Strings};

/// A date in the customer's language, e.g. "24 Nov 2026".
pub fn format_date(ms: i64, locale: &str) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    for (k, v) in [("day", "numeric"), ("month", "short"), ("year", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &k.into(), &v.into());
    }
    date.to_locale_date_string(locale, &options).into()
}

/// A list of recalled episodes.
#[component]
pub fn HistoryList(
    /// Episodes, most relevant first.
    episodes: Vec<HistoryEpisode>,
    /// Strings of the widget's language.
    strings: &'static Strings,
) -> impl IntoView {
    if episodes.is_empty() {
        return Either::Left(note("ed-muted", None, strings.past_tickets_empty));
    }
    Either::Right(view! {
        <ul class="ed-history" role="list">
            {episodes
                .into_iter()
                .map(|e| {
                    let date = e.at.map(|at| format_date(at, strings.lang));
                    view! {
                        <li class="ed-history__item">
                            {e.subject.map(|subject| view! { <p class="ed-history__subject">{subject}</p> })}
                            <p class="ed-history__summary">{e.summary}</p>
                            {date.map(|d| view! { <p class="ed-history__date">{d}</p> })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    })
}

/// The home screen's recalled-history section.
#[component]
pub fn HistoryPanel(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    // Built afresh when the state changes (loading → ready, say), never diffed.
    let body = move || {
        let history = chat.history.get();
        keyed(history.clone(), body_view(chat, history, s))
    };
    view! {
        <section class="ed-section" aria-labelledby="ed-history-title">
            <h2 id="ed-history-title" class="ed-heading">{s.past_tickets}</h2>
            {body}
        </section>
    }
}

/// The history section's body for one state of the request.
fn body_view(
    chat: Chat,
    history: Remote<Vec<HistoryEpisode>>,
    s: &'static Strings,
) -> impl IntoView {
    match history {
        Remote::Ready(episodes) => {
            EitherOf4::A(view! { <HistoryList episodes=episodes strings=s /> })
        }
        Remote::Loading => EitherOf4::B(view! { <p class="ed-muted" aria-busy="true">"…"</p> }),
        // Nothing asked yet (no tickets): explain what will appear here.
        Remote::Idle => EitherOf4::D(note("ed-muted", None, s.past_tickets_empty)),
        Remote::Failed(text) => EitherOf4::C(view! {
            <p class="ed-error" role="alert">
                {text}
                " "
                {button("ed-link-button", s.retry, enabled(), dynamic(move || chat.load_history()))}
            </p>
        }),
    }
}
