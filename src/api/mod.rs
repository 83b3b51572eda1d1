//! The ONLY code that talks HTTP to the proxy. Each endpoint of the proxy API is a
//! pure constructor of an [`Endpoint`] (method, path, JSON body); [`ApiClient::call`]
//! sends any of them and returns the body text, which [`decode`] turns into the
//! wire type. One non-generic send path keeps the wasm small. No component builds
//! a URL or calls fetch.

pub mod error;
mod http;

use everdesk_api::json::{self, FromJson, ToJson};
use everdesk_api::{
    routes, CloseRequest, CreateTicketRequest, EscalateRequest, SendMessageRequest, SessionRequest,
};

pub use error::ApiError;
pub use http::{open_stream, ByteStream, Method};

/// `base` + `path`, with exactly one slash between them.
pub fn url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters kept).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The `/v1/history` path for an optional query and limit.
pub fn history_path(query: Option<&str>, limit: Option<u32>) -> String {
    let mut params = Vec::new();
    if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
        params.push(format!("query={}", encode_query_value(q)));
    }
    if let Some(limit) = limit {
        params.push(format!("limit={limit}"));
    }
    let mut out = routes::HISTORY.to_owned();
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// Decodes a response body into its wire type.
pub fn decode<T: FromJson>(text: &str) -> Result<T, ApiError> {
    json::from_str(text).map_err(|e| ApiError::Decode(e.0))
}

/// One request to the proxy: method, path relative to the base URL, JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path (and query) relative to the proxy base URL.
    pub path: String,
    /// JSON body.
    pub body: Option<String>,
}

impl Endpoint {
    fn post(path: String, body: &dyn ToJson) -> Self {
        Self {
            method: Method::Post,
            path,
            body: Some(json::to_string(body)),
        }
    }

    fn get(path: String) -> Self {
        Self {
            method: Method::Get,
            path,
            body: None,
        }
    }

    /// `POST /v1/session`: exchange an identity proof for a session token.
    pub fn session(req: &SessionRequest) -> Self {
        Self::post(routes::SESSION.into(), req)
    }

    /// `POST /v1/session/cookie`: a visitor session, the visitor kept in the proxy's
    /// `HttpOnly` cookie on our origin (for a frame without storage of its own);
    /// `fresh` starts a new visitor.
    pub fn cookie_session(fresh: bool) -> Self {
        Self {
            method: Method::Post,
            path: routes::SESSION_COOKIE.into(),
            body: Some(if fresh { r#"{"fresh":true}"# } else { "{}" }.into()),
        }
    }

    /// `DELETE /v1/session/cookie`: forget the visitor cookie.
    pub fn forget_cookie() -> Self {
        Self {
            method: Method::Delete,
            path: routes::SESSION_COOKIE.into(),
            body: None,
        }
    }

    /// `POST /v1/tickets`: create the ticket (idempotent on its id).
    pub fn create_ticket(req: &CreateTicketRequest) -> Self {
        Self::post(routes::TICKETS.into(), req)
    }

    /// `POST /v1/tickets/{id}/messages`: send a message (idempotent on its id).
    pub fn send_message(ticket_id: &str, req: &SendMessageRequest) -> Self {
        Self::post(routes::messages(ticket_id), req)
    }

    /// `POST /v1/tickets/{id}/close`.
    pub fn close(ticket_id: &str, req: &CloseRequest) -> Self {
        Self::post(routes::close(ticket_id), req)
    }

    /// `POST /v1/tickets/{id}/escalate`.
    pub fn escalate(ticket_id: &str, req: &EscalateRequest) -> Self {
        Self::post(routes::escalate(ticket_id), req)
    }

    /// `GET /v1/history`: recalled past tickets of this customer.
    pub fn history(query: Option<&str>, limit: Option<u32>) -> Self {
        Self::get(history_path(query, limit))
    }

    /// `GET /v1/profile`: what is remembered about the customer.
    pub fn profile() -> Self {
        Self::get(routes::PROFILE.into())
    }

    /// `GET /v1/tickets`: the signed-in customer's tickets on the server.
    pub fn tickets() -> Self {
        Self::get(routes::TICKETS.into())
    }

    /// `GET /v1/tickets/{id}/transcript`: the newest page, or the page before `before`.
    pub fn transcript(ticket_id: &str, before: Option<i64>) -> Self {
        let mut path = routes::transcript(ticket_id);
        if let Some(before) = before {
            path.push_str("?before=");
            path.push_str(&before.to_string());
        }
        Self::get(path)
    }

    /// `DELETE /v1/me`: forget this customer.
    pub fn forget_me() -> Self {
        Self {
            method: Method::Delete,
            path: routes::ME.into(),
            body: None,
        }
    }
}

/// A client bound to one proxy base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    base: String,
}

impl ApiClient {
    /// A client for the proxy at `base` (e.g. `https://desk.example.com`).
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into() }
    }

    /// The full URL of `path` on this proxy.
    pub fn url(&self, path: &str) -> String {
        url(&self.base, path)
    }

    /// Sends `endpoint` (with the session token, if any) and returns the body text.
    pub async fn call(&self, token: Option<&str>, endpoint: &Endpoint) -> Result<String, ApiError> {
        let u = url(&self.base, &endpoint.path);
        http::send(endpoint.method, &u, token, endpoint.body.as_deref()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(url("https://a.com/", "/v1/me"), "https://a.com/v1/me");
        assert_eq!(
            url("https://a.com/support", "v1/me"),
            "https://a.com/support/v1/me"
        );
    }

    #[test]
    fn history_query_is_encoded() {
        assert_eq!(
            history_path(Some(" refund & charge "), Some(5)),
            "/v1/history?query=refund%20%26%20charge&limit=5"
        );
        assert_eq!(history_path(Some("  "), None), "/v1/history");
        assert_eq!(encode_query_value("é/?#"), "%C3%A9%2F%3F%23");
    }

    #[test]
    fn endpoints_carry_method_path_and_json_body() {
        let ep = Endpoint::send_message(
            "t1",
            &SendMessageRequest {
                id: "m".into(),
                content: "hi".into(),
                sent_at: 5,
            },
        );
        assert_eq!(ep.method, Method::Post);
        assert_eq!(ep.path, "/v1/tickets/t1/messages");
        assert_eq!(
            ep.body.as_deref(),
            Some(r#"{"id":"m","content":"hi","sent_at":5}"#)
        );
        assert_eq!(Endpoint::forget_me().method, Method::Delete);
        assert_eq!(
            Endpoint::transcript("t1", Some(9)).path,
            "/v1/tickets/t1/transcript?before=9"
        );
        assert_eq!(Endpoint::tickets().method, Method::Get);
        assert_eq!(Endpoint::profile().body, None);
    }

    #[test]
    fn decode_reports_unexpected_bodies() {
        assert!(matches!(
            decode::<everdesk_api::ProfileResponse>("<html>"),
            Err(ApiError::Decode(_))
        ));
    }
}
