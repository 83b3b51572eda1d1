//! Browser tests (wasm-bindgen-test in headless Chromium) of the components and
//! the bridge: the real components mounted into a real DOM, asserted by role, text,
//! aria and data attributes — never by pasted HTML.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use everdesk::{
    actions::{Chat, View},
    bridge::{HostToFrame, Link},
    components::{handoff_card::HandoffCard, history_list::HistoryList, message_item::MessageItem},
    config::{Theme, WidgetConfig},
    i18n::EN,
    state::{ChatMessage, Delivery, TicketRecord},
    storage::Store,
    App,
};
use everdesk_api::{Handoff, HistoryEpisode, Message, Role, TicketStatus};
use leptos::prelude::*;
use std::{cell::RefCell, rc::Rc};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod browser;

use browser::sleep;

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh container in the document, so tests do not see each other's DOM.
fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

fn q(root: &web_sys::Element, selector: &str) -> web_sys::Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
}

fn all(root: &web_sys::Element, selector: &str) -> Vec<web_sys::Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into())
        .collect()
}

fn text(el: &web_sys::Element) -> String {
    el.text_content().unwrap_or_default()
}

fn click(el: &web_sys::Element) {
    el.clone().unchecked_into::<web_sys::HtmlElement>().click();
}

fn chat() -> Chat {
    Chat::new(Store::in_memory())
}

fn mount_app(chat: Chat) -> web_sys::HtmlElement {
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <App chat=chat /> });
    handle.forget();
    root
}

fn reply(id: &str, content: &str, at: i64) -> Message {
    Message {
        id: id.into(),
        role: Role::Assistant,
        content: content.into(),
        created_at: at,
    }
}

#[wasm_bindgen_test]
async fn panel_is_a_labelled_dialog_that_follows_config_and_locale() {
    let chat = chat();
    let root = mount_app(chat);
    let dialog = q(&root, "[role=dialog]");
    let label_id = dialog.get_attribute("aria-labelledby").unwrap();
    let heading = q(&root, &format!("#{label_id}"));
    assert_eq!(text(&heading), "Support");
    assert_eq!(dialog.get_attribute("dir").as_deref(), Some("ltr"));

    chat.config.set(WidgetConfig {
        title: Some("Acme help".into()),
        theme: Theme::Dark,
        color: Some("#112233".into()),
        locale: "ar".into(),
        ..WidgetConfig::default()
    });
    leptos::task::tick().await;
    // A new locale re-renders the panel: look the elements up again.
    let dialog = q(&root, "[role=dialog]");
    let heading = q(&root, "#ed-title");
    assert_eq!(text(&heading), "Acme help");
    assert_eq!(dialog.get_attribute("data-theme").as_deref(), Some("dark"));
    assert_eq!(dialog.get_attribute("dir").as_deref(), Some("rtl"));
    assert_eq!(dialog.get_attribute("lang").as_deref(), Some("ar"));
    let style = dialog.get_attribute("style").unwrap_or_default();
    assert!(style.contains("--ed-brand: #112233"), "{style}");
    assert!(style.contains("--ed-on-brand: #ffffff"), "{style}");
    let close = q(&root, "button[aria-label='إغلاق محادثة الدعم']");
    click(&close);
    leptos::task::tick().await;
    assert!(!chat.panel_open.get_untracked());
}

#[wasm_bindgen_test]
async fn ticket_list_explains_emptiness_then_lists_open_first_with_unread() {
    let chat = chat();
    let root = mount_app(chat);
    assert_eq!(
        text(&q(&root, "#ed-title")),
        EN.support,
        "the default heading"
    );
    assert!(text(&root).contains(EN.no_conversations));
    assert!(text(&root).contains(EN.past_tickets_empty));

    let mut old = TicketRecord::new("t-old".into(), "Old closed ticket".into(), 1_000);
    old.status = TicketStatus::Closed;
    let mut fresh = TicketRecord::new("t-new".into(), "Refund please".into(), 2_000);
    fresh.add_confirmed([reply("r1", "We are on it", 2_500)]);
    let mut list = vec![old.summary(), fresh.summary()];
    everdesk::state::ticket::sort_newest_first(&mut list);
    chat.tickets.set(list);
    leptos::task::tick().await;

    let items: Vec<String> = all(&root, ".ed-ticket__subject").iter().map(text).collect();
    assert_eq!(items, ["Refund please", "Old closed ticket"]);
    let badges = all(&root, "[data-testid=unread]");
    assert_eq!(badges.len(), 1);
    assert_eq!(text(&badges[0]), "1 new");
    assert!(!text(&root).contains(EN.no_conversations));
}

