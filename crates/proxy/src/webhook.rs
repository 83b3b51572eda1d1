//! The hand-off webhook: POSTs the hand-off JSON with `X-EverDesk-Timestamp: <unix
//! seconds>` and `X-EverDesk-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
//! (so a captured delivery cannot be replayed later: receivers refuse old timestamps),
//! and a per-delivery `X-EverDesk-Delivery` id; bounded retries with backoff, each
//! attempt signed afresh. The URL is never logged (it may carry a token).

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
            .field("url", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: u64, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
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
        for attempt in 0..ATTEMPTS {
            let timestamp = unix_secs();
            let sent = self
                .http
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("X-EverDesk-Timestamp", timestamp.to_string())
                .header(
                    "X-EverDesk-Signature",
                    signature(&self.secret, timestamp, &body),
                )
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
                    let error = e.without_url();
                    tracing::warn!(%error, attempt, %delivery, "hand-off webhook unreachable")
                }
            }
            if attempt + 1 < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
        false
    }
}

/// Now, Unix seconds.
fn unix_secs() -> u64 {
    u64::try_from(crate::clock::now_ms() / 1000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hex_hmac_of_timestamp_dot_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(signature("Jefe", 1_700_000_000, br#"{"a":1}"#), expected);
        assert_ne!(
            signature("Jefe", 1_700_000_001, br#"{"a":1}"#),
            expected,
            "the timestamp is signed"
        );
    }

    /// A log sink for one test.
    #[derive(Clone, Default)]
    struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_failed_delivery_never_logs_the_url() {
        use tracing::instrument::WithSubscriber;
        let logs = Logs::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        // Nothing listens on port 9 (discard); the path carries a token.
        let hook = Webhook::new(
            "http://127.0.0.1:9/hooks/secret-token-42".into(),
            "s".into(),
        );
        assert!(!format!("{hook:?}").contains("secret-token-42"));
        let delivered = hook
            .deliver(b"{}".to_vec())
            .with_subscriber(subscriber)
            .await;
        assert!(!delivered);
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("hand-off webhook unreachable"), "{text}");
        assert!(!text.contains("secret-token-42"), "{text}");
        assert!(!text.contains("127.0.0.1:9"), "{text}");
    }
}
