//! "What we remember": the customer's profile facts, and forget-me behind a
//! confirmation (deletes the memory on the proxy, then everything local).

use leptos::either::EitherOf4;
use leptos::prelude::*;

use super::reactive::{dynamic, either};
use crate::actions::{Chat, Remote};

/// Profile facts and forget-me.
#[component]
pub fn MemoryView(
    /// The widget's state and actions.
    chat: Chat,
) -> impl IntoView {
    let s = chat.strings();
    let confirming = RwSignal::new(false);
    let facts = move || match chat.profile.get() {
        Remote::Ready(facts) if facts.is_empty() => {
            EitherOf4::A(view! { <p class="ed-muted">{s.memory_empty}</p> })
        }
        Remote::Ready(facts) => EitherOf4::B(view! {
            <ul class="ed-facts" role="list">
                {facts.into_iter().map(|f| view! { <li class="ed-facts__item">{f.text}</li> }).collect_view()}
            </ul>
        }),
        Remote::Failed(text) => EitherOf4::C(view! { <p class="ed-error" role="alert">{text}</p> }),
        Remote::Loading | Remote::Idle => {
            EitherOf4::D(view! { <p class="ed-muted" aria-busy="true">"…"</p> })
        }
    };
    view! {
        <section class="ed-memory" aria-labelledby="ed-memory-title">
            <h2 id="ed-memory-title" class="ed-heading">{s.memory_title}</h2>
            {facts}
            {move || chat.error.get().map(|e| view! { <p class="ed-error" role="alert">{e}</p> })}
            {either(move || confirming.get(), move || view! {
                <div class="ed-confirm" role="alertdialog" aria-labelledby="ed-forget-question">
                    <p id="ed-forget-question">{s.forget_confirm}</p>
                    <div class="ed-row">
                        <button
                            type="button"
                            class="ed-button ed-button--danger"
                            disabled=dynamic(move || chat.busy.get())
                            on:click=move |_| chat.forget_me()
                        >
                            {s.forget_yes}
                        </button>
                        <button type="button" class="ed-button" on:click=move |_| confirming.set(false)>
                            {s.cancel}
                        </button>
                    </div>
                </div>
            }, move || view! {
                <button type="button" class="ed-button ed-button--danger" on:click=move |_| confirming.set(true)>
                    {s.forget_me}
                </button>
            })}
        </section>
    }
}