#[wasm_bindgen_test]
async fn message_states_show_sending_sent_and_failed_with_retry() {
    let root = container();
    let retried = RwSignal::new(Vec::<String>::new());
    let on_retry = Callback::new(move |id: String| retried.update(|r| r.push(id)));
    let mut failed = ChatMessage::pending("m3".into(), "third".into(), 3);
    failed.delivery = Delivery::Failed {
        reason: "offline".into(),
    };
    let mut sent = ChatMessage::pending("m2".into(), "second".into(), 2);
    sent.delivery = Delivery::Sent;
    let messages = vec![
        ChatMessage::pending("m1".into(), "first".into(), 1),
        sent,
        failed,
        ChatMessage::confirmed(reply("r", "a reply", 4)),
    ];
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <ul>
                {messages.clone().into_iter().map(|m| view! { <MessageItem message=m strings=&EN on_retry=on_retry /> }).collect_view()}
            </ul>
        }
    });
    handle.forget();
    let state = |id: &str| q(&root, &format!("[data-message-id='{id}']"));
    assert_eq!(
        state("m1").get_attribute("data-delivery").as_deref(),
        Some("sending")
    );
    assert!(text(&state("m1")).contains(EN.sending));
    assert!(text(&state("m2")).contains(EN.sent));
    assert!(text(&state("m3")).contains("Not sent — offline"));
    assert!(
        !text(&state("r")).contains(EN.sent),
        "replies carry no delivery state"
    );
    assert!(text(&state("r")).contains("Support: "));
    assert!(all(&state("m1"), "button").is_empty());
    click(&q(&state("m3"), "button"));
    assert_eq!(retried.get_untracked(), vec!["m3".to_owned()]);
}

#[wasm_bindgen_test]
async fn history_list_shows_subject_summary_and_date_or_explains_itself() {
    let root = container();
    let episodes = vec![HistoryEpisode {
        id: "e1".into(),
        session_id: "ticket_1".into(),
        subject: Some("Double charge".into()),
        summary: "Customer was charged twice; a refund was issued.".into(),
        at: Some(1_794_400_000_000),
        score: Some(2.0),
    }];
    leptos::mount::mount_to(root.clone(), move || {
        view! {
            <div id="full"><HistoryList episodes=episodes.clone() strings=&EN /></div>
            <div id="empty"><HistoryList episodes=Vec::new() strings=&EN /></div>
        }
    })
    .forget();
    let full = q(&root, "#full");
    assert_eq!(text(&q(&full, ".ed-history__subject")), "Double charge");
    assert!(text(&q(&full, ".ed-history__summary")).contains("refund was issued"));
    assert!(text(&q(&full, ".ed-history__date")).contains("2026"));
    assert_eq!(text(&q(&root, "#empty")), EN.past_tickets_empty);
}

#[wasm_bindgen_test]
async fn handoff_card_renders_summary_and_keeps_payloads_inert() {
    let root = container();
    let handoff = Handoff {
        ticket_id: "t".into(),
        customer_summary: "Ada, Pro plan".into(),
        issue_summary: "<img src=x onerror=alert(1)> Refund not received".into(),
        attempted_solutions: vec!["Checked the invoice".into(), "Re-sent the receipt".into()],
        customer_sentiment: "frustrated".into(),
        relevant_history: vec![],
        handoff_note: "Call back **today**".into(),
        created_at: 1,
        delivered: false,
    };
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <HandoffCard handoff=handoff.clone() strings=&EN /> },
    )
    .forget();
    let card = q(&root, "[data-testid=handoff]");
    let label = card.get_attribute("aria-labelledby").unwrap();
    assert_eq!(text(&q(&root, &format!("#{label}"))), EN.handoff_title);
    assert!(text(&card).contains("<img src=x onerror=alert(1)> Refund not received"));
    assert!(all(&card, "img").is_empty());
    let tried: Vec<String> = all(&card, ".ed-handoff__tried li")
        .iter()
        .map(text)
        .collect();
    assert_eq!(tried, ["Checked the invoice", "Re-sent the receipt"]);
    assert_eq!(text(&q(&card, "strong")), "today");
}

