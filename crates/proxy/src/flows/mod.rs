//! The EverOS flows behind the routes, independent of HTTP framing: ticket create,
//! message (with the idempotency ledger), close, escalate, and context gathering.

pub mod agent;
pub mod conversation;
pub mod message;
pub mod ticket;

use everdesk_api::Context;

use crate::{identity::SessionCustomer, AppState};

/// Profile and episodic context for `query`, both filtered to this customer, with the
/// customer's just-closed tickets that EverOS's index does not show yet (`recent`). A
/// failed search degrades to an empty list (logged and counted) so a reply can still be
/// given.
pub async fn gather_context(
    state: &AppState,
    who: &SessionCustomer,
    query: &str,
    top_k: u32,
) -> Context {
    let everos = &state.svc.everos;
    let (profile, history) = everos.context(&who.id, query, top_k).await;
    let mut history = history.unwrap_or_default();
    state.svc.recent.merge(
        &who.id,
        Some(query),
        &mut history,
        usize::try_from(top_k).unwrap_or(usize::MAX),
        crate::clock::now_ms(),
    );
    Context {
        profile: profile.unwrap_or_default(),
        history,
    }
}
