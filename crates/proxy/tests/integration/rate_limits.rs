//! The per-client limit behind a reverse proxy: with `--trusted-proxies` the client is
//! the one the proxy names in `X-Forwarded-For`; without, the header is ignored, so a
//! client cannot pick a fresh bucket by sending it.

use serde_json::json;

use crate::common::{start_with, Harness};

/// Opens a visitor session as if forwarded for `client`; returns the status.
async fn session_for(h: &Harness, client: &str) -> u16 {
    h.http
        .post(format!("{}/v1/session", h.base))
        .header("x-forwarded-for", client)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let h = start_with(|c| {
        c.rate_ip_burst = 1;
        c.rate_ip_per_min = 1;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    assert_eq!(session_for(&h, "198.51.100.1").await, 200);
    assert_eq!(
        session_for(&h, "198.51.100.1").await,
        429,
        "same client, same bucket"
    );
    assert_eq!(session_for(&h, "198.51.100.2").await, 200, "another client");
    // IPv6 clients are one bucket per /64.
    assert_eq!(session_for(&h, "2001:db8:1:2::a").await, 200);
    assert_eq!(session_for(&h, "2001:db8:1:2::b").await, 429);
}

#[tokio::test]
async fn without_trust_the_header_cannot_escape_the_limit() {
    let h = start_with(|c| {
        c.rate_ip_burst = 1;
        c.rate_ip_per_min = 1;
    })
    .await;
    assert_eq!(session_for(&h, "198.51.100.1").await, 200);
    assert_eq!(
        session_for(&h, "198.51.100.2").await,
        429,
        "the peer's bucket"
    );
}

#[tokio::test]
async fn a_second_forwarded_line_from_the_client_cannot_pick_the_key() {
    let h = start_with(|c| {
        c.rate_ip_burst = 1;
        c.rate_ip_per_min = 1;
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    // The client's own header line first, the trusted proxy's line last.
    let send = |spoof: &'static str| {
        h.http
            .post(format!("{}/v1/session", h.base))
            .header("x-forwarded-for", spoof)
            .header("x-forwarded-for", "198.51.100.9")
            .json(&json!({}))
            .send()
    };
    assert_eq!(send("1.1.1.1").await.unwrap().status(), 200);
    assert_eq!(
        send("2.2.2.2").await.unwrap().status(),
        429,
        "keyed on the client the proxy saw, not on the spoofed line"
    );
}