fn type_into(area: &web_sys::HtmlTextAreaElement, value: &str) {
    area.set_value(value);
    area.dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

fn key(target: &web_sys::EventTarget, key: &str, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

#[wasm_bindgen_test]
async fn composer_enter_sends_into_the_outbox_and_shift_enter_does_not() {
    let chat = chat();
    let record = TicketRecord::new("t1".into(), "Broken pole".into(), 10);
    chat.current.set(Some(record));
    chat.view.set(View::Ticket("t1".into()));
    let root = mount_app(chat);
    leptos::task::tick().await;
    let area: web_sys::HtmlTextAreaElement = q(&root, "textarea#ed-message").unchecked_into();
    let label = q(&root, "label[for=ed-message]");
    assert_eq!(text(&label), EN.message_label);

    type_into(&area, "   ");
    key(&area, "Enter", false);
    leptos::task::tick().await;
    assert!(
        chat.outbox.get_untracked().is_empty(),
        "blank drafts are not sent"
    );

    type_into(&area, "The pole snapped");
    key(&area, "Enter", true);
    leptos::task::tick().await;
    assert!(
        chat.outbox.get_untracked().is_empty(),
        "Shift+Enter is a new line"
    );

    key(&area, "Enter", false);
    leptos::task::tick().await;
    let outbox = chat.outbox.get_untracked();
    assert_eq!(outbox.entries().len(), 1);
    assert_eq!(outbox.entries()[0].content, "The pole snapped");
    assert_eq!(area.value(), "", "the composer clears after sending");
    let msg = q(
        &root,
        &format!("[data-message-id='{}']", outbox.entries()[0].id),
    );
    assert_eq!(
        msg.get_attribute("data-delivery").as_deref(),
        Some("sending")
    );

    // Over the limit: the counter shows and the button is disabled, the text stays.
    type_into(&area, &"x".repeat(4001));
    leptos::task::tick().await;
    let counter = q(&root, "#ed-counter");
    assert!(text(&counter).contains("-1"));
    let send = q(&root, ".ed-composer button[type=submit]");
    assert!(send.has_attribute("disabled"));
}

#[wasm_bindgen_test]
async fn closed_ticket_is_read_only() {
    let chat = chat();
    let mut record = TicketRecord::new("t1".into(), "Done".into(), 10);
    record.status = TicketStatus::Closed;
    chat.current.set(Some(record));
    chat.view.set(View::Ticket("t1".into()));
    let root = mount_app(chat);
    leptos::task::tick().await;
    assert!(root
        .query_selector("textarea#ed-message")
        .unwrap()
        .is_none());
    assert!(text(&root).contains(EN.closed_notice));
}

fn post(origin: &str, source: Option<&web_sys::Window>, data: &str) {
    let init = web_sys::MessageEventInit::new();
    init.set_data(&JsValue::from_str(data));
    init.set_origin(origin);
    if let Some(w) = source {
        init.set_source(Some(w.as_ref()));
    }
    let ev = web_sys::MessageEvent::new_with_event_init_dict("message", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&ev).unwrap();
}

#[wasm_bindgen_test]
async fn bridge_ignores_other_origins_and_non_parent_sources() {
    let seen = Rc::new(RefCell::new(Vec::<HostToFrame>::new()));
    let sink = seen.clone();
    let _link = Link::connect("https://host.example".into(), move |m| {
        sink.borrow_mut().push(m)
    });
    let window = web_sys::window().unwrap();
    // In a top-level test page, window.parent is the window itself.
    let parent = window.parent().unwrap().unwrap();
    post(
        "https://evil.example",
        Some(&parent),
        r#"{"type":"opened"}"#,
    );
    post("https://host.example", None, r#"{"type":"opened"}"#);
    post(
        "https://host.example",
        Some(&parent),
        r#"{"type":"nonsense"}"#,
    );
    assert!(seen.borrow().is_empty(), "{:?}", seen.borrow());
    post(
        "https://host.example",
        Some(&parent),
        r#"{"type":"opened"}"#,
    );
    assert_eq!(*seen.borrow(), vec![HostToFrame::Opened]);
}

fn hmac(user: &str) -> everdesk_api::SessionRequest {
    everdesk_api::SessionRequest::Hmac {
        user_id: user.into(),
        user_hash: "00".into(),
        name: None,
        email: None,
    }
}

#[wasm_bindgen_test]
async fn another_customer_never_sees_the_previous_customers_tickets() {
    let store = Store::in_memory();
    let chat = Chat::new(store.clone());
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(chat.start_ticket("Alice's refund"));
    assert_eq!(chat.tickets.get_untracked().len(), 1);
    // Same customer again (e.g. after a reload): nothing is wiped.
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert_eq!(chat.tickets.get_untracked().len(), 1);
    // A different customer logs in on this browser: the local data is wiped first.
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    assert!(chat.tickets.get_untracked().is_empty());
    assert!(store
        .get::<Vec<everdesk::state::TicketSummary>>(&everdesk::storage::Key::Tickets)
        .is_none());
    // Bob's first ticket records Bob as the owner again.
    assert!(chat.start_ticket("Bob's order"));
    let reloaded = Chat::new(store);
    assert_eq!(reloaded.tickets.get_untracked().len(), 1);
    reloaded.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(
        reloaded.tickets.get_untracked().is_empty(),
        "Bob's data is not shown to Alice"
    );
}

/// A keyed item keeps its very DOM node while its data is unchanged (so a selection
/// in an older message survives a new reply) and is rebuilt when its data changes.
#[wasm_bindgen_test]
async fn keyed_items_keep_their_dom_until_their_data_changes() {
    use everdesk::components::keyed::keyed;
    let items = RwSignal::new(vec!["first".to_owned(), "second".to_owned()]);
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <ul>
                {move || {
                    items
                        .get()
                        .into_iter()
                        .map(|t| keyed(t.clone(), view! { <li>{t}</li> }))
                        .collect_view()
                }}
            </ul>
        }
    });
    let before = all(&root, "li");
    items.update(|v| v.push("third".to_owned()));
    leptos::task::tick().await;
    let after = all(&root, "li");
    assert_eq!(
        after.iter().map(text).collect::<Vec<_>>(),
        ["first", "second", "third"]
    );
    assert!(
        before[0].is_same_node(Some(&after[0])),
        "unchanged item was rebuilt"
    );
    assert!(before[1].is_same_node(Some(&after[1])));
    items.update(|v| v[1] = "changed".to_owned());
    leptos::task::tick().await;
    let changed = all(&root, "li");
    assert_eq!(text(&changed[1]), "changed");
    assert!(
        !after[1].is_same_node(Some(&changed[1])),
        "changed item was not rebuilt"
    );
    assert!(after[0].is_same_node(Some(&changed[0])));
    drop(handle);
    assert!(all(&root, "li").is_empty(), "unmounting removes the items");
}

