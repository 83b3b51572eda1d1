//! The hand-off webhook: POSTs the hand-off JSON signed with
//! `X-EverDesk-Signature: sha256=<hex HMAC-SHA256 of the body>` and a per-delivery
//! `X-EverDesk-Delivery` id; bounded retries with backoff on failure.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Attempts per delivery.
const ATTEMPTS: u32 = 3;

/// A configured webhook target.
#[derive(Clone)]
pub struct Webhook {
    http: reqwest::Client,
    url: String,
    secret: String,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

impl Webhook {
    /// A webhook posting to `url`, signing with `secret`.
    pub fn new(url: String, secret: String) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self { http, url, secret }
    }

    /// Delivers `body`; true when the receiver answered 2xx.
    pub async fn deliver(&self, body: Vec<u8>) -> bool {
        let delivery = uuid::Uuid::new_v4().simple().to_string();
        let sig = signature(&self.secret, &body);
        for attempt in 0..ATTEMPTS {
            let sent = self
                .http
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-EverDesk-Signature", &sig)
                .header("X-EverDesk-Delivery", &delivery)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                    tracing::warn!(status = %r.status(), %delivery, "hand-off webhook refused the delivery");
                    return false;
                }
                Ok(r) => {
                    tracing::warn!(status = %r.status(), attempt, %delivery, "hand-off webhook failed")
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, %delivery, "hand-off webhook unreachable")
                }
            }
            if attempt + 1 < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_is_hex_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
