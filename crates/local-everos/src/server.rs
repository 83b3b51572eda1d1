//! The router (v1 and v2 routes + auth + test controls + error rendering and request ids)
//! and the background server.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
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
use crate::{auth, routes, v2};

/// Builds the full router for `state` (use with `oneshot` in tests or serve it yourself).
pub fn app(state: AppState) -> Router {
    let api = routes::router()
        .merge(v2::router(state.config().delete_enabled))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_bearer,
        ));
    let mut router = Router::new().merge(api).merge(v2::public_router());
    if state.config().test_controls {
        router = router.merge(controls::routes::router());
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            controls::middleware::observe,
        ))
        .layer(middleware::from_fn(render_errors))
        .with_state(state)
}

/// Unknown routes: FastAPI's plain `{"detail": "Not Found"}` on the v2 surface, the
/// engine-shaped 404 elsewhere.
async fn not_found(uri: Uri) -> Response {
    if v2::is_v2_path(uri.path()) {
        return v2::not_found();
    }
    ApiError::not_found("Not Found").into_response()
}

/// Wrong methods: FastAPI's plain 405 on the v2 surface; the Cloud v1 paths answer 404.
async fn method_not_allowed(uri: Uri) -> Response {
    let path = uri.path();
    if v2::is_v2_path(path) {
        let get = path == "/health" || path.starts_with("/api/v2/tasks/");
        return v2::method_not_allowed(&[if get { Method::GET } else { Method::POST }]);
    }
    ApiError::not_found("Not Found").into_response()
}

/// Gives every v2 request its request id (a handler reads it as [`v2::RequestId`]; it is
/// echoed in `X-Request-Id`) and turns an [`ApiError`] extension into the error body,
/// which needs the path: the v2 shape on the v2 surface, the Cloud v1 engine shape
/// elsewhere. Errors axum answers itself (the body limit's plain-text 413 from the `Bytes`
/// extractor) get the same JSON shapes.
async fn render_errors(mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let v2_surface = v2::is_v2_path(&path);
    let rid = request_id();
    if v2_surface {
        req.extensions_mut().insert(v2::RequestId(rid.clone()));
    }
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
        let timestamp = iso_micros(now_ms());
        let body = if v2_surface {
            json!({"request_id": rid, "error": {
                "code": err.v2_error_code(), "message": err.message,
                "timestamp": timestamp, "path": path,
            }})
        } else {
            json!({
                "code": err.code, "message": err.message, "request_id": rid,
                "timestamp": timestamp, "path": path,
            })
        };
        *res.body_mut() = Body::from(body.to_string());
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res.headers_mut().remove(CONTENT_LENGTH);
    }
    if v2_surface {
        if let Ok(v) = HeaderValue::from_str(&rid) {
            res.headers_mut().insert("x-request-id", v);
        }
    }
    res
}

/// A server running in the background of this process; dropping it stops the server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    embeddings: bool,
    router: Router,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the embedding model loaded (vector and hybrid search rank by meaning).
    pub fn embeddings_enabled(&self) -> bool {
        self.embeddings
    }

    /// The routes this server serves, over the same state and store, to call in-process
    /// (a `tower` service) without going through the HTTP port.
    pub fn router(&self) -> Router {
        self.router.clone()
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
    let embeddings = state.embeddings_enabled();
    let router = app(state);
    let served = router.clone();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, served).with_graceful_shutdown(async move {
            // A send or a dropped `Running` both end the server.
            let _ = stopped.await;
        });
        if let Err(err) = serve.await {
            tracing::error!(%err, "server failed");
        }
    });
    Ok(Running {
        addr,
        embeddings,
        router,
        stop,
        task,
    })
}