fn focused() -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    document.active_element().unwrap()
}

fn open_ticket(chat: Chat, id: &str) {
    chat.current
        .set(Some(TicketRecord::new(id.into(), "Broken pole".into(), 10)));
    chat.view.set(View::Ticket(id.into()));
}

#[wasm_bindgen_test]
async fn shutdown_forgets_the_customer_and_their_identity() {
    let store = Store::in_memory();
    let chat = Chat::new(store.clone());
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(chat.start_ticket("Alice's refund"));
    chat.handle_host(HostToFrame::Shutdown);
    assert_eq!(chat.identity.get_untracked(), None, "no proof is reused");
    assert!(chat.tickets.get_untracked().is_empty());
    assert!(store
        .get::<everdesk::actions::Prefs>(&everdesk::storage::Key::Prefs)
        .is_none());
    // The next person on this browser is a new visitor.
    assert!(chat.start_ticket("Someone else"));
    let prefs: everdesk::actions::Prefs = store.get(&everdesk::storage::Key::Prefs).unwrap();
    assert_eq!(prefs.owner, "visitor");
}

#[wasm_bindgen_test]
async fn closing_waits_for_messages_still_on_their_way() {
    let chat = chat();
    open_ticket(chat, "t1");
    assert!(chat.send("Still there?"));
    chat.close_ticket(Some(5), String::new());
    assert_eq!(chat.error.get_untracked(), Some(EN.unsent_first));
    assert!(chat.current.get_untracked().unwrap().is_open());
    assert_eq!(
        chat.outbox.get_untracked().entries().len(),
        1,
        "nothing dropped"
    );
}

