//! Unit tests of `crate::storage`, compiled only under `#[cfg(test)]` (see `mod.rs`).
use super::*;
use serde::Deserialize;
use serde_json::json;
use serde_json::Value;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Prefs {
    sound: bool,
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
    let raw = encode(&Prefs { sound: true }).unwrap();
    let parsed: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(parsed, json!({ "v": 1, "d": { "sound": true } }));
    assert_eq!(
        decode(&raw),
        Decoded::Data(json!({ "sound": true }).to_string())
    );
}

#[test]
fn legacy_unenveloped_values_migrate_from_v0() {
    assert_eq!(
        decode(r#"{"sound":false}"#),
        Decoded::Data(json!({ "sound": false }).to_string())
    );
    assert_eq!(decode("[1,2]"), Decoded::Data(json!([1, 2]).to_string()));
    assert_eq!(
        decode(r#""visitor-1""#),
        Decoded::Data(json!("visitor-1").to_string())
    );
    assert_eq!(
        decode(r#"{"v":0,"d":[1]}"#),
        Decoded::Data(json!([1]).to_string())
    );
    // Looks like an envelope but the version is not a number: legacy data.
    assert_eq!(
        decode(r#"{"v":"x","d":1}"#),
        Decoded::Data(json!({ "v": "x", "d": 1 }).to_string())
    );
    assert_eq!(migrate(0, json!({ "a": 1 })), Some(json!({ "a": 1 })));
    assert_eq!(migrate(CURRENT_VERSION, json!(1)), None);
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
        ("everdesk:v1:visitor".to_owned(), encode(&"v-7").unwrap()),
        ("everdesk:v1:probe".to_owned(), "1".to_owned()),
        ("shop:cart".to_owned(), "[]".to_owned()),
    ];
    assert!(store.mirror_to_host(snapshot, move |k, v| {
        log.borrow_mut().push((k.to_owned(), v.map(str::to_owned)))
    }));
    assert!(store.is_persistent());
    // What the host kept from last time is readable; foreign keys are not taken.
    assert_eq!(store.get::<String>(&Key::Visitor).as_deref(), Some("v-7"));
    store.set(&Key::Prefs, &Prefs { sound: true }).unwrap();
    store.remove(&Key::Visitor);
    // Another tab's change arrives without being echoed back.
    store.apply_host_change(
        "everdesk:v1:tickets",
        Some(encode(&Vec::<u8>::new()).unwrap()),
    );
    assert_eq!(store.get::<Vec<u8>>(&Key::Tickets), Some(vec![]));
    store.wipe().unwrap();
    let writes = writes.borrow();
    let names: Vec<(&str, bool)> = writes
        .iter()
        .map(|(k, v)| (k.as_str(), v.is_some()))
        .collect();
    assert_eq!(names[0], ("everdesk:v1:prefs", true));
    assert_eq!(names[1], ("everdesk:v1:visitor", false));
    assert!(names[2..].iter().all(|(_, set)| !set), "wipe only removes");
    assert!(names[2..].contains(&("everdesk:v1:prefs", false)));
    assert!(names[2..].contains(&("everdesk:v1:tickets", false)));
    assert_eq!(store.get::<Vec<u8>>(&Key::Tickets), None);
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
