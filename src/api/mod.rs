//! The ONLY code that talks HTTP to the proxy: one method per endpoint of the
//! proxy API, each returning its wire type or an [`ApiError`]. URLs are built by
//! pure functions here; no component builds a URL or calls fetch.

pub mod error;
mod http;

use everdesk_api::{
    routes, CloseRequest, CloseResponse, CreateTicketRequest, CreateTicketResponse,
    EscalateRequest, EscalateResponse, HistoryResponse, ProfileResponse, SendMessageRequest,
    SendMessageResponse, SessionRequest, SessionResponse,
};

pub use error::ApiError;
use http::Method;

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

/// The `/v1/history` URL for an optional query and limit.
pub fn history_url(base: &str, query: Option<&str>, limit: Option<u32>) -> String {
    let mut params = Vec::new();
    if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
        params.push(format!("query={}", encode_query_value(q)));
    }
    if let Some(limit) = limit {
        params.push(format!("limit={limit}"));
    }
    let mut out = url(base, routes::HISTORY);
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
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

    /// `POST /v1/session`: exchange an identity proof for a session token.
    pub async fn session(&self, req: &SessionRequest) -> Result<SessionResponse, ApiError> {
        http::json(
            Method::Post,
            &url(&self.base, routes::SESSION),
            None,
            Some(req),
        )
        .await
    }

    /// `POST /v1/tickets`: create the ticket (idempotent on its id).
    pub async fn create_ticket(
        &self,
        token: &str,
        req: &CreateTicketRequest,
    ) -> Result<CreateTicketResponse, ApiError> {
        let u = url(&self.base, routes::TICKETS);
        http::json(Method::Post, &u, Some(token), Some(req)).await
    }

    /// `POST /v1/tickets/{id}/messages`: send a message (idempotent on its id).
    pub async fn send_message(
        &self,
        token: &str,
        ticket_id: &str,
        req: &SendMessageRequest,
    ) -> Result<SendMessageResponse, ApiError> {
        let u = url(&self.base, &routes::messages(ticket_id));
        http::json(Method::Post, &u, Some(token), Some(req)).await
    }

    /// `POST /v1/tickets/{id}/close`.
    pub async fn close(
        &self,
        token: &str,
        ticket_id: &str,
        req: &CloseRequest,
    ) -> Result<CloseResponse, ApiError> {
        let u = url(&self.base, &routes::close(ticket_id));
        http::json(Method::Post, &u, Some(token), Some(req)).await
    }

    /// `POST /v1/tickets/{id}/escalate`.
    pub async fn escalate(
        &self,
        token: &str,
        ticket_id: &str,
        req: &EscalateRequest,
    ) -> Result<EscalateResponse, ApiError> {
        let u = url(&self.base, &routes::escalate(ticket_id));
        http::json(Method::Post, &u, Some(token), Some(req)).await
    }

    /// `GET /v1/history`: recalled past tickets of this customer.
    pub async fn history(
        &self,
        token: &str,
        query: Option<&str>,
        limit: Option<u32>,
    ) -> Result<HistoryResponse, ApiError> {
        let u = history_url(&self.base, query, limit);
        http::json(Method::Get, &u, Some(token), None::<&()>).await
    }

    /// `GET /v1/profile`: what is remembered about the customer.
    pub async fn profile(&self, token: &str) -> Result<ProfileResponse, ApiError> {
        let u = url(&self.base, routes::PROFILE);
        http::json(Method::Get, &u, Some(token), None::<&()>).await
    }

    /// `DELETE /v1/me`: forget this customer.
    pub async fn forget_me(&self, token: &str) -> Result<(), ApiError> {
        let u = url(&self.base, routes::ME);
        http::send(Method::Delete, &u, Some(token), None::<&()>)
            .await
            .map(drop)
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
            history_url("http://p", Some(" refund & charge "), Some(5)),
            "http://p/v1/history?query=refund%20%26%20charge&limit=5"
        );
        assert_eq!(
            history_url("http://p", Some("  "), None),
            "http://p/v1/history"
        );
        assert_eq!(encode_query_value("é/?#"), "%C3%A9%2F%3F%23");
    }
}
