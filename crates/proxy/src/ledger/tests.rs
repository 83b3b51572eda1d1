//! The ledger's tests, on SQLite and (when configured) PostgreSQL: sharing and bounds of
//! entries, fair room-making, progress surviving a new process, claims across replicas.

use super::*;
use crate::store::testing::stores;

const HOUR: Duration = Duration::from_secs(3600);

async fn ledgers(name: &str, capacity: usize, ttl: Duration) -> Vec<Ledger> {
    stores(name)
        .await
        .into_iter()
        .map(|s| Ledger::new(s, capacity, ttl))
        .collect()
}

#[tokio::test]
async fn same_id_same_content_shares_the_entry() {
    for l in ledgers("ledger_share", 10, HOUR).await {
        let a = l.entry("u", "t", "m", "hi", "").await.unwrap();
        let b = l.entry("u", "t", "m", "hi", "").await.unwrap();
        assert!(a.same(&b));
        assert_eq!(
            l.entry("u", "t", "m", "bye", "").await.err(),
            Some(Refused::ContentMismatch)
        );
        let other = l.entry("v", "t", "m", "bye", "").await.unwrap();
        assert!(!a.same(&other), "keyed by customer");
    }
}

#[tokio::test]
async fn bounded_by_capacity_and_ttl() {
    for s in stores("ledger_bounds").await {
        let l = Ledger::new(s.clone(), 2, HOUR).with_retry_window(Duration::ZERO);
        for id in ["1", "2", "3"] {
            l.entry("u", "t", id, "x", "").await.unwrap();
        }
        assert_eq!(l.count_ids().await, 2);
        let l = Ledger::new(s, 10, Duration::ZERO);
        l.entry("u", "t", "m", "x", "").await.unwrap();
        assert!(
            l.entry("u", "t", "m", "y", "").await.is_ok(),
            "expired ids are forgotten"
        );
    }
}

#[tokio::test]
async fn a_full_ledger_refuses_only_the_client_that_filled_it() {
    for l in ledgers("ledger_fair", 20, HOUR).await {
        // Two honest customers, then a flood by one customer from one IP.
        l.entry("victim", "t", "v", "x", "10.0.0.1").await.unwrap();
        l.entry("other", "t", "o", "x", "10.0.0.2").await.unwrap();
        for i in 0..18 {
            l.entry("flood", "t", &i.to_string(), "x", "10.6.6.6")
                .await
                .unwrap();
        }
        // Full, all young: the flood replaces its own oldest.
        for i in 18..40 {
            l.entry("flood", "t", &i.to_string(), "x", "10.6.6.6")
                .await
                .unwrap();
        }
        assert_eq!(l.count_ids().await, 20);
        assert_eq!(
            l.entry("victim", "t", "v", "other", "10.0.0.1").await.err(),
            Some(Refused::ContentMismatch),
            "the victim's id is still remembered"
        );
        // Many visitors from one IP: they share that IP's slots, not everyone's.
        for i in 0..30 {
            l.entry(&format!("visitor{i}"), "t", "m", "x", "10.6.6.6")
                .await
                .unwrap();
        }
        // A newcomer from elsewhere gets in: someone else's id makes room.
        assert!(l.entry("new", "t", "n", "x", "10.0.0.9").await.is_ok());
        assert_eq!(
            l.entry("other", "t", "o", "y", "10.0.0.2").await.err(),
            Some(Refused::ContentMismatch),
            "the other honest id survived too"
        );
    }
}

#[tokio::test]
async fn ids_in_use_are_never_taken_and_a_client_whose_ids_all_are_waits() {
    for l in ledgers("ledger_in_use", 1, HOUR).await {
        let held = l.entry("a", "t", "1", "x", "").await.unwrap();
        let _claim = l.claim(&held).await.unwrap();
        match l.entry("a", "t", "2", "x", "").await {
            Err(Refused::Full(wait)) => assert!(wait > Duration::from_secs(590), "{wait:?}"),
            other => panic!("expected Full, got {other:?}"),
        }
        assert!(l.entry("a", "t", "1", "x", "").await.is_ok());
    }
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
        reply: Some(msg("re_m", everdesk_api::Role::Assistant, 11)),
        context: Context::default(),
        handled_by: None,
    }
}

/// Runs `f` on the entry's progress, then saves it, as the message flow does.
async fn settle(l: &Ledger, customer: &str, id: &str, content: &str, f: fn(&mut Progress)) {
    let entry = l.entry(customer, "t", id, content, "").await.unwrap();
    let mut claim = l.claim(&entry).await.unwrap();
    f(&mut claim);
    let p = claim.clone();
    l.save(&claim, &p).await;
    l.release(claim).await;
}

