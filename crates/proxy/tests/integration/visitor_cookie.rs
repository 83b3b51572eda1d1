//! The visitor cookie over real HTTP (`POST`/`DELETE /v1/session/cookie`): set with
//! `HttpOnly; Secure; SameSite=None; Partitioned` and no path of its own, the visitor
//! resumed from it only on same-origin requests (cross-site, same-site, foreign `Origin`
//! or no browser headers at all: `403`, nothing set), never in a response body, never
//! a bearer, never in the binary's log; the body-token protocol of older clients unchanged.

use crate::common::{start, Harness};
use reqwest::{header, RequestBuilder};
use serde_json::{json, Value};

const ROUTE: &str = "/v1/session/cookie";

/// What a request is sent as: `Sec-Fetch-Site` (if any) and `Origin` (if any).
#[derive(Clone, Copy)]
struct From {
    site: Option<&'static str>,
    origin: Option<&'static str>,
}

/// The widget frame: same-origin fetch metadata and its own origin.
const FRAME: From = From {
    site: Some("same-origin"),
    origin: None,
};

struct Answer {
    status: u16,
    set_cookie: Vec<String>,
    body: Value,
}

async fn send(h: &Harness, req: RequestBuilder, from: From, cookie: Option<&str>) -> Answer {
    let mut req = req;
    if let Some(site) = from.site {
        req = req.header("sec-fetch-site", site);
    }
    // `None` as origin for the frame means the proxy's own origin.
    let own = h.base.clone();
    match (from.origin, from.site) {
        (Some(origin), _) => req = req.header(header::ORIGIN, origin),
        (None, Some("same-origin")) => req = req.header(header::ORIGIN, own),
        _ => {}
    }
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, format!("everdesk_visitor={cookie}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let set_cookie = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = resp.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        set_cookie,
        body,
    }
}

async fn open(h: &Harness, from: From, cookie: Option<&str>, body: Value) -> Answer {
    let req = h.http.post(format!("{}{ROUTE}", h.base)).json(&body);
    send(h, req, from, cookie).await
}

/// The cookie's value from a `Set-Cookie` line.
fn value(set_cookie: &str) -> String {
    let first = set_cookie.split(';').next().unwrap();
    first.strip_prefix("everdesk_visitor=").unwrap().to_owned()
}

#[tokio::test]
async fn the_frame_gets_an_httponly_partitioned_cookie_and_is_resumed_from_it() {
    let h = start().await;
    let first = open(&h, FRAME, None, json!({})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["customer"]["kind"], "visitor");
    assert!(first.body["token"].is_string());
    assert!(
        first.body.get("visitor_token").is_none(),
        "the visitor token stays in the cookie: {}",
        first.body
    );
    assert_eq!(first.set_cookie.len(), 1);
    let line = &first.set_cookie[0];
    let attrs: Vec<&str> = line.split("; ").skip(1).collect();
    assert_eq!(
        attrs,
        [
            "Max-Age=15552000",
            "HttpOnly",
            "Secure",
            "SameSite=None",
            "Partitioned"
        ],
        "{line}"
    );
    let cookie = value(line);
    let vid = first.body["customer"]["id"].as_str().unwrap().to_owned();

    // A reload: the cookie resumes the same visitor, and is renewed.
    let again = open(&h, FRAME, Some(&cookie), json!({})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["customer"]["id"], vid.as_str());
    assert_eq!(again.set_cookie.len(), 1);
    assert_eq!(value(&again.set_cookie[0]), cookie);
    // Its session token works; the cookie's value is no bearer.
    let token = again.body["token"].as_str().unwrap();
    assert_eq!(h.get("/v1/profile", Some(token)).await.status, 200);
    let r = h.get("/v1/profile", Some(&cookie)).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));

    // An opaque Origin (`null`) with same-origin fetch metadata: still the frame.
    let bare = open(
        &h,
        From {
            site: Some("same-origin"),
            origin: Some("null"),
        },
        Some(&cookie),
        json!({}),
    )
    .await;
    assert_eq!(bare.body["customer"]["id"], vid.as_str());

    // A fresh start (after the host's logout) replaces the cookie.
    let fresh = open(&h, FRAME, Some(&cookie), json!({"fresh": true})).await;
    assert_eq!(fresh.status, 200);
    assert_ne!(fresh.body["customer"]["id"], vid.as_str());
    assert_ne!(value(&fresh.set_cookie[0]), cookie);
    // A cookie the proxy did not sign starts a new visitor rather than failing.
    let forged = open(&h, FRAME, Some(&format!("{cookie}x")), json!({})).await;
    assert_eq!(forged.status, 200);
    assert_ne!(forged.body["customer"]["id"], vid.as_str());
    let bad = open(&h, FRAME, None, json!({"fresh": "yes"})).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn other_sites_cannot_resume_or_clear_the_visitor() {
    let h = start().await;
    let first = open(&h, FRAME, None, json!({})).await;
    let cookie = value(&first.set_cookie[0]);
    let strangers = [
        From {
            site: Some("cross-site"),
            origin: Some("https://evil.example"),
        },
        From {
            site: Some("same-site"),
            origin: Some("http://127.0.0.1:1"),
        },
        From {
            site: Some("none"),
            origin: None,
        },
        // No fetch metadata (an old browser): the Origin decides.
        From {
            site: None,
            origin: Some("https://evil.example"),
        },
        // No browser headers at all.
        From {
            site: None,
            origin: None,
        },
    ];
    for from in strangers {
        let r = open(&h, from, Some(&cookie), json!({})).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{:?} {:?}",
            from.site,
            from.origin
        );
        assert!(r.set_cookie.is_empty());
        assert!(r.body.get("token").is_none());
        let del = send(
            &h,
            h.http.delete(format!("{}{ROUTE}", h.base)),
            from,
            Some(&cookie),
        )
        .await;
        assert_eq!(del.status, 403);
        assert!(del.set_cookie.is_empty());
    }
    // An old browser on the proxy's own origin, without fetch metadata, is the frame.
    let own: &'static str = Box::leak(h.base.clone().into_boxed_str());
    let old = open(
        &h,
        From {
            site: None,
            origin: Some(own),
        },
        Some(&cookie),
        json!({}),
    )
    .await;
    assert_eq!(old.status, 200);
    assert_eq!(old.body["customer"]["id"], first.body["customer"]["id"]);
}

