//! The sign-in form: the agent pastes a JWT their backend minted; it goes to
//! `POST /v1/agent/session` and the field is emptied (it is never kept).

use leptos::{html, prelude::*};

use crate::Inbox;

/// Sign in with an agent JWT.
#[component]
pub fn SignIn(
    /// The inbox state.
    inbox: Inbox,
) -> impl IntoView {
    let field = NodeRef::<html::Textarea>::new();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = field.get() else {
            return;
        };
        let jwt = el.value();
        el.set_value("");
        if jwt.trim().is_empty() {
            inbox
                .sign_in_error
                .set(Some("Paste an agent JWT first.".to_owned()));
            return;
        }
        inbox.sign_in(jwt);
    };
    view! {
        <section class="ei-signin" aria-labelledby="ei-signin-title">
            <h2 id="ei-signin-title">"Sign in"</h2>
            <p id="ei-jwt-hint" class="ei-muted">
                "Paste your agent token: a JWT with role \"agent\", your id (sub) and name, minted by your "
                "company's backend. It is exchanged for a session kept only in this tab."
            </p>
            <form class="ei-form" on:submit=submit>
                <label for="ei-jwt">"Agent token (JWT)"</label>
                <textarea
                    id="ei-jwt"
                    node_ref=field
                    rows="4"
                    autocomplete="off"
                    spellcheck="false"
                    aria-describedby="ei-jwt-hint"
                ></textarea>
                <button type="submit" class="ei-button ei-button--primary" disabled=move || inbox.signing_in.get()>
                    {move || if inbox.signing_in.get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="ei-error" role="alert" data-testid="sign-in-error">
                    {move || inbox.sign_in_error.get()}
                </p>
            </form>
        </section>
    }
}