#[tokio::test]
async fn progress_survives_into_another_process() {
    for s in stores("ledger_reload").await {
        let l = Ledger::new(s.clone(), 10, HOUR);
        settle(&l, "u", "done", "hi", |p| p.response = Some(response())).await;
        settle(&l, "u", "lost", "hello", |p| p.user = Step::Unknown(5)).await;
        settle(&l, "u", "refused", "hey", |_| {}).await;
        assert!(l.has_unknown_user_turn("u", "t").await);
        drop(l);

        let l = Ledger::new(s, 10, HOUR);
        let done = l.entry("u", "t", "done", "hi", "").await.unwrap();
        assert_eq!(l.claim(&done).await.unwrap().response, Some(response()));
        assert_eq!(
            l.entry("u", "t", "done", "other", "").await.err(),
            Some(Refused::ContentMismatch)
        );
        let lost = l.entry("u", "t", "lost", "hello", "").await.unwrap();
        let claim = l.claim(&lost).await.unwrap();
        assert_eq!(claim.user, Step::Unknown(5));
        assert!(
            !l.has_unknown_user_turn("u", "t").await,
            "being resolved right now"
        );
        l.release(claim).await;
        let refused = l.entry("u", "t", "refused", "hey", "").await.unwrap();
        assert!(l.claim(&refused).await.unwrap().response.is_none());
    }
}

#[tokio::test]
async fn forgetting_a_customer_removes_their_rows() {
    for s in stores("ledger_forget").await {
        let l = Ledger::new(s.clone(), 10, HOUR);
        settle(&l, "gone", "m", "hi", |p| p.response = Some(response())).await;
        settle(&l, "kept", "m", "hi", |p| p.response = Some(response())).await;
        s.forget_customer("gone", 1).await.unwrap();
        assert_eq!(l.count_ids().await, 1);
        let back = l.entry("gone", "t", "m", "other", "").await.unwrap();
        assert!(l.claim(&back).await.unwrap().response.is_none());
    }
}

/// Two replicas on one PostgreSQL database: one waits for the other's claim, gets
/// `Busy` past its wait, and takes over a claim whose holder died (lease expired).
#[tokio::test]
async fn replicas_take_turns_and_take_over_a_dead_claim() {
    let shared: Vec<_> = stores("ledger_replicas")
        .await
        .into_iter()
        .filter(Store::is_shared)
        .collect();
    let Some(s) = shared.into_iter().next() else {
        eprintln!("NOTICE: replicas_take_turns_and_take_over_a_dead_claim skipped (no PostgreSQL)");
        return;
    };
    let fast = |l: Ledger| {
        l.with_lease(Duration::from_millis(600))
            .with_claim_wait(Duration::from_millis(300))
    };
    let a = fast(Ledger::new(s.clone(), 10, HOUR));
    let b = fast(Ledger::new(s.clone(), 10, HOUR));
    let on_a = a.entry("u", "t", "m", "hi", "").await.unwrap();
    let on_b = b.entry("u", "t", "m", "hi", "").await.unwrap();
    let mut claim = a.claim(&on_a).await.unwrap();
    claim.user = Step::Unknown(42);
    let p = claim.clone();
    a.save(&claim, &p).await;
    // Held (and renewed) by A past B's wait and past one lease.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(matches!(b.claim(&on_b).await, Err(ClaimRefused::Busy(_))));
    // A releases: B gets it with A's progress.
    drop(claim);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let taken = b.claim(&on_b).await.unwrap();
    assert_eq!(taken.user, Step::Unknown(42));
    // B "dies" holding it (no release, no renewal): A takes over after the lease.
    taken.abandon();
    let started = Instant::now();
    let mut again = None;
    for _ in 0..10 {
        match a.claim(&on_a).await {
            Ok(c) => {
                again = Some(c);
                break;
            }
            Err(ClaimRefused::Busy(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(again.is_some(), "the dead claim expired");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn admit_claims_a_new_id_at_once_and_a_retry_resumes_its_progress() {
    for l in ledgers("ledger_admit", 100, HOUR).await {
        // Counted once (far from full): the next new ids take the one-statement path.
        l.entry("u", "t", "first", "x", "").await.unwrap();
        let p = l.admit("u", "t", "m", "hi", "").await.unwrap();
        assert_eq!(p.user, Step::Pending);
        assert!(p.response.is_none());
        // Held: another replica (another ledger on the same store) cannot take it.
        let other = Ledger::new(l.store.clone(), 100, HOUR).with_claim_wait(Duration::ZERO);
        assert!(matches!(
            other.admit("u", "t", "m", "hi", "").await.err(),
            Some(AdmitRefused::Claim(ClaimRefused::Busy(_)))
        ));
        let done = Progress {
            user: Step::Unknown(5),
            ..Progress::default()
        };
        l.finish(p, done).await;
        let again = other.admit("u", "t", "m", "hi", "").await.unwrap();
        assert_eq!(
            again.user,
            Step::Unknown(5),
            "the finished progress, released"
        );
        other.release(again).await;
        assert_eq!(
            l.admit("u", "t", "m", "bye", "").await.err(),
            Some(AdmitRefused::Entry(Refused::ContentMismatch))
        );
        assert_eq!(l.count_ids().await, 2);
    }
}