#[tokio::test]
async fn the_frame_clears_the_cookie_and_old_clients_keep_their_protocol() {
    let h = start().await;
    let first = open(&h, FRAME, None, json!({})).await;
    let cookie = value(&first.set_cookie[0]);
    let del = send(
        &h,
        h.http.delete(format!("{}{ROUTE}", h.base)),
        FRAME,
        Some(&cookie),
    )
    .await;
    assert_eq!(del.status, 204);
    assert_eq!(
        del.set_cookie,
        ["everdesk_visitor=; Max-Age=0; HttpOnly; Secure; SameSite=None; Partitioned"]
    );

    // The body protocol is unchanged, cookie or not: `{}` mints a new visitor with a
    // visitor token in the body and sets no cookie; the token brings it back.
    let old = h.post("/v1/session", None, json!({})).await;
    assert_eq!(old.status, 200);
    assert!(old.headers.get(header::SET_COOKIE).is_none());
    let vt = old.body["visitor_token"].as_str().unwrap();
    let back = h
        .post("/v1/session", None, json!({"visitor_token": vt}))
        .await;
    assert_eq!(back.body["customer"]["id"], old.body["customer"]["id"]);
    let with_cookie = send(
        &h,
        h.http
            .post(format!("{}/v1/session", h.base))
            .json(&json!({})),
        FRAME,
        Some(&cookie),
    )
    .await;
    assert_eq!(with_cookie.status, 200);
    assert_ne!(
        with_cookie.body["customer"]["id"], first.body["customer"]["id"],
        "the body route does not read the cookie"
    );
    assert!(with_cookie.set_cookie.is_empty());
}

#[tokio::test]
async fn the_binary_never_logs_the_cookie() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_everdesk-proxy"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("EVEROS_BASE_URL")
        .env_remove("EVEROS_API_KEY")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = crate::common::listening_base(&mut child).await;
    let http = reqwest::Client::new();
    let frame = |req: RequestBuilder| {
        req.header("sec-fetch-site", "same-origin")
            .header(header::ORIGIN, base.clone())
    };
    let first = frame(http.post(format!("{base}{ROUTE}")).json(&json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let line = first.headers()[header::SET_COOKIE].to_str().unwrap();
    let cookie = value(line);
    let cookie_header = format!("everdesk_visitor={cookie}");
    let again = frame(http.post(format!("{base}{ROUTE}")).json(&json!({})))
        .header(header::COOKIE, &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    // Refused and cleared ones, too.
    let cross = http
        .post(format!("{base}{ROUTE}"))
        .header("sec-fetch-site", "cross-site")
        .header(header::COOKIE, &cookie_header)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    let del = frame(http.delete(format!("{base}{ROUTE}")))
        .header(header::COOKIE, &cookie_header)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let (payload, signature) = cookie.split_once('.').unwrap();
    assert!(
        !log.contains(payload) && !log.contains(signature),
        "the visitor cookie is in the log: {log}"
    );
}
