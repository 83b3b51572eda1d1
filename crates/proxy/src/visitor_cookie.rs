//! The visitor cookie: where a widget frame whose own storage is blocked keeps its
//! visitor, instead of handing a bearer token to the host page's storage. An
//! `HttpOnly` cookie on the widget's origin (host-page scripts cannot read it), partitioned
//! by the embedding site (CHIPS: `SameSite=None; Secure; Partitioned`, so browsers that
//! block third-party cookies still keep it, one jar per host site). Honoured only on
//! same-origin requests ([`same_origin`]), never logged.
//!
//! No `Path` attribute: the cookie's path is the directory of the route that sets it,
//! `{base}/v1/session`, whatever prefix a reverse proxy mounts the API under; only the
//! routes there receive it.

use axum::http::{header, HeaderMap, HeaderValue};

/// The cookie's name.
pub const NAME: &str = "everdesk_visitor";
/// How long the browser keeps it after its last use, seconds (180 days; renewed on
/// every resume).
pub const MAX_AGE_SECS: u64 = 180 * 24 * 3600;

/// Whether a browser sent this request from the proxy's own origin (the widget
/// frame). `Sec-Fetch-Site`, which page scripts cannot set, decides when present;
/// without it (older browsers, plain-http origins) the `Origin` must be the request's
/// own host. A request with neither is not a browser's same-origin request.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match (origin(headers), header_str(headers, header::HOST.as_str())) {
        (Some((_, origin_host)), Some(host)) => origin_host == host,
        _ => false,
    }
}

/// The visitor token in the request's cookie, if any (the last one, should the
/// browser send several).
pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned())
        .next_back()
}

/// The `Set-Cookie` value that stores `token`.
pub fn set(headers: &HeaderMap, token: &str) -> Option<HeaderValue> {
    build(headers, token, MAX_AGE_SECS)
}

/// The `Set-Cookie` value that removes the cookie (same attributes, so it reaches the
/// same partitioned cookie).
pub fn clear(headers: &HeaderMap) -> Option<HeaderValue> {
    build(headers, "", 0)
}

fn build(headers: &HeaderMap, value: &str, max_age: u64) -> Option<HeaderValue> {
    // Cross-site frames need `SameSite=None`, which browsers accept only with `Secure`
    // (and `Partitioned` needs `Secure` too). Without a secure origin the cookie can
    // serve only a same-site frame.
    let attrs = if secure_origin(headers) {
        "HttpOnly; Secure; SameSite=None; Partitioned"
    } else {
        "HttpOnly; SameSite=Lax"
    };
    HeaderValue::from_str(&format!("{NAME}={value}; Max-Age={max_age}; {attrs}")).ok()
}

/// Whether the frame's origin is secure: `https`, or a loopback host (browsers treat
/// `http://localhost` as secure and accept `Secure` cookies from it). A TLS-terminating
/// reverse proxy's `X-Forwarded-Proto: https` counts too.
fn secure_origin(headers: &HeaderMap) -> bool {
    if header_str(headers, "x-forwarded-proto").is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        return true;
    }
    match origin(headers) {
        Some(("https", _)) => true,
        Some(("http", host)) => {
            let name = host.rsplit_once(':').map_or(host, |(name, port)| {
                if port.bytes().all(|b| b.is_ascii_digit()) {
                    name
                } else {
                    host
                }
            });
            name == "localhost"
                || name.ends_with(".localhost")
                || name == "[::1]"
                || name.starts_with("127.")
        }
        _ => false,
    }
}

/// The request's `Origin` as `(scheme, host[:port])`, for `http`/`https` only.
fn origin(headers: &HeaderMap) -> Option<(&str, &str)> {
    let (scheme, rest) = header_str(headers, header::ORIGIN.as_str())?.split_once("://")?;
    (scheme == "http" || scheme == "https").then_some((scheme, rest))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_trusts_fetch_metadata_then_origin() {
        let own = [
            ("host", "desk.example.com"),
            ("origin", "https://desk.example.com"),
        ];
        assert!(same_origin(&headers(&own)));
        let with_site = |site| {
            headers(&[
                ("host", "desk.example.com"),
                ("origin", "https://desk.example.com"),
                ("sec-fetch-site", site),
            ])
        };
        assert!(same_origin(&with_site("same-origin")));
        for site in ["same-site", "cross-site", "none"] {
            assert!(!same_origin(&with_site(site)), "{site}");
        }
        let foreign = [
            ("host", "desk.example.com"),
            ("origin", "https://shop.example"),
        ];
        assert!(!same_origin(&headers(&foreign)));
        let lookalike = [
            ("host", "desk.example.com"),
            ("origin", "https://desk.example.com.evil.io"),
        ];
        assert!(!same_origin(&headers(&lookalike)));
        assert!(!same_origin(&headers(&[("host", "desk.example.com")])));
        assert!(!same_origin(&headers(&[("origin", "null"), ("host", "x")])));
    }

    #[test]
    fn reads_its_own_cookie_among_others() {
        let h = headers(&[("cookie", "a=1; everdesk_visitor=tok.sig; b=2")]);
        assert_eq!(read(&h).as_deref(), Some("tok.sig"));
        assert_eq!(read(&headers(&[("cookie", "everdesk_visitor=")])), None);
        assert_eq!(read(&headers(&[("cookie", "xeverdesk_visitor=1")])), None);
        assert_eq!(read(&HeaderMap::new()), None);
    }

    #[test]
    fn attributes_follow_the_origin() {
        let secure = |origin| {
            let h = headers(&[("origin", origin)]);
            set(&h, "t").unwrap().to_str().unwrap().to_owned()
        };
        let https = secure("https://desk.example.com");
        assert_eq!(
            https,
            "everdesk_visitor=t; Max-Age=15552000; HttpOnly; Secure; SameSite=None; Partitioned"
        );
        assert!(secure("http://localhost:8787").contains("; Partitioned"));
        assert!(secure("http://127.0.0.1:8787").contains("; Secure;"));
        let plain = secure("http://desk.lan:8787");
        assert!(plain.ends_with("HttpOnly; SameSite=Lax"), "{plain}");
        assert!(!plain.contains("Secure"));
        let cleared = clear(&headers(&[("origin", "https://d.example")])).unwrap();
        assert!(cleared
            .to_str()
            .unwrap()
            .starts_with("everdesk_visitor=; Max-Age=0;"));
        assert!(
            !https.contains("Path="),
            "the path is the route's directory"
        );
    }
}
