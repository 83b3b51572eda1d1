//! Who may embed the widget: the frame page (`/widget/`) is served with
//! `Content-Security-Policy: frame-ancestors <allowed hosts>`, and the same list is
//! written into the page's `<meta name="everdesk-hosts">`, so the frame itself refuses
//! a `?host=` outside it without asking the API. No list: any site may embed.

use std::{path::PathBuf, sync::Arc};

use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};

use crate::error::ProxyError;

/// The paths of the frame page (the loader opens `/widget/?host=…`).
const PATHS: [&str; 2] = ["/widget/", "/widget/index.html"];
/// The meta's name; its content is `*` (any host) or the allowed origins, space-separated.
const META_NAME: &str = "everdesk-hosts";

/// Whether `s` is a bare `http(s)://host[:port]` origin, with nothing in it that
/// could break out of a header or an HTML attribute.
pub fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (host_ok, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) => (
                !addr.is_empty()
                    && addr
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
                port,
            ),
            None => return false,
        },
        None => {
            let (host, port) = rest.find(':').map_or((rest, ""), |i| rest.split_at(i));
            (
                !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
                port,
            )
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// The frame page of `widget_dir`, served with the embedding policy for `hosts`.
#[derive(Debug)]
struct FramePage {
    file: PathBuf,
    /// `frame-ancestors …`; `None` when any site may embed.
    policy: Option<HeaderValue>,
    /// The meta tag written into the page.
    meta: String,
}

/// Routes for the frame page of `widget_dir`, allowing `hosts` (origins checked by
/// [`is_origin`]; empty: any site) to embed it.
pub fn router(widget_dir: &std::path::Path, hosts: &[String]) -> Router {
    let hosts: Vec<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
    let policy = (!hosts.is_empty())
        .then(|| HeaderValue::from_str(&format!("frame-ancestors {}", hosts.join(" "))).ok())
        .flatten();
    let content = if hosts.is_empty() {
        "*".to_owned()
    } else {
        hosts.join(" ")
    };
    let page = Arc::new(FramePage {
        file: widget_dir.join("widget").join("index.html"),
        policy,
        meta: format!(r#"<meta name="{META_NAME}" content="{content}">"#),
    });
    PATHS
        .iter()
        .fold(Router::new(), |r, path| r.route(path, get(serve)))
        .with_state(page)
}

/// Replaces the page's `everdesk-hosts` meta tag (however the build spelled it) with
/// `meta`; `None` when the page has none.
fn rewrite(html: &str, meta: &str) -> Option<String> {
    let at = html.find(META_NAME)?;
    let start = html[..at].rfind("<meta")?;
    let end = at + html[at..].find('>')? + 1;
    Some(format!("{}{meta}{}", &html[..start], &html[end..]))
}

/// The page, read afresh (a redeploy of the widget dir is served at once) and never
/// from its precompressed copy, which still has the placeholder.
async fn serve(State(page): State<Arc<FramePage>>) -> Result<Response, ProxyError> {
    let html = match tokio::fs::read_to_string(&page.file).await {
        Ok(html) => html,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ProxyError::NotFound),
        Err(e) => {
            tracing::error!(error = %e, file = %page.file.display(), "frame page unreadable");
            return Err(ProxyError::Internal);
        }
    };
    let html = rewrite(&html, &page.meta).unwrap_or_else(|| {
        if page.policy.is_some() {
            tracing::warn!(
                file = %page.file.display(),
                "the frame page has no everdesk-hosts meta: the frame cannot check ?host= itself \
                 (frame-ancestors still applies); rebuild the widget"
            );
        }
        html
    });
    let mut resp = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    if let Some(policy) = &page.policy {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bare_http_origins_are_accepted() {
        for ok in [
            "https://shop.example.com",
            "http://127.0.0.1:8787",
            "http://localhost:8080",
            "https://[::1]:8443",
            "https://[2001:db8::1]",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "",
            "*",
            "shop.example.com",
            "ftp://x.com",
            "https://",
            "https://x.com/",
            "https://x.com/path",
            "https://x.com:",
            "https://x.com:99999x",
            "https://x.com;script-src *",
            "https://x.com\" onload=\"",
            "https://x.com,https://y.com",
            "https://x .com",
            "https://::1",
            "https://user@x.com",
        ] {
            assert!(!is_origin(bad), "{bad:?} must be refused");
        }
    }

    #[test]
    fn the_meta_tag_is_replaced_whatever_its_spelling() {
        let meta = r#"<meta name="everdesk-hosts" content="https://a.com">"#;
        for page in [
            r#"<head><meta charset="utf-8" /><meta name="everdesk-hosts" content="*" /><title>t</title>"#,
            r#"<head><meta charset=utf-8><meta name=everdesk-hosts content=*><title>t</title>"#,
            r#"<head><meta charset=utf-8><meta content=* name=everdesk-hosts><title>t</title>"#,
        ] {
            let out = rewrite(page, meta).unwrap();
            assert!(out.contains(meta), "{out}");
            assert!(
                out.contains("<title>t</title>") && out.contains("charset"),
                "{out}"
            );
            assert_eq!(out.matches("everdesk-hosts").count(), 1, "{out}");
        }
        assert_eq!(rewrite("<head><title>t</title>", meta), None);
    }
}
