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

/// Whose data a tab shows: customers switching, pages without identity, other tabs.
#[path = "web/customers.rs"]
mod customers;
/// Live events: agent replies, joined, closed, typing; server sync bound to the customer.
#[path = "web/live.rs"]
mod live;
/// Requests in flight while the customer changes, against a fake `window.fetch`.
#[path = "web/races.rs"]
mod races;

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
        customer: None,
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
