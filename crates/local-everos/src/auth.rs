//! Bearer authentication for the `/api/` routes; the key is compared in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Rejects requests without `Authorization: Bearer <configured key>` with 401.
pub async fn require_bearer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    if !presented.is_some_and(|key| key_matches(key, &state.config().api_key)) {
        return ApiError::unauthorized().into_response();
    }
    next.run(req).await
}

/// Whether `presented` is `expected`, taking the same time for every presented key of
/// the same length (the length itself is not secret-dependent beyond that).
fn key_matches(presented: &str, expected: &str) -> bool {
    presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::key_matches;

    #[test]
    fn only_the_exact_key_matches() {
        assert!(key_matches("secret-key", "secret-key"));
        assert!(!key_matches("secret-kez", "secret-key"));
        assert!(!key_matches("secret-ke", "secret-key"));
        assert!(!key_matches("secret-keyy", "secret-key"));
        assert!(!key_matches("", "secret-key"));
    }
}
