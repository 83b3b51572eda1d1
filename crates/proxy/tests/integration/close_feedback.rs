//! The close form's rating and comment are kept with the ticket record, persisted in
//! the proxy's database across a restart; an over-long comment is 422.

use everdesk_proxy::tickets::TicketStore;
use serde_json::json;

use crate::common::start_persisted;

#[tokio::test]
async fn the_close_comment_is_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start_persisted(dir.path()).await;
    let t = h.verified("cust_fb").await;
    h.ticket(&t, "T", "Billing").await;
    h.ticket(&t, "U", "Later").await;

    let too_long = "x".repeat(2_001);
    let r = h
        .post(
            "/v1/tickets/T/close",
            Some(&t),
            json!({"rating": 5, "comment": too_long}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_request"));

    let comment = "Quick and kind. My card 4111 1111 1111 1111 was never needed";
    let r = h
        .post(
            "/v1/tickets/T/close",
            Some(&t),
            json!({"rating": 4, "comment": comment}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A form sent after the ticket closed (closing twice) is kept too.
    assert_eq!(
        h.post("/v1/tickets/U/close", Some(&t), json!({}))
            .await
            .status,
        200
    );
    let at_limit = "y".repeat(2_000);
    let r = h
        .post(
            "/v1/tickets/U/close",
            Some(&t),
            json!({"comment": at_limit.clone()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    h.restart().await;
    // The restarted proxy still knows the tickets (and answers a close as a repeat).
    let r = h.post("/v1/tickets/T/close", Some(&t), json!({})).await;
    assert_eq!(r.body["memory"], "no_extraction");

    let store = TicketStore::new(h.store().await);
    let fb = store
        .get("cust_fb", "T")
        .await
        .unwrap()
        .unwrap()
        .feedback
        .unwrap();
    assert_eq!(fb.rating, Some(4));
    let kept = fb.comment.unwrap();
    assert!(kept.starts_with("Quick and kind."), "{kept}");
    assert!(
        !kept.contains("4111"),
        "redacted like everything stored: {kept}"
    );
    let fb = store
        .get("cust_fb", "U")
        .await
        .unwrap()
        .unwrap()
        .feedback
        .unwrap();
    assert_eq!((fb.rating, fb.comment), (None, Some(at_limit)));
}
