//! The router: operational routes and the v1 API, with the per-IP rate limit on the API
//! (which also tells handlers the client's key, [`ClientKey`]).

mod agent;
mod conversations;
mod live;
mod memory;
mod messages;
mod ops;
mod session;
mod tickets;

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{delete, get, post},
    Router,
};
use everdesk_api::routes;

use crate::{client_ip, error::ProxyError, AppState};

/// All routes, with state applied.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(routes::SESSION, post(session::open))
        .route(
            routes::SESSION_COOKIE,
            post(session::open_with_cookie).delete(session::clear_cookie),
        )
        .route(
            routes::TICKETS,
            post(tickets::create).get(conversations::list),
        )
        .route(
            "/v1/tickets/{ticket_id}/transcript",
            get(conversations::transcript),
        )
        .route(routes::EVENTS, get(live::customer_events))
        .route(routes::AGENT_SESSION, post(agent::session))
        .route(routes::AGENT_QUEUE, get(agent::queue))
        .route(routes::AGENT_EVENTS, get(live::agent_events))
        .route("/v1/agent/tickets/{session_id}", get(agent::ticket))
        .route("/v1/agent/tickets/{session_id}/claim", post(agent::claim))
        .route(
            "/v1/agent/tickets/{session_id}/messages",
            post(agent::reply),
        )
        .route("/v1/agent/tickets/{session_id}/close", post(agent::close))
        .route("/v1/agent/tickets/{session_id}/typing", post(agent::typing))
        .route("/v1/tickets/{ticket_id}/messages", post(messages::send))
        .route("/v1/tickets/{ticket_id}/close", post(tickets::close))
        .route("/v1/tickets/{ticket_id}/escalate", post(tickets::escalate))
        .route(routes::HISTORY, get(memory::history))
        .route(routes::PROFILE, get(memory::profile))
        .route(routes::ME, delete(memory::forget))
        .route_layer(middleware::from_fn_with_state(state.clone(), ip_limit));
    Router::new()
        .route(routes::HEALTHZ, get(ops::healthz))
        .route(routes::READYZ, get(ops::readyz))
        .route(routes::METRICS, get(ops::metrics))
        .merge(api)
        .with_state(state)
}

/// The client a request counts against for per-IP limits (its address, or its /64).
#[derive(Debug, Clone)]
pub struct ClientKey(pub String);

/// Per-client token bucket: the TCP peer, or the client a trusted reverse proxy names
/// (`--trusted-proxies`, see `client_ip`); IPv6 clients by their /64.
/// The key is left in the request's extensions as [`ClientKey`].
async fn ip_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let key = match peer {
        Some(peer) => {
            // Every X-Forwarded-For line, in order (proxies may add their own line
            // rather than extend the client's).
            let forwarded: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let forwarded = (!forwarded.is_empty()).then(|| forwarded.join(","));
            client_ip::rate_key(peer, forwarded.as_deref(), &state.svc.trusted_proxies)
        }
        None => "unknown".to_owned(),
    };
    match state.svc.ip_limit.check(&key).await {
        Ok(()) => {
            req.extensions_mut().insert(ClientKey(key));
            next.run(req).await
        }
        Err(secs) => ProxyError::RateLimited(secs).into_response(),
    }
}
