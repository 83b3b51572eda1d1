//! Operational surface through the real router: liveness, the error body shape,
//! request ids, and serving the built widget.

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use everdesk_api::{ErrorBody, ErrorCode};
use everdesk_proxy::{app, AppState, Config};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn send(config: Config, req: Request<Body>) -> axum::response::Response {
    app(AppState::new(config)).oneshot(req).await.unwrap()
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
