//! Browser tests (wasm-bindgen-test in headless Chromium) for what only a browser can
//! show: `Store` over real and throwing `localStorage`, `RichText` in a real DOM, and
//! `TabSync` over a real `BroadcastChannel`.
#![cfg(target_arch = "wasm32")]
// In tests a failed unwrap is a failed test, with the best message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{cell::RefCell, rc::Rc};

use everdesk::{
    components::rich_text::RichText,
    storage::{Key, StorageError, Store, PROBE_KEY},
    sync::{SyncEvent, SyncMode, TabSync},
};
use everdesk_api::{json, json_struct, HistoryEpisode};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod browser;

use browser::sleep;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Debug, Clone, PartialEq)]
struct Prefs {
    sound: bool,
}
json_struct!(Prefs { sound });

fn local() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

/// A storage-like JS object built from `body` (a function body returning it).
fn fake_storage(body: &str) -> web_sys::Storage {
    js_sys::Function::new_no_args(body)
        .call0(&JsValue::NULL)
        .unwrap()
        .unchecked_into()
}

/// A fresh container in the document, so tests do not see each other's DOM.
fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

/// Polls `done` every 20 ms for up to two seconds.
async fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if done() {
            return true;
        }
        sleep(20).await;
    }
    done()
}

#[wasm_bindgen_test]
fn round_trip_through_local_storage_in_an_envelope() {
    let store = Store::open();
    assert!(store.is_persistent());
    assert_eq!(store.degraded(), None);
    assert_eq!(
        local().get_item(PROBE_KEY).unwrap(),
        None,
        "probe removed at once"
    );

    let key = Key::Ticket("round-trip".into());
    store.set(&key, &Prefs { sound: true }).unwrap();
    let raw = local()
        .get_item("everdesk:v1:ticket:round-trip")
        .unwrap()
        .unwrap();
    let raw: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(raw, serde_json::json!({ "v": 1, "d": { "sound": true } }));

    let reopened = Store::open();
    assert_eq!(reopened.get(&key), Some(Prefs { sound: true }));
    reopened.remove(&key);
    assert_eq!(store.get::<Prefs>(&key), None);
    assert_eq!(
        local().get_item("everdesk:v1:ticket:round-trip").unwrap(),
        None
    );
}

#[wasm_bindgen_test]
fn throwing_storage_falls_back_to_memory() {
    let storage = fake_storage(
        "const fail = () => { throw new DOMException('blocked', 'SecurityError'); };
         return { getItem: fail, setItem: fail, removeItem: fail, key: fail, get length() { return fail(); } };",
    );
    let store = Store::from_storage(storage);
    assert!(!store.is_persistent());
    assert!(
        matches!(store.degraded(), Some(StorageError::Unavailable(why)) if why.contains("SecurityError"))
    );
    store.set(&Key::Prefs, &Prefs { sound: false }).unwrap();
    assert_eq!(store.get(&Key::Prefs), Some(Prefs { sound: false }));
    store.wipe().unwrap();
    assert_eq!(store.get::<Prefs>(&Key::Prefs), None);
}

#[wasm_bindgen_test]
fn blocked_storage_takes_the_host_mirror_but_working_storage_does_not() {
    let blocked = Store::from_storage(fake_storage(
        "const fail = () => { throw new DOMException('blocked', 'SecurityError'); };
         return { getItem: fail, setItem: fail, removeItem: fail, key: fail, get length() { return fail(); } };",
    ));
    assert!(blocked.mirror_to_host(Vec::new(), |_, _| {}));
    assert!(blocked.is_persistent());
    assert_eq!(
        blocked.degraded(),
        None,
        "the notice goes away: data persists via the host"
    );

    let working = Store::from_storage(local());
    assert!(!working.mirror_to_host(Vec::new(), |_, _| {}));
}

#[wasm_bindgen_test]
fn full_storage_keeps_the_write_in_memory_and_reports_quota() {
    let storage = fake_storage(
        "const data = new Map();
         return {
           getItem: (k) => data.has(k) ? data.get(k) : null,
           setItem: (k, v) => {
             if (k !== 'everdesk:v1:probe') throw new DOMException('full', 'QuotaExceededError');
             data.set(k, String(v));
           },
           removeItem: (k) => { data.delete(k); },
           key: (i) => Array.from(data.keys())[i] ?? null,
           get length() { return data.size; },
         };",
    );
    let store = Store::from_storage(storage);
    assert!(store.is_persistent());
    assert_eq!(
        store.set(&Key::Outbox, &vec!["hello"]),
        Err(StorageError::QuotaExceeded)
    );
    assert_eq!(store.degraded(), Some(StorageError::QuotaExceeded));
    assert_eq!(
        store.get::<Vec<String>>(&Key::Outbox),
        Some(vec!["hello".to_owned()])
    );
}

