//! Unit tests of `crate::storage`, compiled only under `#[cfg(test)]` (see `mod.rs`).
use super::*;
use everdesk_api::json::{parse, Json};
use everdesk_api::json_struct;

#[derive(Debug, PartialEq)]
struct Prefs {
    sound: bool,
}
json_struct!(Prefs { sound });

/// The parsed form of a JSON literal (test shorthand).
fn json(text: &str) -> Json {
    parse(text).unwrap()
}

#[test]
fn keys_are_namespaced_and_versioned() {
    assert_eq!(Key::Tickets.name(), "everdesk:v1:tickets");
    assert_eq!(Key::Ticket("t-42".into()).name(), "everdesk:v1:ticket:t-42");
    assert_eq!(Key::Outbox.name(), "everdesk:v1:outbox");
    assert_eq!(Key::Session.name(), "everdesk:v1:session");
    assert_eq!(Key::Visitor.name(), "everdesk:v1:visitor");
    assert_eq!(Key::Prefs.name(), "everdesk:v1:prefs");
    assert!(PROBE_KEY.starts_with(NAMESPACE) && NAMESPACE.starts_with(PREFIX));
}

#[test]
fn key_names_parse_back() {
    for key in [
        Key::Tickets,
        Key::Ticket("a:b".into()),
        Key::Outbox,
        Key::Session,
        Key::Visitor,
        Key::Prefs,
    ] {
        assert_eq!(Key::parse(&key.name()), Some(key));
    }
    for foreign in [
        PROBE_KEY,
        "everdesk:v1:ticket:",
        "everdesk:v2:tickets",
        "cart",
        "",
    ] {
        assert_eq!(Key::parse(foreign), None, "{foreign}");
    }
}