#[wasm_bindgen_test]
async fn sub_forms_take_the_focus_and_escape_cancels_them_not_the_panel() {
    let chat = chat();
    open_ticket(chat, "t1");
    let root = mount_app(chat);
    leptos::task::tick().await;
    let close = all(&root, ".ed-ticket-actions button")
        .into_iter()
        .find(|b| text(b) == EN.close_ticket)
        .unwrap();
    click(&close);
    sleep(10).await;
    let rating = focused();
    assert_eq!(rating.get_attribute("name").as_deref(), Some("rating"));

    key(&rating, "Escape", false);
    sleep(10).await;
    assert!(root.query_selector(".ed-close-form").unwrap().is_none());
    assert_eq!(focused().id(), "ed-message", "back to the composer");
    assert!(chat.panel_open.get_untracked(), "the panel stays open");

    key(&focused(), "Escape", false);
    assert!(
        !chat.panel_open.get_untracked(),
        "Escape elsewhere closes it"
    );
}

fn init_without_identity() -> HostToFrame {
    HostToFrame::Init {
        config: Default::default(),
        identity: None,
        store: Default::default(),
    }
}

#[wasm_bindgen_test]
async fn a_page_without_identity_hides_a_signed_in_customers_data_without_losing_it() {
    use everdesk::{state::Outbox, storage::Key};
    let store = Store::in_memory();
    let alice = Chat::new(store.clone());
    alice.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(alice.start_ticket("Alice's refund"));
    assert!(alice.send("Where is my refund?"));
    let stored_tickets = || {
        store
            .get::<Vec<everdesk::state::TicketSummary>>(&Key::Tickets)
            .map_or(0, |t| t.len())
    };
    let stored_outbox = || {
        store
            .get::<Outbox>(&Key::Outbox)
            .map_or(0, |o| o.entries().len())
    };

    // Alice opens a page of the site that does not identify her.
    let page = Chat::new(store.clone());
    page.handle_host(init_without_identity());
    assert!(
        page.tickets.get_untracked().is_empty(),
        "hidden from this page"
    );
    assert!(
        page.outbox.get_untracked().is_empty(),
        "and never sent from it"
    );
    assert_eq!((stored_tickets(), stored_outbox()), (1, 1), "but kept");

    // The host identifies her on this page after all: her data is back.
    page.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert_eq!(page.tickets.get_untracked().len(), 1);
    assert_eq!(page.outbox.get_untracked().entries().len(), 1);

    // Someone anonymous on another page writes something: only now is it wiped.
    let visitor = Chat::new(store.clone());
    visitor.handle_host(init_without_identity());
    assert_eq!(stored_tickets(), 1);
    assert!(visitor.start_ticket("A visitor's question"));
    let prefs: everdesk::actions::Prefs = store.get(&Key::Prefs).unwrap();
    assert_eq!(prefs.owner, "visitor");
    assert_eq!(
        (stored_tickets(), stored_outbox()),
        (1, 0),
        "only the visitor's ticket"
    );
}

#[wasm_bindgen_test]
async fn an_unreadable_ticket_list_is_rebuilt_from_the_tickets() {
    use everdesk::storage::Key;
    let store = Store::in_memory();
    for (id, subject, at) in [("a", "Refund", 10), ("b", "Delivery", 20)] {
        let record = TicketRecord::new(id.into(), subject.into(), at);
        store.set(&Key::Ticket(id.into()), &record).unwrap();
    }
    store.set(&Key::Tickets, "not a list").unwrap();
    let chat = Chat::new(store);
    let subjects: Vec<String> = chat
        .tickets
        .get_untracked()
        .into_iter()
        .map(|t| t.subject)
        .collect();
    assert_eq!(
        subjects,
        ["Delivery", "Refund"],
        "newest first, none missing"
    );
}

#[wasm_bindgen_test]
async fn a_tab_whose_storage_another_customer_took_over_hides_it() {
    use everdesk::{state::TicketSummary, storage::Key, sync::SyncEvent};
    let store = Store::in_memory();
    // Tab A: Alice, signed in. Tab B: a page without identity.
    let a = Chat::new(store.clone());
    a.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(a.start_ticket("Alice's refund"));
    let b = Chat::new(store.clone());
    b.handle_host(init_without_identity());
    // The visitor in B writes: Alice's data is wiped, B's is stored, A hears a wipe.
    assert!(b.start_ticket("A visitor's question"));
    a.handle_sync(SyncEvent::Wiped);
    a.handle_sync(SyncEvent::TicketsChanged);
    assert!(
        a.tickets.get_untracked().is_empty(),
        "A never shows (or sends) the visitor's data as Alice's"
    );
    // Alice writes in A: the visitor's data goes, and it is Alice's again.
    assert!(a.start_ticket("Alice again"));
    let prefs: everdesk::actions::Prefs = store.get(&Key::Prefs).unwrap();
    assert_eq!(prefs.owner, "user:alice");
    let stored: Vec<TicketSummary> = store.get(&Key::Tickets).unwrap();
    assert_eq!(stored.len(), 1);
    b.handle_sync(SyncEvent::Wiped);
    b.handle_sync(SyncEvent::TicketsChanged);
    assert!(b.tickets.get_untracked().is_empty(), "and B hides Alice's");
}

