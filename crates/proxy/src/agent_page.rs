//! The agent inbox (`/agent/`, built by `scripts/build-widget` into `<widget dir>/agent`)
//! is served as static files with headers no page may weaken: it is never framed
//! (`frame-ancestors 'none'`, `X-Frame-Options: DENY`: the inbox holds an agent's
//! token), has no `<base>`, form posts or plugins, and sends no referrer. Its script,
//! style and connect rules (`script-src 'self' 'wasm-unsafe-eval'` plus Trunk's one
//! inline loader by hash, `connect-src 'self'`) are the page's own meta policy, written
//! at build time by `scripts/frame-csp.mjs`; the browser enforces both.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

/// The policy sent with everything under `/agent/`.
pub const POLICY: &str =
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

/// Whether `path` is the inbox's.
fn is_inbox(path: &str) -> bool {
    path == "/agent" || path.starts_with("/agent/")
}

/// Middleware: adds the inbox's headers to its responses.
pub async fn headers(req: Request, next: Next) -> Response {
    let inbox = is_inbox(req.uri().path());
    let mut resp = next.run(req).await;
    if inbox {
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(POLICY),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn the_inbox_is_never_framed_and_the_widget_keeps_its_own_policy() {
        let dir = tempfile::tempdir().unwrap();
        let agent = dir.path().join("agent");
        std::fs::create_dir_all(&agent).unwrap();
        std::fs::write(
            agent.join("index.html"),
            "<!doctype html><title>inbox</title>",
        )
        .unwrap();
        std::fs::write(agent.join("everdesk-agent-inbox-0123456789abcdef.js"), "//").unwrap();
        std::fs::create_dir_all(dir.path().join("widget")).unwrap();
        std::fs::write(dir.path().join("widget/index.html"), "<title>frame</title>").unwrap();
        let app = crate::static_files::router(dir.path(), &[]);
        let get = |uri: &'static str| {
            app.clone()
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        };
        for uri in ["/agent/", "/agent/everdesk-agent-inbox-0123456789abcdef.js"] {
            let resp = get(uri).await.unwrap();
            assert_eq!(resp.status(), 200, "{uri}");
            assert_eq!(resp.headers()[header::CONTENT_SECURITY_POLICY], POLICY);
            assert_eq!(resp.headers()[header::X_FRAME_OPTIONS], "DENY");
            assert_eq!(resp.headers()[header::REFERRER_POLICY], "no-referrer");
        }
        let missing = get("/agent/nothing-here").await.unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(missing.headers()[header::X_FRAME_OPTIONS], "DENY");
        let frame = get("/widget/").await.unwrap();
        assert_eq!(frame.status(), 200);
        assert!(frame.headers().get(header::X_FRAME_OPTIONS).is_none());
        assert!(frame
            .headers()
            .get(header::CONTENT_SECURITY_POLICY)
            .is_none());
        let lookalike = get("/agentx").await.unwrap();
        assert!(lookalike.headers().get(header::X_FRAME_OPTIONS).is_none());
    }
}
