//! Web origins: parsing the host page's origin the loader puts in the frame URL
//! (`?host=<origin>`), checking that a string is a bare `http(s)` origin, and
//! checking the host against the allow-list the proxy wrote into the frame page.
//! Pure functions with native tests; thin browser accessors.

use thiserror::Error;

/// Why a string is not a usable origin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginError {
    /// The frame URL carries no `host` parameter.
    #[error("the frame URL has no host origin")]
    Missing,
    /// The value is not `http(s)://host[:port]`.
    #[error("not an http(s) origin: {0}")]
    Invalid(String),
}

/// Checks `s` is exactly `http://host[:port]` or `https://host[:port]` (no path,
/// query, fragment, credentials or whitespace) and returns it lower-cased.
pub fn parse_origin(s: &str) -> Result<String, OriginError> {
    let invalid = || OriginError::Invalid(s.chars().take(80).collect());
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let bad = |c: char| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace();
    if rest.is_empty() || rest.contains(bad) || rest.starts_with(':') || rest.ends_with(':') {
        return Err(invalid());
    }
    Ok(s.to_ascii_lowercase())
}

/// Decodes `%XX` escapes and `+` in one query-string value; `None` when malformed.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Finds the `host` parameter in a `?a=b&host=…` query string and validates it.
pub fn host_origin_from_query(query: &str) -> Result<String, OriginError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let raw = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "host")
        .map(|(_, v)| v)
        .ok_or(OriginError::Missing)?;
    let decoded = percent_decode(raw).ok_or_else(|| OriginError::Invalid(raw.into()))?;
    parse_origin(&decoded)
}

/// The host origin of the running frame, read from `window.location.search`.
pub fn host_origin_from_location() -> Result<String, OriginError> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    host_origin_from_query(&search)
}

/// Whether `host` (lower-cased, from [`parse_origin`]) may use the frame, by the
/// allow-list the proxy wrote into the page: `None` (no list in the page, e.g. under
/// `trunk serve`) or `*` allows any host; otherwise the space-separated origins.
pub fn host_allowed(host: &str, list: Option<&str>) -> bool {
    match list.map(str::trim) {
        None | Some("*") => true,
        Some(list) => list
            .split_ascii_whitespace()
            .any(|allowed| allowed.eq_ignore_ascii_case(host)),
    }
}

/// The allow-list in the frame page's `<meta name="everdesk-hosts" content="…">`.
pub fn allowed_hosts_from_page() -> Option<String> {
    web_sys::window()?
        .document()?
        .query_selector("meta[name=everdesk-hosts]")
        .ok()??
        .get_attribute("content")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_origins_are_accepted_and_lowercased() {
        assert_eq!(
            parse_origin("https://Shop.Example.com").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8787").unwrap(),
            "http://127.0.0.1:8787"
        );
    }

    #[test]
    fn anything_but_a_bare_http_origin_is_refused() {
        for bad in [
            "",
            "*",
            "null",
            "javascript:alert(1)",
            "ftp://x.com",
            "https://",
            "https://x.com/",
            "https://x.com/path",
            "https://x.com?q",
            "https://x.com#f",
            "https://user@x.com",
            "https://x .com",
            "https://x.com:",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn host_param_is_found_and_decoded() {
        assert_eq!(
            host_origin_from_query("?v=1&host=http%3A%2F%2F127.0.0.1%3A8787").unwrap(),
            "http://127.0.0.1:8787"
        );
        assert_eq!(host_origin_from_query("?v=1"), Err(OriginError::Missing));
        assert!(matches!(
            host_origin_from_query("?host=http%3A%2F%2Fa.com%2Fx"),
            Err(OriginError::Invalid(_))
        ));
        assert!(matches!(
            host_origin_from_query("?host=%ZZ"),
            Err(OriginError::Invalid(_))
        ));
    }

    #[test]
    fn only_listed_hosts_are_allowed_when_the_page_has_a_list() {
        let list = Some("https://shop.example.com http://127.0.0.1:8787");
        assert!(host_allowed("https://shop.example.com", list));
        assert!(host_allowed("http://127.0.0.1:8787", list));
        assert!(!host_allowed("https://evil.example", list));
        assert!(!host_allowed("https://shop.example.com.evil.example", list));
        assert!(!host_allowed("http://127.0.0.1:8788", list));
        assert!(!host_allowed("https://shop.example.com", Some("")));
        // No list in the page, or the placeholder: any host (the proxy warns at start).
        assert!(host_allowed("https://evil.example", None));
        assert!(host_allowed("https://evil.example", Some("*")));
        assert!(host_allowed(
            "https://shop.example.com",
            Some("HTTPS://Shop.Example.com")
        ));
    }
}
