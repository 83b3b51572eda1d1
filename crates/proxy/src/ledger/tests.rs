//! The ledger's tests: sharing and bounds of entries, making room, persistence.

use super::*;

#[test]
fn same_id_same_content_shares_the_entry() {
    let l = Ledger::new(10, Duration::from_secs(60));
    let a = l.entry("u", "t", "m", "hi").unwrap();
    let b = l.entry("u", "t", "m", "hi").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(
        l.entry("u", "t", "m", "bye").err(),
        Some(Refused::ContentMismatch)
    );
    let other = l.entry("v", "t", "m", "bye").unwrap();
    assert!(!Arc::ptr_eq(&a, &other), "keyed by customer");
}

#[test]
fn bounded_by_capacity_and_ttl() {
    let l = Ledger::new(2, Duration::from_secs(60)).with_retry_window(Duration::ZERO);
    for id in ["1", "2", "3"] {
        drop(l.entry("u", "t", id, "x").unwrap());
    }
    assert_eq!(l.len(), 2);
    let l = Ledger::new(10, Duration::ZERO);
    let a = l.entry("u", "t", "m", "x").unwrap();
    let b = l.entry("u", "t", "m", "y").unwrap();
    assert!(!Arc::ptr_eq(&a, &b), "expired ids are forgotten");
}

#[test]
fn a_full_ledger_never_forgets_an_id_that_may_still_be_retried() {
    let l = Ledger::new(2, Duration::from_secs(3600));
    let first = l.entry("a", "t", "1", "x").unwrap();
    drop(l.entry("b", "t", "2", "x").unwrap());
    // Full of young ids: the new message waits instead of evicting one.
    match l.entry("c", "t", "3", "x") {
        Err(Refused::Full(wait)) => assert!(wait > Duration::from_secs(590), "{wait:?}"),
        other => panic!("expected Full, got {other:?}"),
    }
    let again = l.entry("a", "t", "1", "x").unwrap();
    assert!(Arc::ptr_eq(&first, &again), "id 1 is still remembered");
}

#[test]
fn one_customer_cannot_crowd_the_others_out_and_ids_in_use_are_skipped() {
    let l = Ledger::new(20, Duration::from_secs(3600));
    let victim = l.entry("victim", "t", "v", "x").unwrap();
    drop(l.entry("other", "t", "o", "x").unwrap());
    for i in 0..18 {
        drop(l.entry("flood", "t", &i.to_string(), "x").unwrap());
    }
    // Full, all young: the flooding customer's next ids replace their own oldest.
    for i in 18..40 {
        assert!(l.entry("flood", "t", &i.to_string(), "x").is_ok());
    }
    assert_eq!(l.len(), 20);
    let again = l.entry("victim", "t", "v", "x").unwrap();
    assert!(
        Arc::ptr_eq(&victim, &again),
        "the victim's id is still remembered"
    );
    drop(l.entry("other", "t", "o", "x").unwrap());
    // A newcomer, though, waits: every id may still be retried.
    assert!(matches!(
        l.entry("new", "t", "n", "x"),
        Err(Refused::Full(_))
    ));

    // Past the window, the oldest id not in use goes, even behind one in use.
    let l = Ledger::new(2, Duration::from_secs(3600)).with_retry_window(Duration::ZERO);
    let held = l.entry("a", "t", "1", "x").unwrap();
    drop(l.entry("b", "t", "2", "x").unwrap());
    assert!(l.entry("c", "t", "3", "x").is_ok(), "2 went, 1 is in use");
    let again = l.entry("a", "t", "1", "x").unwrap();
    assert!(Arc::ptr_eq(&held, &again));
}

fn response() -> SendMessageResponse {
    let msg = |id: &str, role, at| everdesk_api::Message {
        id: id.into(),
        role,
        content: "hi".into(),
        created_at: at,
    };
    SendMessageResponse {
        message: msg("m", everdesk_api::Role::User, 10),
        reply: msg("re_m", everdesk_api::Role::Assistant, 11),
        context: Context::default(),
    }
}

/// Runs `f` on the entry's progress, then saves it, as the message flow does.
async fn settle(l: &Ledger, customer: &str, id: &str, content: &str, f: fn(&mut Progress)) {
    let entry = l.entry(customer, "t", id, content).unwrap();
    let mut p = entry.lock().await;
    f(&mut p);
    l.save(customer, "t", id, &entry, &p).await;
}

#[tokio::test]
async fn a_persisted_ledger_remembers_outcomes_across_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let ttl = Duration::from_secs(60);
    let l = Ledger::persisted(10, ttl, path.clone());
    settle(&l, "u", "done", "hi", |p| p.response = Some(response())).await;
    settle(&l, "u", "lost", "hello", |p| p.user = Step::Unknown(5)).await;
    settle(&l, "u", "refused", "hey", |_| {}).await;
    drop(l);

    let l = Ledger::persisted(10, ttl, path);
    assert_eq!(
        l.len(),
        2,
        "nothing is kept for a message that never reached EverOS"
    );
    let done = l.entry("u", "t", "done", "hi").unwrap();
    assert_eq!(done.lock().await.response, Some(response()));
    assert_eq!(
        l.entry("u", "t", "done", "other").err(),
        Some(Refused::ContentMismatch)
    );
    let lost = l.entry("u", "t", "lost", "hello").unwrap();
    assert_eq!(lost.lock().await.user, Step::Unknown(5));
    assert!(l
        .entry("u", "t", "refused", "hey")
        .unwrap()
        .lock()
        .await
        .response
        .is_none());
}

#[tokio::test]
async fn forgetting_a_customer_reaches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let ttl = Duration::from_secs(60);
    let l = Ledger::persisted(10, ttl, path.clone());
    settle(&l, "gone", "m", "hi", |p| p.response = Some(response())).await;
    settle(&l, "kept", "m", "hi", |p| p.response = Some(response())).await;
    l.forget_customer("gone").await;
    assert_eq!(l.len(), 1);
    drop(l);
    let l = Ledger::persisted(10, ttl, path);
    assert_eq!(l.len(), 1);
    let back = l.entry("gone", "t", "m", "other").unwrap();
    assert!(back.lock().await.response.is_none());
}