#[wasm_bindgen_test]
async fn the_announcer_tab_announces_a_reply_another_tab_received() {
    use everdesk::sync::{SyncEvent, TabSync};
    let chat = chat();
    let sync = TabSync::connect(|_| {});
    sync.claim();
    chat.attach_sync(sync);
    let root = mount_app(chat);
    chat.handle_sync(SyncEvent::Reply {
        ticket_id: "t1".into(),
        text: "Your refund is on its way".into(),
    });
    leptos::task::tick().await;
    let live = q(&root, "[data-testid=announcer]");
    assert_eq!(
        text(&live),
        format!("{}: Your refund is on its way", EN.new_reply)
    );
}

#[wasm_bindgen_test]
async fn a_tab_never_shows_the_next_customers_tickets_after_a_wipe() {
    use everdesk::sync::SyncEvent;
    let store = Store::in_memory();
    let alice = || {
        let chat = Chat::new(store.clone());
        chat.handle_host(HostToFrame::Identify {
            identity: Some(hmac("alice")),
        });
        chat
    };
    let a = alice();
    assert!(a.start_ticket("Alice's refund"));
    let b = alice();
    assert_eq!(b.tickets.get_untracked().len(), 1);
    // Bob signs in on tab A: the store is wiped, B hears it.
    a.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    b.handle_sync(SyncEvent::Wiped);
    assert!(a.start_ticket("Bob's private question"));
    b.handle_sync(SyncEvent::TicketsChanged);
    assert!(
        b.tickets.get_untracked().is_empty(),
        "Alice's tab does not list Bob's ticket"
    );
}

#[wasm_bindgen_test]
async fn a_rebuilt_ticket_list_survives_identifying_the_customer() {
    use everdesk::storage::Key;
    let store = Store::in_memory();
    let a = Chat::new(store.clone());
    a.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(a.start_ticket("Refund"));
    assert!(a.start_ticket("Delivery"));
    store.set(&Key::Tickets, "not a list").unwrap();
    let reloaded = Chat::new(store);
    reloaded.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert_eq!(reloaded.tickets.get_untracked().len(), 2);
}

/// Replaces `window.fetch` with a fake proxy: sessions at once, history and ticket
/// creation after 200 ms, messages never answered. Requests are logged in
/// `window.__reqs` as "METHOD URL AUTH BODY".
fn fake_proxy_fetch() {
    fake_proxy_fetch_answering_messages("new Promise(() => {})");
}

/// [`fake_proxy_fetch`], but messages are refused with a 503 after 100 ms.
fn fake_proxy_fetch_503() {
    fake_proxy_fetch_answering_messages("json({oops: true}, 100, 503)");
}

/// The fake proxy, answering message posts with the JS expression `messages`.
fn fake_proxy_fetch_answering_messages(messages: &str) {
    let script = r#"
      window.__reqs = [];
      window.fetch = function (url, init) {
        const u = String(url);
        const auth = init && init.headers && init.headers.get ? init.headers.get('Authorization') : null;
        const body = init && init.body ? JSON.parse(init.body) : null;
        window.__reqs.push((init && init.method) + ' ' + u + ' ' + auth + ' ' + JSON.stringify(body));
        const json = (b, ms, status) => new Promise(r => setTimeout(() => r(new Response(JSON.stringify(b), {status: status || 200})), ms));
        if (u.endsWith('/v1/session')) return json({token: 'tok-' + body.user_id, expires_at: Date.now() + 3600000, customer: {kind: 'verified', id: body.user_id}}, 0);
        if (u.includes('/v1/history')) return json({episodes: [{id: 'e1', session_id: 'ticket_x', summary: 'ALICE: refund for order 123'}]}, 200);
        if (u.endsWith('/v1/tickets')) return json({ticket: {id: body.ticket_id, session_id: 'ticket_' + body.ticket_id, subject: body.subject, status: 'open', created_at: 1}, messages: []}, 200);
        return MESSAGES;
      };
    "#
    .replace("MESSAGES", messages);
    js_sys::Function::new_no_args(&script)
        .call0(&JsValue::NULL)
        .unwrap();
}

