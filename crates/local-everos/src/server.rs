//! The router (routes + auth + test controls + error rendering) and the background server.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::clock::{iso_micros, now_ms};
use crate::config::Config;
use crate::controls::{self, middleware::BODY_LIMIT};
use crate::error::{ApiError, Error};
use crate::ids::request_id;
use crate::state::AppState;
use crate::{auth, routes};

/// Builds the full router for `state` (use with `oneshot` in tests or serve it yourself).
pub fn app(state: AppState) -> Router {
    let api = routes::router().route_layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_bearer,
    ));
    let mut router = Router::new().merge(api);
    if state.config().test_controls {
        router = router.merge(controls::routes::router());
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            controls::middleware::observe,
        ))
        .layer(middleware::from_fn(render_errors))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("Not Found")
}

/// Turns an [`ApiError`] extension into the engine's error body, which needs the path.
/// Errors axum answers itself (the body limit's plain-text 413 from the `Bytes`
/// extractor) get the same JSON shape.
async fn render_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let status = res.status();
    let err = match res.extensions_mut().remove::<ApiError>() {
        Some(err) => Some(err),
        None if status == StatusCode::PAYLOAD_TOO_LARGE => Some(ApiError::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
        )),
        None => None,
    };
    if let Some(err) = err {
        let body = json!({
            "code": err.code, "message": err.message, "request_id": request_id(),
            "timestamp": iso_micros(now_ms()), "path": path,
        });
        *res.body_mut() = Body::from(body.to_string());
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    res
}

/// A server running in the background of this process; dropping it stops the server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish and waits for the server to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(err) = self.task.await {
            tracing::warn!(%err, "server task ended abnormally");
        }
    }
}

/// Opens storage, binds `config.listen` and serves in a background task.
pub async fn spawn(config: Config) -> Result<Running, Error> {
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    // Opening storage and loading the embedding model block: off the async workers.
    let state = tokio::task::spawn_blocking(move || AppState::new(config))
        .await
        .map_err(|e| Error::Join(e.to_string()))??;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app(state);
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            // A send or a dropped `Running` both end the server.
            let _ = stopped.await;
        });
        if let Err(err) = serve.await {
            tracing::error!(%err, "server failed");
        }
    });
    Ok(Running { addr, stop, task })
}
