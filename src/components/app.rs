//! The root panel: a labelled dialog with the header (back, title, close), quiet
//! notices (storage, offline), the current screen, and the live region that
//! announces new replies. Escape closes the panel.

use leptos::{either::EitherOf4, ev, prelude::*};

use super::{
    controls::{note, note_while, ALERT, STATUS},
    conversation::Conversation,
    keyed::keyed,
    memory_view::MemoryView,
    new_ticket::NewTicket,
    reactive::{dynamic, when},
    ticket_list::TicketList,
};
use crate::{
    actions::{focus_first_control, Chat, View},
    config::on_brand,
};

/// The widget panel as it appears inside the frame. Re-rendered as a whole when
/// the locale changes (rare), so every string inside is a static text node.
#[component]
pub fn App(
    /// The widget's state and actions.
    chat: Chat,
    /// Why the frame talks to no host page (opened alone, or for a site not allowed
    /// to embed it): shown instead of the screens.
    #[prop(optional_no_strip)]
    notice: Option<&'static str>,
) -> impl IntoView {
    let locale = Memo::new(move |_| chat.config.with(|c| c.locale.clone()));
    let close = move || chat.request_close();
    let _escape = window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" {
            close();
        }
    });
    move || keyed(locale.get(), view! { <Panel chat=chat notice=notice /> })
}

/// The panel in the current language.
#[component]
fn Panel(
    /// The widget's state and actions.
    chat: Chat,
    /// Why the frame talks to no host page: shown instead of the screens.
    #[prop(optional_no_strip)]
    notice: Option<&'static str>,
) -> impl IntoView {
    let s = chat.strings();
    // A new screen takes the focus (its composer, subject field or main action), so
    // keyboard and screen-reader users land where the work is.
    Effect::new(move |first: Option<()>| {
        chat.view.track();
        if first.is_some() && chat.panel_open.get_untracked() {
            focus_first_control();
        }
    });
    let title = dynamic(move || chat.title());
    let theme = dynamic(move || chat.config.with(|c| c.theme.as_str()));
    let brand = dynamic(move || {
        chat.config.with(|c| {
            c.color
                .as_ref()
                .map(|color| format!("--ed-brand: {color}; --ed-on-brand: {}", on_brand(color)))
        })
    });
    let dir = if s.rtl { "rtl" } else { "ltr" };
    let lang = s.lang;
    let close = move || chat.request_close();
    // A new screen (or another ticket) is built afresh, never diffed into the old one.
    let screen = move || {
        let view = chat.view.get();
        let screen = match &view {
            View::List => EitherOf4::A(view! { <TicketList chat=chat /> }),
            View::NewTicket => EitherOf4::B(view! { <NewTicket chat=chat /> }),
            View::Ticket(_) => EitherOf4::C(view! { <Conversation chat=chat /> }),
            View::Memory => EitherOf4::D(view! { <MemoryView chat=chat /> }),
        };
        keyed(view, screen)
    };
    let not_list = move || chat.view.with(|v| *v != View::List);
    view! {
        <section
            class="ed-panel"
            role="dialog"
            aria-labelledby="ed-title"
            data-theme=theme
            style=brand
            dir=dir
            lang=lang
        >
            <header class="ed-panel__header">
                {when(not_list, move || view! {
                    <button
                        type="button"
                        class="ed-icon-button ed-panel__back"
                        aria-label=s.back
                        on:click=move |_| chat.show_list()
                    >
                        <span aria-hidden="true" class="ed-panel__back-icon">"‹"</span>
                    </button>
                })}
                <h1 id="ed-title" class="ed-panel__title">{title}</h1>
                <button
                    type="button"
                    class="ed-icon-button ed-panel__close"
                    aria-label=s.close_chat
                    on:click=move |_| close()
                >
                    <span aria-hidden="true">"×"</span>
                </button>
            </header>
            {when(move || chat.storage_degraded.get(), move || note("ed-notice", STATUS, s.storage_notice))}
            {note_while("ed-notice", STATUS, chat.notice)}
            {when(move || !chat.online.get(), move || note("ed-notice ed-notice--offline", STATUS, s.offline_notice))}
            {notice.map(|text| note("ed-notice", ALERT, text))}
            {notice.is_none().then(|| view! { <div class="ed-panel__body">{screen}</div> })}
            <div class="ed-visually-hidden" aria-live="polite" data-testid="announcer">
                {dynamic(move || chat.announcement.get())}
            </div>
        </section>
    }
}
