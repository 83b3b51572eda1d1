//! The root panel: a labelled dialog with the header (title, close) and the body.

use leptos::prelude::*;

use crate::config::WidgetConfig;

/// The widget panel as it appears inside the frame.
#[component]
pub fn App(
    /// Validated settings from the host page.
    #[prop(into)]
    config: Signal<WidgetConfig>,
    /// Called when the customer closes the panel from inside.
    on_close: Callback<()>,
    /// True when the frame was opened without a host page (nothing to talk to).
    #[prop(optional)]
    standalone: bool,
) -> impl IntoView {
    let title = move || config.with(|c| c.title.clone());
    let theme = move || config.with(|c| c.theme.as_str());
    let brand = move || {
        config.with(|c| c.color.as_ref().map(|color| format!("--ed-brand: {color}")))
    };
    view! {
        <section
            class="ed-panel"
            role="dialog"
            aria-labelledby="ed-title"
            data-theme=theme
            style=brand
        >
            <header class="ed-panel__header">
                <h1 id="ed-title" class="ed-panel__title">{title}</h1>
                <button
                    type="button"
                    class="ed-panel__close"
                    aria-label="Close support chat"
                    on:click=move |_| on_close.run(())
                >
                    "×"
                </button>
            </header>
            <main class="ed-panel__body">
                <p class="ed-panel__welcome">
                    "Hi! Ask us anything. We remember your past tickets, so you never have to repeat yourself."
                </p>
                {standalone.then(|| view! {
                    <p class="ed-notice" role="status">
                        "This page is the EverDesk widget frame. Add the loader script to a page to use it."
                    </p>
                })}
            </main>
        </section>
    }
}
