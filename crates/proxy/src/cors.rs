//! CORS: only the configured origins, plus the proxy's own origin (same host as the
//! request's `Host`), may call the API from a browser.

use axum::http::{header, request::Parts, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Whether `origin` is allowed for a request with these `parts`.
pub fn allowed(origin: &str, allow_list: &[String], parts: &Parts) -> bool {
    if allow_list.iter().any(|o| o == origin) {
        return true;
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    match (host, origin.split_once("://")) {
        (Some(host), Some((scheme, rest))) => {
            (scheme == "http" || scheme == "https") && rest == host
        }
        _ => false,
    }
}

/// The CORS layer for an allow-list.
pub fn layer(allow_list: &[String]) -> CorsLayer {
    let list = allow_list.to_vec();
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, parts: &Parts| {
                origin.to_str().is_ok_and(|o| allowed(o, &list, parts))
            },
        ))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            crate::request_id::HEADER.clone(),
        ])
        .expose_headers([crate::request_id::HEADER.clone(), header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(host: &str) -> Parts {
        Request::get("/")
            .header("host", host)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn allow_list_and_own_origin_only() {
        let list = vec!["https://shop.example.com".to_owned()];
        let p = parts("desk.example.com");
        assert!(allowed("https://shop.example.com", &list, &p));
        assert!(allowed("https://desk.example.com", &list, &p));
        assert!(!allowed("https://evil.example.com", &list, &p));
        assert!(!allowed("https://desk.example.com.evil.io", &list, &p));
    }
}
