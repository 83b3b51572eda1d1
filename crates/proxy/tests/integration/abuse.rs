//! What abusive clients must not be able to do to honest ones: fill the idempotency
//! ledger with messages that are refused anyway (to closed tickets) and lock every other
//! customer out.

use serde_json::json;

use crate::common::start_with;

/// Four free visitors send 72 messages to their own closed tickets (the attack that
/// used to leave a ledger of 60 full, answering everyone else 429 "retry in 599 s"):
/// each is refused 409 and takes no slot, so an honest customer's first message is
/// answered, and a retry of a message answered before its ticket closed still gets its
/// own answer.
#[tokio::test]
async fn messages_to_closed_tickets_cannot_lock_other_customers_out() {
    let h = start_with(|c| {
        c.ledger_capacity = 60;
        c.rate_customer_burst = 1000;
        c.rate_customer_per_min = 1000;
        c.rate_ip_burst = 1000;
        c.rate_ip_per_min = 1000;
        c.rate_visitor_burst = 100;
        c.rate_visitor_per_min = 100;
    })
    .await;
    for v in 0..4 {
        let r = h.post("/v1/session", None, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let t = r.body["token"].as_str().unwrap().to_owned();
        assert_eq!(h.ticket(&t, "T-1", "Spam").await.status, 201);
        let first = h.say(&t, "T-1", "m-0", "hello").await;
        assert_eq!(first.status, 200, "{}", first.body);
        let closed = h.post("/v1/tickets/T-1/close", Some(&t), json!({})).await;
        assert_eq!(closed.status, 200, "{}", closed.body);
        for i in 1..=18 {
            let r = h.say(&t, "T-1", &format!("m-{v}-{i}"), "spam").await;
            assert_eq!(r.status, 409, "{}", r.body);
            assert_eq!(r.code(), "conflict");
        }
        let again = h.say(&t, "T-1", "m-0", "hello").await;
        assert_eq!(
            again.status, 200,
            "a retry of an answered message: {}",
            again.body
        );
        assert_eq!(again.body, first.body, "its own answer, again");
    }
    let honest = h.verified("honest-customer").await;
    assert_eq!(h.ticket(&honest, "H-1", "Real question").await.status, 201);
    let r = h.say(&honest, "H-1", "h-1", "Where is my parcel?").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let spam_adds = h.stored_adds_of("spam").await;
    assert_eq!(spam_adds, 0, "refused messages never reach EverOS");
}

/// Forget-me ends the identity: the visitor's session token is refused and their
/// visitor token opens a new, empty visitor instead of resuming the forgotten one.
#[tokio::test]
async fn forgetting_a_visitor_ends_their_tokens() {
    let h = start_with(|_| {}).await;
    let r = h.post("/v1/session", None, json!({})).await;
    let (session, visitor) = (
        r.body["token"].as_str().unwrap().to_owned(),
        r.body["visitor_token"].as_str().unwrap().to_owned(),
    );
    let vid = r.body["customer"]["id"].as_str().unwrap().to_owned();
    assert_eq!(h.ticket(&session, "T-1", "Lost parcel").await.status, 201);
    assert_eq!(
        h.say(&session, "T-1", "m-1", "where is it").await.status,
        200
    );
    // Before the forget, the visitor token resumes the same visitor.
    let again = h
        .post("/v1/session", None, json!({"visitor_token": visitor}))
        .await;
    assert_eq!(again.body["customer"]["id"], vid.as_str());
    let second_session = again.body["token"].as_str().unwrap().to_owned();

    assert_eq!(h.delete("/v1/me", &session).await.status, 204);

    for token in [&session, &second_session] {
        let r = h.get("/v1/history", Some(token)).await;
        assert_eq!((r.status, r.code()), (401, "unauthorized"), "{}", r.body);
        let r = h.say(token, "T-1", "m-2", "still there?").await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let resumed = h
        .post("/v1/session", None, json!({"visitor_token": visitor}))
        .await;
    assert_eq!(resumed.status, 200, "{}", resumed.body);
    let new_vid = resumed.body["customer"]["id"].as_str().unwrap();
    assert_ne!(new_vid, vid, "the forgotten visitor is not resumed");
    assert_ne!(resumed.body["visitor_token"], visitor.as_str());
    let fresh = resumed.body["token"].as_str().unwrap();
    let list = h.get("/v1/history", Some(fresh)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["episodes"], json!([]), "a new, empty identity");
    let r = h.ticket(fresh, "T-1", "Lost parcel").await;
    assert_eq!(r.status, 201, "the old ticket is not theirs: {}", r.body);
}

/// A verified customer who is forgotten keeps no working session; signing in again
/// through the host works and starts empty.
#[tokio::test]
async fn forgetting_a_verified_customer_refuses_their_old_sessions() {
    let h = start_with(|_| {}).await;
    let t = h.verified("cust_forgotten").await;
    assert_eq!(h.ticket(&t, "T-1", "Refund").await.status, 201);
    assert_eq!(h.delete("/v1/me", &t).await.status, 204);
    assert_eq!(h.get("/v1/history", Some(&t)).await.status, 401);
    assert_eq!(h.delete("/v1/me", &t).await.status, 401);
    let again = h.verified("cust_forgotten").await;
    let list = h.get("/v1/history", Some(&again)).await;
    assert_eq!(
        (list.status, list.body["episodes"].clone()),
        (200, json!([]))
    );
    assert_eq!(h.ticket(&again, "T-1", "Refund").await.status, 201);
}

/// `/readyz` answers from a cached, single-flight check: a flood of readiness probes
/// reaches EverOS a handful of times, not once per probe.
#[tokio::test]
async fn a_flood_of_readiness_probes_does_not_reach_everos() {
    let h = start_with(|_| {}).await;
    assert_eq!(h.get("/readyz", None).await.status, 200);
    let before = h.requests(Some("health")).await.len();
    let probes = (0..200).map(|_| h.get("/readyz", None));
    let answers = futures::future::join_all(probes).await;
    assert!(answers.iter().all(|r| r.status == 200));
    let reached = h.requests(Some("health")).await.len() - before;
    assert!(
        reached <= 2,
        "200 probes reached EverOS's /health {reached} times"
    );
}
