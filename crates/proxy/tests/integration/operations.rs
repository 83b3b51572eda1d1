//! Operational surface through the real router: liveness, the error body shape,
//! request ids, and serving the built widget.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use everdesk_api::{ErrorBody, ErrorCode};
use everdesk_proxy::{app, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn send(config: Config, req: Request<Body>) -> axum::response::Response {
    app(crate::common::state(config).await)
        .oneshot(req)
        .await
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

async fn body_bytes(resp: axum::response::Response) -> Vec<u8> {
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let resp = send(Config::for_tests(), get("/healthz")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "generated ids are uuid simple form: {id}");
    assert_eq!(body_bytes(resp).await, b"ok");
}

#[tokio::test]
async fn unknown_route_is_a_typed_404_with_the_same_request_id() {
    let req = Request::get("/v1/nope")
        .header("x-request-id", "trace-123")
        .body(Body::empty())
        .unwrap();
    let resp = send(Config::for_tests(), req).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["x-request-id"], "trace-123");
    let body: ErrorBody = serde_json::from_slice(&body_bytes(resp).await).unwrap();
    assert_eq!(body.error.code, ErrorCode::NotFound);
    assert_eq!(body.error.request_id, "trace-123");
}

#[tokio::test]
async fn a_hostile_request_id_is_replaced() {
    let req = Request::get("/nope")
        .header("x-request-id", "<script>")
        .body(Body::empty())
        .unwrap();
    let resp = send(Config::for_tests(), req).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, "<script>");
    let body: ErrorBody = serde_json::from_slice(&body_bytes(resp).await).unwrap();
    assert_eq!(body.error.request_id, id);
}

#[tokio::test]
async fn widget_dir_is_served_with_wasm_type_and_cache_policy() {
    let dir = std::env::temp_dir().join(format!("everdesk-static-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("everdesk-0123456789abcdef_bg.wasm"), b"\0asm").unwrap();
    std::fs::write(dir.join("loader.js"), b"/*loader*/").unwrap();
    let mut config = Config::for_tests();
    config.widget_dir = Some(dir.clone());

    let resp = send(config.clone(), get("/everdesk-0123456789abcdef_bg.wasm")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/wasm");
    assert!(resp.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));

    let resp = send(config.clone(), get("/loader.js")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "public, max-age=300");
    assert_eq!(body_bytes(resp).await, b"/*loader*/");

    let resp = send(config, get("/missing.js")).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Asserts `resp` is the spec's JSON error with this status and code, and returns it.
async fn typed_error(resp: axum::response::Response, status: u16, code: ErrorCode) -> ErrorBody {
    assert_eq!(resp.status().as_u16(), status);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        resp.headers()
    );
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let bytes = body_bytes(resp).await;
    let body: ErrorBody = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(body.error.code, code);
    assert_eq!(body.error.request_id, id);
    body
}

#[tokio::test]
async fn readyz_down_is_a_typed_503() {
    // `for_tests` points EverOS at an unreachable port.
    let resp = send(Config::for_tests(), get("/readyz")).await;
    typed_error(resp, 503, ErrorCode::UpstreamUnavailable).await;
}

#[tokio::test]
async fn every_error_from_the_widget_files_is_typed() {
    let dir = std::env::temp_dir().join(format!("everdesk-static-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("loader.js"), b"/*loader*/").unwrap();
    let mut config = Config::for_tests();
    config.widget_dir = Some(dir.clone());

    // Any method but GET/HEAD on a path that is not a route: the same 404 as without a
    // widget dir, and as an API route called with the wrong method.
    for (method, uri) in [
        ("POST", "/nope"),
        ("POST", "/loader.js"),
        ("DELETE", "/"),
        ("FOO1", "/nope"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let resp = send(config.clone(), req).await;
        typed_error(resp, 404, ErrorCode::NotFound).await;
    }
    let req = Request::put("/v1/session").body(Body::empty()).unwrap();
    typed_error(send(config.clone(), req).await, 404, ErrorCode::NotFound).await;

    // A range past the end of a file.
    let req = Request::get("/loader.js")
        .header(header::RANGE, "bytes=1000-2000")
        .body(Body::empty())
        .unwrap();
    let resp = send(config, req).await;
    assert!(resp.headers().contains_key(header::CONTENT_RANGE));
    typed_error(resp, 416, ErrorCode::InvalidRequest).await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn api_routes_answer_every_rejection_in_the_error_shape() {
    let router = app(crate::common::state(Config::for_tests()).await);
    let call = |req: Request<Body>| router.clone().oneshot(req);
    // Wrong method on an API and an operational route.
    for req in [
        Request::get("/v1/session").body(Body::empty()).unwrap(),
        Request::post("/healthz").body(Body::empty()).unwrap(),
        Request::builder()
            .method("FOO1")
            .uri("/v1/me")
            .body(Body::empty())
            .unwrap(),
    ] {
        typed_error(call(req).await.unwrap(), 404, ErrorCode::NotFound).await;
    }
    // Malformed JSON, or JSON that is not an object; an oversize body.
    let session = |body: Body| {
        Request::post("/v1/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap()
    };
    for body in ["{nope", "[1,2]", "\"x\"", "{\"visitor_token\":\"v\"} x"] {
        let resp = call(session(Body::from(body))).await.unwrap();
        typed_error(resp, 400, ErrorCode::InvalidRequest).await;
    }
    let resp = call(session(Body::from(vec![b' '; 70 * 1024])))
        .await
        .unwrap();
    typed_error(resp, 413, ErrorCode::PayloadTooLarge).await;
    // No token, then a bad path segment and a bad query string with a valid one.
    let close = |token: Option<&str>| {
        let mut req = Request::post("/v1/tickets/%FF/close");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req.body(Body::empty()).unwrap()
    };
    typed_error(
        call(close(None)).await.unwrap(),
        401,
        ErrorCode::Unauthorized,
    )
    .await;
    let resp = call(session(Body::from("{}"))).await.unwrap();
    let session: everdesk_api::SessionResponse =
        serde_json::from_slice(&body_bytes(resp).await).unwrap();
    let token = session.token.as_str();
    let resp = call(close(Some(token))).await.unwrap();
    typed_error(resp, 400, ErrorCode::InvalidRequest).await;
    let req = Request::get("/v1/history?limit=lots")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    typed_error(call(req).await.unwrap(), 400, ErrorCode::InvalidRequest).await;
}

#[tokio::test]
async fn a_handler_that_panics_answers_a_typed_500() {
    // A route that panics, wrapped in exactly the layers the proxy serves with.
    let boom = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            if true {
                panic!("bug in a handler");
            }
            "unreachable"
        }),
    );
    let state = crate::common::state(Config::for_tests()).await;
    let app = everdesk_proxy::with_layers(boom, &state);
    let resp = app.oneshot(get("/boom")).await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: ErrorBody = serde_json::from_slice(&body_bytes(resp).await).unwrap();
    assert_eq!(body.error.code, ErrorCode::Internal);
    assert_eq!(body.error.request_id, id, "the request id of the response");
    assert!(
        !body.error.message.contains("bug in a handler"),
        "no internals leak"
    );
}
