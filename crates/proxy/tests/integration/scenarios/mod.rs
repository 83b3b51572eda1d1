//! One suite of scenarios through the proxy, run against local-everos (v2) and against
//! the real self-hosted EverOS (`everos==1.5.1`, started by `scripts/test`): two
//! customers, tickets, messages, close, recall in the next ticket, profile, isolation
//! (two customers with the same ticket id), errors, forget-me, capabilities. The
//! real-server runs are `#[ignore]`d in a plain `cargo test` and run by `scripts/test`
//! with `--ignored`; without the server's URL they fail, saying how to start it.

mod backend;
mod cases;

use backend::Backend;

/// Declares one test per backend for a scenario `cases::$name(&Backend)`.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        /// local-everos, v2.
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    let b = super::Backend::local(true).await;
                    super::cases::$name(&b).await;
                }
            )*
        }
        /// The real everos 1.5.1 with embeddings.
        mod real {
            $(
                #[tokio::test]
                #[ignore = "needs the real EverOS: scripts/test runs it with --ignored"]
                async fn $name() {
                    super::cases::$name(&super::Backend::real()).await;
                }
            )*
        }
    };
}

on_every_backend!(
    two_customers_tickets_close_and_recall_in_the_next_ticket,
    the_same_ticket_id_never_mixes_two_customers,
    messages_sent_at_once_are_all_kept,
    the_profile_document_becomes_profile_facts,
    a_just_closed_ticket_is_listed_at_once,
    upstream_errors_are_typed_and_never_leak,
    forget_me_deletes_or_says_it_cannot,
    readiness_reports_what_everos_can_do,
);

/// Without embeddings (the real server refuses vector and hybrid; local-everos in its
/// strict mode too): the proxy picks keyword and recall still works.
mod without_embeddings {
    #[tokio::test]
    async fn local() {
        // local-everos has no embeddings in these tests and refuses vector/hybrid.
        let b = super::Backend::local(false).await;
        super::cases::recall_without_embeddings(&b).await;
    }

    #[tokio::test]
    #[ignore = "needs the real EverOS without embeddings: scripts/test runs it with --ignored"]
    async fn real() {
        super::cases::recall_without_embeddings(&super::Backend::real_without_embeddings()).await;
    }
}
