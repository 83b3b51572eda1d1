//! Identity over real HTTP: HMAC, JWT and visitor proofs; every refusal (forged hash,
//! alg none, expired, wrong key, missing sub, tampered or foreign visitor token, host id
//! with the visitor prefix) is a 401 and reaches no EverOS memory.

use crate::common::{start, user_of, SECRET};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use everdesk_proxy::identity::{hmac_hash, jwt};
use serde_json::{json, Value};

fn now_secs() -> i64 {
    everdesk_proxy::clock::now_ms() / 1000
}

#[tokio::test]
async fn identity_proofs_are_checked_and_refusals_touch_no_memory() {
    let h = start().await;
    // Visitors: new, then returning with the visitor token.
    let v = h.post("/v1/session", None, json!({})).await;
    assert_eq!(v.status, 200);
    assert_eq!(v.body["customer"]["kind"], "visitor");
    let vid = v.body["customer"]["id"].as_str().unwrap().to_owned();
    assert!(vid.starts_with("visitor_"));
    let vt = v.body["visitor_token"].as_str().unwrap().to_owned();
    let again = h
        .post("/v1/session", None, json!({"visitor_token": vt}))
        .await;
    assert_eq!(again.body["customer"]["id"], vid.as_str());

    // JWT: good one accepted with its name.
    let good = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": "jwt_user", "exp": now_secs() + 600, "name": "Ada"}),
    );
    let r = h.post("/v1/session", None, json!({"jwt": good})).await;
    assert_eq!(
        (r.status, r.body["customer"]["name"].clone()),
        (200, json!("Ada"))
    );

    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none"}"#),
        B64.encode(json!({"sub": "victim", "exp": now_secs() + 60}).to_string())
    );
    let refused: Vec<Value> = vec![
        json!({"user_id": "victim", "user_hash": hmac_hash::compute(b"wrong-secret-000000", "victim")}),
        json!({"user_id": "victim", "user_hash": "zz"}),
        json!({"user_id": "victim"}),
        json!({"user_id": "visitor_abc", "user_hash": hmac_hash::compute(SECRET.as_bytes(), "visitor_abc")}),
        json!({"jwt": none}),
        json!({"jwt": jwt::sign(SECRET.as_bytes(), &json!({"sub": "victim", "exp": now_secs() - 600}))}),
        json!({"jwt": jwt::sign(b"another-secret-0000", &json!({"sub": "victim", "exp": now_secs() + 60}))}),
        json!({"jwt": jwt::sign(SECRET.as_bytes(), &json!({"exp": now_secs() + 60}))}),
        json!({"jwt": "not-a-jwt"}),
        json!({"visitor_token": format!("{vt}x")}),
        json!({"visitor_token": "eyJ0eXAiOiJ2aXNpdG9yIiwidmlkIjoidmlzaXRvcl92aWN0aW0ifQ.AAAA"}),
    ];
    for body in refused {
        let r = h.post("/v1/session", None, body.clone()).await;
        assert_eq!((r.status, r.code()), (401, "invalid_identity"), "{body}");
        assert!(r.body["error"]["request_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()));
    }
    // A visitor token from another proxy (other signing key).
    let other = crate::common::serve(everdesk_proxy::Config::for_tests()).await;
    let foreign: Value = reqwest::Client::new()
        .post(format!("{other}/v1/session"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = h
        .post(
            "/v1/session",
            None,
            json!({"visitor_token": foreign["visitor_token"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_identity"));

    // Session tokens: missing, garbage, a visitor token used as a session → 401 unauthorized.
    for token in [None, Some("garbage"), Some(vt.as_str())] {
        let r = h.get("/v1/profile", token).await;
        assert_eq!((r.status, r.code()), (401, "unauthorized"));
    }
    assert!(h
        .requests(None)
        .await
        .iter()
        .all(|r| user_of(r).as_deref() != Some("victim")));
}

#[tokio::test]
async fn without_an_identity_secret_only_visitors_get_in() {
    let h = crate::common::start_with(|c| c.identity_secret = None).await;
    let hash = hmac_hash::compute(SECRET.as_bytes(), "cust_1");
    let r = h
        .post(
            "/v1/session",
            None,
            json!({"user_id": "cust_1", "user_hash": hash}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_identity"));
    let r = h.post("/v1/session", None, json!({})).await;
    assert_eq!(r.status, 200);
    // A session token of a visitor only ever reaches that visitor's memory.
    let t = r.body["token"].as_str().unwrap();
    let id = r.body["customer"]["id"].as_str().unwrap();
    assert_eq!(h.ticket(t, "v1", "Visitor question").await.status, 201);
    assert!(h
        .requests(None)
        .await
        .iter()
        .all(|q| user_of(q).as_deref() == Some(id)));
}

#[tokio::test]
async fn a_malformed_identity_is_refused_never_a_visitor() {
    let h = start().await;
    let hash = hmac_hash::compute(SECRET.as_bytes(), "cust_m");
    let good_jwt = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": "cust_m", "exp": now_secs() + 600}),
    );
    // A proof field that is not a string is a refused identity proof.
    let refused: Vec<Value> = vec![
        json!({"user_id": "u", "user_hash": 123}),
        json!({"user_id": 7, "user_hash": hash}),
        json!({"user_hash": hash}),
        json!({"jwt": 123}),
        json!({"jwt": {"sub": "cust_m"}}),
        json!({"jwt": good_jwt, "user_hash": 5}),
        json!({"visitor_token": 5}),
    ];
    for body in refused {
        let r = h.post("/v1/session", None, body.clone()).await;
        assert_eq!((r.status, r.code()), (401, "invalid_identity"), "{body}");
    }
    // A valid proof with a malformed optional member is a malformed request.
    let malformed: Vec<Value> = vec![
        json!({"user_id": "cust_m", "user_hash": hash, "name": 5}),
        json!({"user_id": "cust_m", "user_hash": hash, "email": ["a@b.c"]}),
        json!({"jwt": good_jwt, "name": 5}),
        json!(["cust_m", hash]),
        json!("visitor"),
    ];
    for body in malformed {
        let r = h.post("/v1/session", None, body.clone()).await;
        assert_eq!((r.status, r.code()), (400, "invalid_request"), "{body}");
    }
    // Explicit nulls mean "not given": a logged-out page is a visitor.
    let r = h
        .post(
            "/v1/session",
            None,
            json!({"user_id": null, "user_hash": null, "jwt": null}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["customer"]["kind"], "visitor");
    // The well-formed proofs still work, with their optional members.
    let r = h
        .post(
            "/v1/session",
            None,
            json!({"user_id": "cust_m", "user_hash": hash, "name": "Mo", "email": null}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["customer"]["name"].clone()),
        (200, json!("Mo"))
    );
    let r = h.post("/v1/session", None, json!({"jwt": good_jwt})).await;
    assert_eq!(
        (r.status, r.body["customer"]["id"].clone()),
        (200, json!("cust_m"))
    );
}

/// What a host that lets users pick their own user id hands out: the user hash of the
/// user id `<header>.<payload>` — which is, with one shared secret, an HS256 signature
/// of a JWT for whichever `sub` the payload names.
fn jwt_forged_from_a_user_hash(sub: &str) -> String {
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = B64.encode(json!({"sub": sub, "exp": now_secs() + 600}).to_string());
    let chosen_user_id = format!("{header}.{payload}");
    let user_hash = hmac_hash::compute(SECRET.as_bytes(), &chosen_user_id);
    let signature = B64.encode(hex::decode(user_hash).unwrap());
    format!("{chosen_user_id}.{signature}")
}

#[tokio::test]
async fn a_user_hash_turned_into_a_jwt_works_only_with_one_shared_secret() {
    let forged = jwt_forged_from_a_user_hash("victim");
    // One secret for both proofs: the forged JWT opens the victim's session.
    let shared = start().await;
    let r = shared
        .post("/v1/session", None, json!({"jwt": forged.clone()}))
        .await;
    assert_eq!(
        (r.status, r.body["customer"]["id"].clone()),
        (200, json!("victim")),
        "{}",
        r.body
    );

    // A separate JWT secret: the forgery is refused; both real proofs still work.
    const JWT_SECRET: &str = "separate-jwt-secret-0123";
    let separate = crate::common::start_with(|c| c.jwt_secret = Some(JWT_SECRET.into())).await;
    let r = separate
        .post("/v1/session", None, json!({"jwt": forged}))
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_identity"));
    let real = jwt::sign(
        JWT_SECRET.as_bytes(),
        &json!({"sub": "cust_j", "exp": now_secs() + 600}),
    );
    let r = separate
        .post("/v1/session", None, json!({"jwt": real}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    separate.verified("cust_h").await;
    let by_identity_secret = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": "cust_j", "exp": now_secs() + 600}),
    );
    let r = separate
        .post("/v1/session", None, json!({"jwt": by_identity_secret}))
        .await;
    assert_eq!((r.status, r.code()), (401, "invalid_identity"));
    assert!(separate
        .requests(None)
        .await
        .iter()
        .all(|r| user_of(r).as_deref() != Some("victim")));
}

/// The hand-off names the customer as the identity vouches: a name the host signed in
/// a JWT is the customer's name; a name a page passed beside a user hash is reported as
/// unverified and never put in `customer`.
#[tokio::test]
async fn the_handoff_names_only_what_the_identity_vouches_for() {
    let h = start().await;
    let signed = jwt::sign(
        SECRET.as_bytes(),
        &json!({"sub": "cust_jwt_named", "exp": now_secs() + 600, "name": "Ada Lovelace"}),
    );
    let r = h.post("/v1/session", None, json!({"jwt": signed})).await;
    let t = r.body["token"].as_str().unwrap().to_owned();
    h.ticket(&t, "T-1", "Billing").await;
    let ho = h
        .post("/v1/tickets/T-1/escalate", Some(&t), json!({}))
        .await;
    assert_eq!(
        ho.body["handoff"]["customer"],
        json!({"kind": "verified", "id": "cust_jwt_named", "name": "Ada Lovelace"})
    );
    assert!(ho.body["handoff"]["customer_summary"]
        .as_str()
        .unwrap()
        .starts_with("Ada Lovelace."));

    let hash = hmac_hash::compute(SECRET.as_bytes(), "cust_page_named");
    let r = h
        .post(
            "/v1/session",
            None,
            json!({"user_id": "cust_page_named", "user_hash": hash, "name": "Alice Admin"}),
        )
        .await;
    let t = r.body["token"].as_str().unwrap().to_owned();
    h.ticket(&t, "T-1", "Billing").await;
    let ho = h
        .post("/v1/tickets/T-1/escalate", Some(&t), json!({}))
        .await;
    assert_eq!(
        ho.body["handoff"]["customer"],
        json!({"kind": "verified", "id": "cust_page_named"})
    );
    let summary = ho.body["handoff"]["customer_summary"].as_str().unwrap();
    assert!(summary.contains("Alice Admin (not verified)"), "{summary}");

    let r = h.post("/v1/session", None, json!({})).await;
    let t = r.body["token"].as_str().unwrap().to_owned();
    let vid = r.body["customer"]["id"].as_str().unwrap().to_owned();
    h.ticket(&t, "T-1", "Billing").await;
    let ho = h
        .post("/v1/tickets/T-1/escalate", Some(&t), json!({}))
        .await;
    assert_eq!(
        ho.body["handoff"]["customer"],
        json!({"kind": "visitor", "id": vid})
    );
}