/// The requests the fake proxy received.
fn fake_proxy_requests() -> Vec<String> {
    let v = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__reqs".into()).unwrap();
    js_sys::Array::from(&v)
        .iter()
        .map(|x| x.as_string().unwrap())
        .collect()
}

/// Alice, signed in, with a ticket, against [`fake_proxy_fetch`].
fn alice_against_the_fake_proxy() -> Chat {
    fake_proxy_fetch();
    let chat = Chat::new(Store::in_memory());
    chat.config
        .update(|c| c.proxy_url = Some("https://proxy.test".into()));
    mount_app(chat);
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(chat.start_ticket("Alice's refund"));
    chat
}

#[wasm_bindgen_test]
async fn a_previous_customers_history_is_never_shown_to_the_next() {
    let chat = alice_against_the_fake_proxy();
    chat.show_list();
    assert_eq!(
        chat.history.get_untracked(),
        everdesk::actions::Remote::Loading
    );
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    assert!(chat.tickets.get_untracked().is_empty());
    sleep(500).await;
    assert!(
        !matches!(
            chat.history.get_untracked(),
            everdesk::actions::Remote::Ready(_)
        ),
        "Bob is shown Alice's recalled history: {:?}",
        chat.history.get_untracked()
    );
}

/// Bob signs in on `chat`; nothing Alice typed reaches the fake proxy in his session.
async fn bob_signs_in_and_gets_nothing_of_alices(chat: Chat) {
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    sleep(600).await;
    let reqs = fake_proxy_requests();
    let leaked: Vec<_> = reqs
        .iter()
        .filter(|r| r.contains("tok-bob") && r.contains("ALICE"))
        .collect();
    assert!(
        leaked.is_empty(),
        "sent under Bob's session: {leaked:#?}\nall: {reqs:#?}"
    );
}

#[wasm_bindgen_test]
async fn a_previous_customers_message_is_never_sent_in_the_next_ones_session() {
    let chat = alice_against_the_fake_proxy();
    assert!(chat.send("ALICE SECRET: my card ends 4242"));
    sleep(50).await;
    bob_signs_in_and_gets_nothing_of_alices(chat).await;
}

/// Alice with two tickets, one unsent message in each (so `due` holds two entries).
fn alice_with_two_pending_messages() -> Chat {
    let chat = alice_against_the_fake_proxy();
    assert!(chat.send("ALICE SECRET one"));
    assert!(chat.start_ticket("Alice's second"));
    assert!(chat.send("ALICE SECRET two"));
    chat
}

#[wasm_bindgen_test]
async fn a_previous_customers_queued_messages_are_never_sent_in_the_next_ones_session() {
    let chat = alice_with_two_pending_messages();
    sleep(50).await;
    bob_signs_in_and_gets_nothing_of_alices(chat).await;
}

