//! Hand-off webhooks as a receiver checks them: `X-EverDesk-Timestamp` is recent and
//! `X-EverDesk-Signature` is the HMAC of `"<timestamp>.<body>"` — the recipe the README
//! documents, with a 5-minute tolerance.

use std::sync::{Arc, Mutex};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
    Router,
};
use hmac::Mac;
use serde_json::{json, Value};

use crate::common::start_with;

const SECRET: &str = "whsec_test_0123";
/// Largest accepted clock difference, seconds.
const TOLERANCE_SECS: i64 = 300;

/// What the receiver accepted.
type Accepted = Arc<Mutex<Vec<Value>>>;

/// The receiver's check; `Err` says what is wrong.
fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), &'static str> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let ts = header("x-everdesk-timestamp").ok_or("no timestamp")?;
    let ts_secs: i64 = ts.parse().map_err(|_| "bad timestamp")?;
    let now = everdesk_proxy::clock::now_ms() / 1000;
    if (now - ts_secs).abs() > TOLERANCE_SECS {
        return Err("stale timestamp");
    }
    let sig = header("x-everdesk-signature")
        .and_then(|s| s.strip_prefix("sha256="))
        .ok_or("no signature")?;
    let sig = hex::decode(sig).map_err(|_| "bad signature")?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).map_err(|_| "signature mismatch")
}

async fn receive(State(accepted): State<Accepted>, headers: HeaderMap, body: Bytes) -> StatusCode {
    match verify(&headers, &body) {
        Ok(()) => {
            accepted
                .lock()
                .unwrap()
                .push(serde_json::from_slice(&body).unwrap());
            StatusCode::OK
        }
        Err(why) => {
            eprintln!("webhook refused: {why}");
            StatusCode::UNAUTHORIZED
        }
    }
}

#[tokio::test]
async fn a_receiver_verifies_the_timestamped_signature() {
    let accepted: Accepted = Arc::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(accepted.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let h = start_with(|c| {
        c.handoff_webhook_url = Some(url);
        c.handoff_webhook_secret = Some(SECRET.into());
    })
    .await;
    let t = h.verified("cust_hook").await;
    h.ticket(&t, "T", "Refund").await;
    let r = h.post("/v1/tickets/T/escalate", Some(&t), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["handoff"]["delivered"], true,
        "the receiver accepted it"
    );
    let got = accepted.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["ticket_id"], "T");

    // The old scheme (signature over the body alone) is what a receiver must refuse.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(b"{}");
    let body_only = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let mut headers = HeaderMap::new();
    let now = everdesk_proxy::clock::now_ms() / 1000;
    headers.insert("x-everdesk-timestamp", now.to_string().parse().unwrap());
    headers.insert("x-everdesk-signature", body_only.parse().unwrap());
    assert_eq!(verify(&headers, b"{}"), Err("signature mismatch"));
}