#[test]
fn envelope_round_trips() {
    let raw = encode(&Prefs { sound: true });
    assert_eq!(json(&raw), json(r#"{ "v": 1, "d": { "sound": true } }"#));
    assert_eq!(decode(&raw), Decoded::Data(json(r#"{ "sound": true }"#)));
}

#[test]
fn legacy_unenveloped_values_migrate_from_v0() {
    assert_eq!(
        decode(r#"{"sound":false}"#),
        Decoded::Data(json(r#"{ "sound": false }"#))
    );
    assert_eq!(decode("[1,2]"), Decoded::Data(json("[1, 2]")));
    assert_eq!(
        decode(r#""visitor-1""#),
        Decoded::Data(json(r#""visitor-1""#))
    );
    assert_eq!(decode(r#"{"v":0,"d":[1]}"#), Decoded::Data(json("[1]")));
    // Looks like an envelope but the version is not a number: legacy data.
    assert_eq!(
        decode(r#"{"v":"x","d":1}"#),
        Decoded::Data(json(r#"{ "v": "x", "d": 1 }"#))
    );
    assert_eq!(
        migrate(0, json(r#"{ "a": 1 }"#)),
        Some(json(r#"{ "a": 1 }"#))
    );
    assert_eq!(migrate(CURRENT_VERSION, json("1")), None);
}

#[test]
fn newer_versions_are_left_alone_and_garbage_is_corrupt() {
    assert_eq!(decode(r#"{"v":2,"d":{}}"#), Decoded::Newer(2));
    assert!(matches!(decode("{not json"), Decoded::Corrupt(_)));
    assert!(matches!(decode(""), Decoded::Corrupt(_)));
}

#[test]
fn memory_store_round_trips_and_removes() {
    let store = Store::in_memory();
    assert!(!store.is_persistent());
    assert_eq!(store.degraded(), None);
    assert_eq!(store.get::<Prefs>(&Key::Prefs), None);
    store.set(&Key::Prefs, &Prefs { sound: true }).unwrap();
    assert_eq!(store.get(&Key::Prefs), Some(Prefs { sound: true }));
    let shared = store.clone();
    shared.remove(&Key::Prefs);
    assert_eq!(store.get::<Prefs>(&Key::Prefs), None);
}

#[test]
fn blocked_storage_mirrors_to_the_host_and_reloads_from_it() {
    use std::{cell::RefCell, rc::Rc};
    type Writes = Rc<RefCell<Vec<(String, Option<String>)>>>;
    let writes: Writes = Rc::default();
    let log = writes.clone();
    let store = Store::in_memory();
    let snapshot = vec![
        ("everdesk:v1:outbox".to_owned(), encode(&vec![7u8])),
        ("everdesk:v1:probe".to_owned(), "1".to_owned()),
        ("shop:cart".to_owned(), "[]".to_owned()),
    ];
    assert!(store.mirror_to_host(snapshot, move |k, v| {
        log.borrow_mut().push((k.to_owned(), v.map(str::to_owned)))
    }));
    assert!(store.is_persistent());
    assert!(!store.has_own_storage());
    // What the host kept from last time is readable; foreign keys are not taken.
    assert_eq!(store.get::<Vec<u8>>(&Key::Outbox), Some(vec![7]));
    store.set(&Key::Prefs, &Prefs { sound: true }).unwrap();
    store.remove(&Key::Outbox);
    // Another tab's change arrives without being echoed back.
    store.apply_host_change("everdesk:v1:tickets", Some(encode(&Vec::<u8>::new())));
    assert_eq!(store.get::<Vec<u8>>(&Key::Tickets), Some(vec![]));
    store.wipe().unwrap();
    let writes = writes.borrow();
    let names: Vec<(&str, bool)> = writes
        .iter()
        .map(|(k, v)| (k.as_str(), v.is_some()))
        .collect();
    assert_eq!(names[0], ("everdesk:v1:prefs", true));
    assert_eq!(names[1], ("everdesk:v1:outbox", false));
    assert!(names[2..].iter().all(|(_, set)| !set), "wipe only removes");
    assert!(names[2..].contains(&("everdesk:v1:prefs", false)));
    assert!(names[2..].contains(&("everdesk:v1:tickets", false)));
    assert_eq!(store.get::<Vec<u8>>(&Key::Tickets), None);
}

#[test]
fn credentials_never_reach_the_host_mirror() {
    use std::{cell::RefCell, rc::Rc};
    type Writes = Rc<RefCell<Vec<(String, Option<String>)>>>;
    assert!(is_secret("everdesk:v1:session") && is_secret("everdesk:v1:visitor"));
    assert!(!is_secret("everdesk:v1:tickets") && !is_secret("everdesk:v1:prefs"));
    let writes: Writes = Rc::default();
    let log = writes.clone();
    let store = Store::in_memory();
    // An older widget left both tokens in the host's storage.
    let snapshot = vec![
        ("everdesk:v1:visitor".to_owned(), encode("v-7")),
        ("everdesk:v1:session".to_owned(), encode("s-7")),
    ];
    store.mirror_to_host(snapshot, move |k, v| {
        log.borrow_mut().push((k.to_owned(), v.map(str::to_owned)))
    });
    assert_eq!(store.get::<String>(&Key::Visitor), None, "not adopted");
    assert_eq!(store.get::<String>(&Key::Session), None, "not adopted");
    // A host script planting one later is ignored too.
    store.apply_host_change("everdesk:v1:session", Some(encode("planted")));
    assert_eq!(store.get::<String>(&Key::Session), None);
    // The frame's own tokens live in memory only.
    store.set(&Key::Visitor, "v-8").unwrap();
    store.set(&Key::Session, "s-8").unwrap();
    assert_eq!(store.get::<String>(&Key::Session).as_deref(), Some("s-8"));
    let writes = writes.borrow();
    assert!(
        writes.iter().all(|(_, v)| v.is_none()),
        "only removals reach the host: {writes:?}"
    );
    let removed: Vec<&str> = writes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(removed, ["everdesk:v1:visitor", "everdesk:v1:session"]);
}

#[test]
fn wrong_shape_drops_only_that_key() {
    let store = Store::in_memory();
    store.set(&Key::Prefs, &"not prefs").unwrap();
    store.set(&Key::Visitor, &"v-1").unwrap();
    assert_eq!(store.get::<Prefs>(&Key::Prefs), None);
    assert_eq!(store.get::<String>(&Key::Prefs), None, "dropped, not kept");
    assert_eq!(store.get::<String>(&Key::Visitor).as_deref(), Some("v-1"));
}

#[test]
fn wipe_clears_memory() {
    let store = Store::in_memory();
    store.set(&Key::Outbox, &vec![1, 2]).unwrap();
    store.set(&Key::Ticket("9".into()), &true).unwrap();
    store.wipe().unwrap();
    assert_eq!(store.get::<Vec<u8>>(&Key::Outbox), None);
    assert_eq!(store.get::<bool>(&Key::Ticket("9".into())), None);
}

#[test]
fn quota_names_are_recognised() {
    assert!(is_quota_name("QuotaExceededError"));
    assert!(is_quota_name("NS_ERROR_DOM_QUOTA_REACHED"));
    assert!(!is_quota_name("SecurityError"));
}

#[test]
fn errors_read_well() {
    assert_eq!(
        StorageError::QuotaExceeded.to_string(),
        "browser storage is full"
    );
    assert!(StorageError::Unavailable("SecurityError".into())
        .to_string()
        .contains("SecurityError"));
}

/// Values exactly as the previous (serde) build stored them still read back, so an
/// update of the widget keeps every ticket and every unsent message.
#[test]
fn data_written_by_the_serde_build_still_reads() {
    use crate::state::{Delivery, Outbox, TicketRecord, TicketSummary};
    let store = Store::in_memory();
    let raw = |name: &str, data: &str| {
        let value = format!(r#"{{"v":1,"d":{data}}}"#);
        store
            .inner
            .memory
            .borrow_mut()
            .insert(name.to_owned(), value);
    };
    raw(
        "everdesk:v1:ticket:t1",
        r#"{"id":"t1","subject":"Refund","status":"open","created_at":1,"messages":[{"id":"m1","role":"user","content":"hi","created_at":2,"delivery":{"state":"failed","reason":"Offline"}},{"id":"r1","role":"assistant","content":"hello","created_at":3,"delivery":{"state":"sent"}}],"handoff":null,"recalled":[{"id":"e","session_id":"ticket_t0","summary":"Earlier","at":5,"score":0.5}],"last_read_at":3,"rating":null,"synced":true}"#,
    );
    raw(
        "everdesk:v1:outbox",
        r#"{"entries":[{"ticket_id":"t1","id":"m1","content":"hi","sent_at":2,"attempts":1,"next_try_at":9}]}"#,
    );
    raw(
        "everdesk:v1:tickets",
        r#"[{"id":"t1","subject":"Refund","status":"open","created_at":1,"updated_at":3,"unread":0,"preview":"hello"}]"#,
    );
    let record: TicketRecord = store.get(&Key::Ticket("t1".into())).unwrap();
    assert_eq!(record.messages.len(), 2);
    assert_eq!(
        record.messages[0].delivery,
        Delivery::Failed {
            reason: "Offline".into()
        }
    );
    assert_eq!(record.recalled[0].score, Some(0.5));
    assert!(record.synced && record.handoff.is_none());
    let outbox: Outbox = store.get(&Key::Outbox).unwrap();
    assert_eq!(outbox.entries()[0].next_try_at, 9);
    let list: Vec<TicketSummary> = store.get(&Key::Tickets).unwrap();
    assert_eq!(list[0].preview, "hello");
    // Members added later may be absent in older records.
    raw(
        "everdesk:v1:ticket:t2",
        r#"{"id":"t2","subject":"Old","status":"closed","created_at":1}"#,
    );
    let old: TicketRecord = store.get(&Key::Ticket("t2".into())).unwrap();
    assert!(old.messages.is_empty() && !old.synced && old.rating.is_none());
}