#[wasm_bindgen_test]
async fn a_hidden_customers_queued_messages_wait_for_them() {
    let chat = alice_with_two_pending_messages();
    // Visitors get a well-formed session too.
    js_sys::Function::new_no_args(r#"
      const inner = window.fetch;
      window.fetch = function (url, init) {
        const body = init && init.body ? JSON.parse(init.body) : null;
        if (String(url).endsWith('/v1/session') && !body.user_id) {
          window.__reqs.push('POST ' + url + ' null ' + init.body);
          return Promise.resolve(new Response(JSON.stringify({token: 'tok-visitor', expires_at: Date.now() + 3600000, customer: {kind: 'visitor', id: 'v1'}, visitor_token: 'vt'}), {status: 200}));
        }
        return inner(url, init);
      };
    "#).call0(&JsValue::NULL).unwrap();
    sleep(50).await;
    chat.handle_host(HostToFrame::Identify { identity: None });
    sleep(600).await;
    let reqs = fake_proxy_requests();
    let leaked: Vec<_> = reqs
        .iter()
        .filter(|r| r.contains("tok-visitor") && r.contains("ALICE"))
        .collect();
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert_eq!(
        chat.tickets.get_untracked().len(),
        2,
        "Alice's hidden tickets were wiped; visitor-session requests: {leaked:#?}\nall: {reqs:#?}"
    );
    assert!(
        leaked.is_empty(),
        "sent under a visitor session: {leaked:#?}"
    );
}

/// The next customer's first message does not wait for the previous customer's request
/// still on the wire (here it never ends; a real one ends at the 30 s timeout).
#[wasm_bindgen_test]
async fn the_next_customers_message_is_not_held_behind_the_previous_ones_request() {
    let chat = alice_against_the_fake_proxy(); // messages never answered
    assert!(chat.send("ALICE SECRET"));
    sleep(400).await; // Alice's ticket is created (200 ms), her message is on the wire
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    assert!(chat.start_ticket("Bob's question"));
    assert!(chat.send("BOB HELLO"));
    sleep(1500).await;
    let reqs = fake_proxy_requests();
    assert!(
        reqs.iter()
            .any(|r| r.contains("tok-bob") && r.contains("BOB HELLO")),
        "Bob's message is not sent: {reqs:#?}"
    );
}

/// Tab A (Alice) has not yet heard that tab B wiped the store for Bob when its requests
/// finish: it must not write Alice's ticket and outbox into Bob's storage.
#[wasm_bindgen_test]
async fn a_tab_that_has_not_heard_the_wipe_yet_writes_nothing_into_the_next_customers_store() {
    use everdesk::sync::SyncEvent;
    fake_proxy_fetch_503();
    let store = Store::in_memory();
    let configured = || {
        let c = Chat::new(store.clone());
        c.config
            .update(|c| c.proxy_url = Some("https://proxy.test".into()));
        c
    };
    let a = configured();
    a.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    assert!(a.start_ticket("ALICE refund"));
    assert!(a.send("ALICE SECRET"));
    sleep(50).await;
    let b = configured();
    b.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    sleep(500).await; // A's requests end before the wipe's broadcast reaches it
    a.handle_sync(SyncEvent::Wiped);
    b.handle_sync(SyncEvent::TicketsChanged);
    b.handle_sync(SyncEvent::OutboxChanged);
    let subjects: Vec<String> = b
        .tickets
        .get_untracked()
        .into_iter()
        .map(|t| t.subject)
        .collect();
    b.back_online();
    sleep(600).await;
    let reqs = fake_proxy_requests();
    let leaked: Vec<_> = reqs
        .iter()
        .filter(|r| r.contains("tok-bob") && r.contains("ALICE"))
        .collect();
    assert!(
        subjects.is_empty() && leaked.is_empty(),
        "Bob's tab lists {subjects:?}; sent under Bob's session: {leaked:#?}"
    );
}

/// Alice's new ticket could not be stored (storage full: it lives in tab A's memory
/// only) but her queued message could; tab B, coming back online first, finds no
/// ticket: the message must stay, and A sends it.
#[wasm_bindgen_test]
async fn a_ticket_only_in_another_tabs_memory_does_not_drop_its_message() {
    use everdesk::sync::SyncEvent;
    fake_proxy_fetch();
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .clear()
        .unwrap();
    js_sys::Function::new_no_args(
        r#"
      window.__setItem = Storage.prototype.setItem;
      Storage.prototype.setItem = function (k, v) {
        if (String(k).includes('ticket:')) throw new DOMException('full', 'QuotaExceededError');
        return window.__setItem.call(this, k, v);
      };
    "#,
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let tab = || {
        let c = Chat::new(Store::open());
        c.config
            .update(|c| c.proxy_url = Some("https://proxy.test".into()));
        c.handle_host(HostToFrame::Identify {
            identity: Some(hmac("alice")),
        });
        c
    };
    let a = tab();
    let b = tab();
    mount_app(a);
    a.online.set(false);
    b.online.set(false);
    assert!(a.start_ticket("Alice's refund"));
    assert!(a.send("ALICE HELLO"));
    b.handle_sync(SyncEvent::OutboxChanged);
    b.back_online();
    sleep(300).await;
    a.handle_sync(SyncEvent::OutboxChanged);
    a.back_online();
    sleep(600).await;
    js_sys::Function::new_no_args(
        "Storage.prototype.setItem = window.__setItem; localStorage.clear();",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let reqs = fake_proxy_requests();
    assert!(
        reqs.iter().any(|r| r.contains("ALICE HELLO")),
        "Alice's message is never sent; A's outbox {:?}\nrequests: {reqs:#?}",
        a.outbox.get_untracked()
    );
}
