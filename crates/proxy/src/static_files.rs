//! Serves the built widget (`dist/`): wasm with its content type, precompressed
//! variants when present, long immutable caching for hashed files, short for the
//! loader and pages so a deploy reaches hosts quickly. The frame page itself goes
//! through [`crate::frame_page`] (who may embed it); the agent inbox gets the headers of
//! [`crate::agent_page`].

use std::path::Path;

use axum::{
    extract::Request,
    handler::HandlerWithoutStateExt,
    http::{header, HeaderValue},
    middleware::{self, Next},
    response::Response,
    Router,
};
use tower_http::services::ServeDir;

/// A router serving `dir` at `/`, the frame page allowing `hosts` to embed it; paths
/// with no file, and methods other than GET and HEAD, get the typed 404 body (as
/// unknown routes and methods do without a widget dir).
pub fn router(dir: &Path, hosts: &[String]) -> Router {
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(true)
        .call_fallback_on_method_not_allowed(true)
        .fallback(crate::not_found.into_service());
    crate::frame_page::router(dir, hosts)
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(middleware::from_fn(crate::agent_page::headers))
}

/// Whether a file name carries a content hash (Trunk names them `name-<16 hex>.ext`).
fn is_hashed(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        let hash = hash.strip_suffix("_bg").unwrap_or(hash);
        hash.len() >= 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

async fn cache_headers(req: Request, next: Next) -> Response {
    let hashed = is_hashed(req.uri().path());
    let mut resp = next.run(req).await;
    let policy = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    if resp.status().is_success() {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn trunk_hashed_names_are_recognised() {
        assert!(is_hashed("/everdesk-1a2b3c4d5e6f7a8b_bg.wasm"));
        assert!(is_hashed("/everdesk-1a2b3c4d5e6f7a8b.js"));
        assert!(!is_hashed("/loader.js"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/demo/shop-page.html"));
    }
}