#[wasm_bindgen_test]
fn corrupt_json_drops_only_its_key() {
    let store = Store::open();
    let good = Key::Ticket("good".into());
    store.set(&good, &"kept").unwrap();
    local()
        .set_item("everdesk:v1:ticket:corrupt", "{not json")
        .unwrap();
    local()
        .set_item("everdesk:v1:ticket:shape", r#"{"v":1,"d":"text"}"#)
        .unwrap();

    assert_eq!(store.get::<String>(&Key::Ticket("corrupt".into())), None);
    assert_eq!(
        local().get_item("everdesk:v1:ticket:corrupt").unwrap(),
        None
    );
    assert_eq!(store.get::<Prefs>(&Key::Ticket("shape".into())), None);
    assert_eq!(local().get_item("everdesk:v1:ticket:shape").unwrap(), None);
    assert_eq!(store.get::<String>(&good).as_deref(), Some("kept"));
    store.remove(&good);
}

#[wasm_bindgen_test]
fn legacy_values_migrate_and_newer_ones_are_left_alone() {
    let store = Store::open();
    local()
        .set_item("everdesk:v1:ticket:legacy", "[1,2,3]")
        .unwrap();
    assert_eq!(
        store.get::<Vec<u32>>(&Key::Ticket("legacy".into())),
        Some(vec![1, 2, 3])
    );

    local()
        .set_item("everdesk:v1:ticket:newer", r#"{"v":9,"d":1}"#)
        .unwrap();
    assert_eq!(store.get::<u32>(&Key::Ticket("newer".into())), None);
    assert_eq!(
        local()
            .get_item("everdesk:v1:ticket:newer")
            .unwrap()
            .as_deref(),
        Some(r#"{"v":9,"d":1}"#),
        "untouched"
    );
    store.wipe().unwrap();
}

#[wasm_bindgen_test]
fn wipe_removes_only_everdesk_keys() {
    let store = Store::open();
    local().set_item("host-cart", "3 items").unwrap();
    local().set_item("everdesk:v0:old", "x").unwrap();
    store.set(&Key::Visitor, &"v-1").unwrap();
    store.set(&Key::Ticket("w".into()), &1).unwrap();

    store.wipe().unwrap();
    assert_eq!(
        local().get_item("host-cart").unwrap().as_deref(),
        Some("3 items")
    );
    assert_eq!(local().get_item("everdesk:v0:old").unwrap(), None);
    assert_eq!(store.get::<String>(&Key::Visitor), None);
    assert_eq!(store.get::<u32>(&Key::Ticket("w".into())), None);
    local().remove_item("host-cart").unwrap();

    // Opening writes nothing that stays: only the probe, removed at once.
    let _reopened = Store::open();
    let storage = local();
    let names: Vec<String> = (0..storage.length().unwrap())
        .filter_map(|i| storage.key(i).unwrap())
        .filter(|name| name.starts_with("everdesk:"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

/// Every element matching `selector` under `root`.
fn all(root: &web_sys::HtmlElement, selector: &str) -> Vec<web_sys::Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into().ok())
        .collect()
}

#[wasm_bindgen_test]
async fn rich_text_shows_xss_as_text_and_links_only_http() {
    let root = container();
    let message = "<img src=x onerror=alert(1)> <script>alert(1)</script>\n\
                   [x](javascript:alert(1)) javascript:alert(1) see https://example.com/a.";
    let _mount = leptos::mount::mount_to(root.clone(), move || view! { <RichText text=message /> });
    leptos::task::tick().await;

    assert!(all(&root, "img, script").is_empty());
    let text = root.text_content().unwrap();
    assert!(text.contains("<img src=x onerror=alert(1)>"), "{text}");
    assert!(text.contains("<script>alert(1)</script>"), "{text}");
    assert!(text.contains("[x](javascript:alert(1))"), "{text}");

    let links = all(&root, "a");
    assert_eq!(links.len(), 1);
    let link = &links[0];
    assert_eq!(
        link.get_attribute("href").as_deref(),
        Some("https://example.com/a")
    );
    assert_eq!(
        link.get_attribute("rel").as_deref(),
        Some("noopener noreferrer")
    );
    assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
    assert_eq!(
        link.text_content().as_deref(),
        Some("https://example.com/a")
    );
    assert_eq!(all(&root, "br").len(), 1);
}

#[wasm_bindgen_test]
async fn rich_text_renders_formatting_as_elements() {
    let root = container();
    let message =
        "**Hi** *there* `code`\n\n1. one\n2. [docs](https://example.com/docs)\n\n- a\n- b";
    let _mount = leptos::mount::mount_to(root.clone(), move || view! { <RichText text=message /> });
    leptos::task::tick().await;

    let strong = all(&root, "p strong");
    assert_eq!(strong.len(), 1);
    assert_eq!(strong[0].text_content().as_deref(), Some("Hi"));
    assert_eq!(
        all(&root, "p em")[0].text_content().as_deref(),
        Some("there")
    );
    assert_eq!(
        all(&root, "p code")[0].text_content().as_deref(),
        Some("code")
    );
    assert_eq!(all(&root, "ol > li").len(), 2);
    assert_eq!(all(&root, "ul > li").len(), 2);
    let docs = all(&root, "ol a");
    assert_eq!(docs[0].text_content().as_deref(), Some("docs"));
    assert_eq!(
        docs[0].get_attribute("href").as_deref(),
        Some("https://example.com/docs")
    );
}

#[wasm_bindgen_test]
async fn tab_sync_delivers_between_channels_and_elects_one_announcer() {
    let seen_a = Rc::new(RefCell::new(Vec::new()));
    let seen_b = Rc::new(RefCell::new(Vec::new()));
    let a = TabSync::connect({
        let seen = seen_a.clone();
        move |event| seen.borrow_mut().push(event)
    });
    let b = TabSync::connect({
        let seen = seen_b.clone();
        move |event| seen.borrow_mut().push(event)
    });
    assert_eq!(a.mode(), SyncMode::Channel);

    let changed = SyncEvent::TicketChanged {
        ticket_id: "t-7".into(),
    };
    a.publish(&changed);
    assert!(
        eventually(|| !seen_b.borrow().is_empty()).await,
        "b heard a"
    );
    assert_eq!(*seen_b.borrow(), vec![changed]);
    b.publish(&SyncEvent::Wiped);
    assert!(
        eventually(|| !seen_a.borrow().is_empty()).await,
        "a heard b"
    );
    assert_eq!(
        *seen_a.borrow(),
        vec![SyncEvent::Wiped],
        "a does not hear itself"
    );

    let document = web_sys::window().unwrap().document().unwrap();
    let page_focused = document.visibility_state() == web_sys::VisibilityState::Visible
        && document.has_focus().unwrap();
    a.claim();
    sleep(200).await;
    b.claim();
    assert!(b.is_announcer());
    assert!(
        eventually(|| a.is_announcer() == page_focused).await,
        "a stood down"
    );
    // Claims are not events.
    assert_eq!(seen_a.borrow().len(), 1);
    assert_eq!(seen_b.borrow().len(), 1);
}

#[wasm_bindgen_test]
fn tab_sync_falls_back_to_storage_events_without_broadcast_channel() {
    let window = web_sys::window().unwrap();
    let original = js_sys::Reflect::get(&window, &"BroadcastChannel".into()).unwrap();
    js_sys::Reflect::delete_property(&window, &"BroadcastChannel".into()).unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sync = TabSync::connect({
        let seen = seen.clone();
        move |event| seen.borrow_mut().push(event)
    });
    js_sys::Reflect::set(&window, &"BroadcastChannel".into(), &original).unwrap();
    assert_eq!(sync.mode(), SyncMode::StorageEvents);
    sync.publish(&SyncEvent::OutboxChanged); // a no-op, and no panic

    // What another tab's writes look like here.
    js_sys::Function::new_no_args(
        "for (const [key, newValue] of [
           ['everdesk:v1:outbox', '{}'], ['host-cart', '1'], ['everdesk:v1:session', null],
           ['everdesk:v1:tickets', null],
         ]) window.dispatchEvent(new StorageEvent('storage', { key, newValue }));",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    // `dispatchEvent` runs listeners synchronously. A removed session is a renewal;
    // a removed ticket list is a wipe.
    assert_eq!(
        *seen.borrow(),
        vec![SyncEvent::OutboxChanged, SyncEvent::Wiped]
    );

    drop(sync);
    js_sys::Function::new_no_args(
        "window.dispatchEvent(new StorageEvent('storage', { key: 'everdesk:v1:tickets', newValue: '[]' }));",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    assert_eq!(seen.borrow().len(), 2, "dropped TabSync stops listening");
}

/// In the browser, floats go through the JS engine's own conversions: exact both ways.
#[wasm_bindgen_test]
fn float_members_round_trip_through_the_js_engine() {
    for score in [0.8125, 0.1, 1e21, 5e-324, 123.0, -2.5] {
        let episode = HistoryEpisode {
            id: "e".into(),
            session_id: "ticket_t".into(),
            subject: None,
            summary: "s".into(),
            at: None,
            score: Some(score),
        };
        let text = json::to_string(&episode);
        assert_eq!(
            json::from_str::<HistoryEpisode>(&text),
            Ok(episode),
            "{text}"
        );
    }
    let read: HistoryEpisode =
        json::from_str(r#"{"id":"e","session_id":"s","summary":"x","score":2.5e-3}"#).unwrap();
    assert_eq!(read.score, Some(0.0025));
}
