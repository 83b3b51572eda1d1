//! Browser tests (wasm-bindgen-test in headless Chromium) of the inbox's views: the
//! real components mounted into a real DOM, asserted by role, text, attributes and
//! state — never by pasted HTML. No network: the state is set as the actions would.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use everdesk_agent_inbox::{
    components::{
        handoff_card::HandoffCard, queue::QueueList, ticket::TicketPane, transcript::MessageItem,
    },
    state, App, Inbox,
};
use everdesk_api::{
    Agent, AgentSessionResponse, Author, Customer, CustomerKind, Handoff, LiveEvent, LiveEventKind,
    QueueItem, QueueState, Ticket, TicketStatus, TranscriptMessage,
};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

fn all(root: &web_sys::Element, selector: &str) -> Vec<web_sys::Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i))
        .map(|n| n.unchecked_into())
        .collect()
}

fn q(root: &web_sys::Element, selector: &str) -> web_sys::Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
}

fn text(el: &web_sys::Element) -> String {
    el.text_content().unwrap_or_default()
}

async fn tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

fn sam() -> Agent {
    Agent {
        id: "demo-agent-sam".into(),
        name: "Sam".into(),
    }
}

fn dana() -> Customer {
    Customer {
        kind: CustomerKind::Verified,
        id: "demo-dana".into(),
        name: Some("Dana".into()),
    }
}

fn item(sid: &str, subject: &str, st: QueueState, last: i64) -> QueueItem {
    QueueItem {
        ticket: Ticket {
            id: sid.into(),
            session_id: sid.into(),
            subject: subject.into(),
            status: TicketStatus::Open,
            created_at: 0,
        },
        customer: dana(),
        state: st,
        escalated_at: (st == QueueState::Escalated).then_some(last),
        claimed_by: None,
        last_message_at: last,
        preview: Some("my tent pole broke".into()),
    }
}

fn msg(id: &str, author: Author, content: &str, at: i64) -> TranscriptMessage {
    TranscriptMessage {
        id: id.into(),
        author,
        name: match author {
            Author::Customer => Some("Dana".into()),
            Author::Agent => Some("Sam".into()),
            Author::Bot => None,
        },
        content: content.into(),
        created_at: at,
    }
}

/// An inbox signed in as Sam (no stream: the state is set directly).
fn signed_in() -> Inbox {
    let inbox = Inbox::new();
    inbox.session.set(Some(AgentSessionResponse {
        token: "t".into(),
        expires_at: i64::MAX,
        agent: sam(),
    }));
    inbox
}

#[wasm_bindgen_test]
fn message_text_is_never_html() {
    let root = container();
    let evil = "<img src=x onerror=alert(1)><b>bold</b>";
    leptos::mount::mount_to(root.clone(), move || {
        view! { <ol><MessageItem message=msg("m1", Author::Customer, evil, 1_700_000_000_000) /></ol> }
    })
    .forget();
    let li = q(&root, "li");
    assert_eq!(li.get_attribute("data-author").as_deref(), Some("customer"));
    assert!(all(&root, "img").is_empty() && all(&root, "b").is_empty());
    assert_eq!(text(&q(&root, ".ei-msg__text")), evil);
    assert_eq!(text(&q(&root, ".ei-msg__author")), "Customer · Dana");
    assert!(q(&root, "time")
        .get_attribute("datetime")
        .unwrap()
        .starts_with("2023-11-14"));
}

#[wasm_bindgen_test]
fn the_handoff_card_names_the_customer_as_the_identity_vouches() {
    let root = container();
    let handoff = Handoff {
        ticket_id: "t1".into(),
        customer: Some(dana()),
        customer_summary: "Dana camps a lot.".into(),
        issue_summary: "Broken tent pole".into(),
        attempted_solutions: vec!["Re-seated the pole sections".into()],
        customer_sentiment: "frustrated".into(),
        relevant_history: vec![],
        handoff_note: "Offer a replacement.".into(),
        created_at: 1,
        delivered: true,
    };
    // The ticket's own customer (no name) loses to the hand-off's vouched one.
    let page_customer = Customer {
        name: None,
        ..dana()
    };
    leptos::mount::mount_to(root.clone(), move || {
        view! { <HandoffCard handoff=Some(handoff) customer=page_customer /> }
    })
    .forget();
    assert_eq!(text(&q(&root, "[data-testid=handoff-name]")), "Dana");
    assert!(text(&q(&root, "[data-testid=handoff-kind]")).starts_with("Verified"));
    assert_eq!(
        text(&q(&root, "[data-testid=handoff-user-id]")),
        "demo-dana"
    );
    assert_eq!(
        text(&q(&root, "[data-testid=handoff-issue]")),
        "Broken tent pole"
    );
    let tried = all(&root, "[data-testid=handoff-tried] li");
    assert_eq!(tried.len(), 1);
    assert_eq!(text(&tried[0]), "Re-seated the pole sections");

    let visitor = container();
    leptos::mount::mount_to(visitor.clone(), move || {
        let customer = Customer {
            kind: CustomerKind::Visitor,
            id: "v_9".into(),
            name: None,
        };
        view! { <HandoffCard handoff=None customer=customer /> }
    })
    .forget();
    assert_eq!(
        text(&q(&visitor, "[data-testid=handoff-name]")),
        "No name vouched for"
    );
    assert!(text(&q(&visitor, "[data-testid=handoff-kind]")).starts_with("Visitor"));
}

#[wasm_bindgen_test]
async fn the_queue_lists_escalated_first_with_badges_claims_and_the_open_one() {
    let root = container();
    let inbox = signed_in();
    let mut tickets = vec![
        item("open-1", "Where is my order?", QueueState::Open, 50),
        item("esc-1", "Tent pole broke", QueueState::Escalated, 10),
    ];
    tickets[0].claimed_by = Some(Agent {
        id: "kim".into(),
        name: "Kim".into(),
    });
    tickets[1].claimed_by = Some(sam());
    state::sort_queue(&mut tickets);
    inbox.queue.set(tickets);
    inbox.queue_loaded.set(true);
    leptos::mount::mount_to(root.clone(), move || view! { <QueueList inbox=inbox /> }).forget();
    let items = all(&root, "[data-testid=queue] li");
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].get_attribute("data-state").as_deref(),
        Some("escalated")
    );
    assert!(text(&items[0]).contains("Tent pole broke"));
    assert!(text(&items[0]).contains("Dana (verified)"));
    assert_eq!(
        text(&q(&items[0], "[data-testid=claimed-by]")),
        "Claimed by you"
    );
    assert_eq!(
        text(&q(&items[1], "[data-testid=claimed-by]")),
        "Claimed by Kim"
    );
    assert!(text(&q(&root, "h2")).contains("(2)"));
    // The open ticket is marked for assistive technology.
    inbox.selected.set(Some("open-1".into()));
    tick().await;
    let buttons = all(&root, "[data-testid=queue] button");
    assert_eq!(buttons[0].get_attribute("aria-current"), None);
    assert_eq!(
        buttons[1].get_attribute("aria-current").as_deref(),
        Some("true")
    );
    // A live claim updates the entry in place.
    inbox.handle_event(LiveEvent {
        seq: 5,
        ticket_id: "open-1".into(),
        session_id: "open-1".into(),
        kind: LiveEventKind::Closed,
    });
    tick().await;
    assert_eq!(all(&root, "[data-testid=queue] li").len(), 1);
}

#[wasm_bindgen_test]
async fn a_live_message_lands_once_in_the_open_ticket_and_is_announced() {
    let root = container();
    let inbox = signed_in();
    let it = item("esc-1", "Tent pole broke", QueueState::Escalated, 10);
    inbox.queue.set(vec![it.clone()]);
    inbox.selected.set(Some("esc-1".into()));
    inbox.item.set(Some(it));
    inbox
        .transcript
        .set(vec![msg("m1", Author::Customer, "It snapped.", 10)]);
    leptos::mount::mount_to(root.clone(), move || view! { <TicketPane inbox=inbox /> }).forget();
    tick().await;
    // Not claimed: the reply box says so and cannot be used.
    let reply = q(&root, "textarea");
    assert!(reply.has_attribute("disabled"));
    assert_eq!(
        text(&q(&root, "#ei-reply-hint")),
        "Claim the ticket to reply."
    );
    assert_eq!(
        web_sys::window()
            .unwrap()
            .document()
            .unwrap()
            .active_element()
            .map(|e| e.id()),
        Some("ei-ticket-title".into()),
        "focus moves to the ticket's heading"
    );
    let event = LiveEvent {
        seq: 7,
        ticket_id: "esc-1".into(),
        session_id: "esc-1".into(),
        kind: LiveEventKind::Message {
            message: msg(
                "m2",
                Author::Customer,
                "<script>x</script> Still there?",
                20,
            ),
        },
    };
    inbox.handle_event(event.clone());
    assert!(inbox
        .announcement
        .get_untracked()
        .contains("New message from Dana"));
    inbox.announcement.set(String::new());
    inbox.handle_event(event);
    tick().await;
    assert_eq!(inbox.announcement.get_untracked(), "", "announced once");
    let messages = all(&root, "[data-testid=transcript] li");
    assert_eq!(messages.len(), 2);
    assert_eq!(
        text(&q(&messages[1], ".ei-msg__text")),
        "<script>x</script> Still there?"
    );
    assert!(all(&root, "[data-testid=transcript] script").is_empty());
    // Sam's claim arrives live: the reply box opens.
    inbox.handle_event(LiveEvent {
        seq: 8,
        ticket_id: "esc-1".into(),
        session_id: "esc-1".into(),
        kind: LiveEventKind::Claimed { agent: sam() },
    });
    tick().await;
    assert!(!q(&root, "textarea").has_attribute("disabled"));
    assert_eq!(
        text(&q(&root, "[data-testid=ticket-claim]")),
        "Claimed by you"
    );
    // The customer typing shows.
    inbox.handle_event(LiveEvent {
        seq: 8,
        ticket_id: "esc-1".into(),
        session_id: "esc-1".into(),
        kind: LiveEventKind::Typing {
            author: Author::Customer,
        },
    });
    tick().await;
    assert_eq!(
        text(&q(&root, "[data-testid=customer-typing]")),
        "The customer is typing…"
    );
}

#[wasm_bindgen_test]
async fn signed_out_the_page_is_a_labelled_sign_in_form() {
    let root = container();
    let inbox = Inbox::new();
    leptos::mount::mount_to(root.clone(), move || view! { <App inbox=inbox /> }).forget();
    let field = q(&root, "textarea#ei-jwt");
    let label = q(&root, "label[for=ei-jwt]");
    assert_eq!(text(&label), "Agent token (JWT)");
    assert!(field.get_attribute("aria-describedby").is_some());
    assert!(all(&root, "main").len() == 1 && all(&root, "header").len() == 1);
    assert!(all(&root, "nav").is_empty(), "no queue before sign-in");
    // Submitting nothing says what to do, without calling the proxy.
    let form: web_sys::HtmlFormElement = q(&root, "form").unchecked_into();
    form.request_submit().unwrap();
    tick().await;
    assert_eq!(
        text(&q(&root, "[data-testid=sign-in-error]")),
        "Paste an agent JWT first."
    );
}

/// A fake `window.fetch` for the event stream: the first connection sends two events
/// (split across chunks) and ends, the second sends one more, the third is refused.
const FAKE_EVENTS_FETCH: &str = r#"
  const real = window.fetch;
  const calls = [];
  const ev = (seq, type, extra) => `id: ${seq}\nevent: ${type}\ndata: ${JSON.stringify(
    { seq, ticket_id: 't1', session_id: 's1', type, ...extra })}\n\n`;
  const bodies = [
    ev(1, 'claimed', { agent: { id: 'sam', name: 'Sam' } }) + ': keep-alive\n\n' +
      ev(2, 'message', { message: { id: 'm1', author: 'customer', content: 'hé', created_at: 5 } }),
    ev(3, 'closed', {}),
  ];
  window.fetch = (url, init) => {
    calls.push({ url, auth: init.headers.get('Authorization'), last: init.headers.get('Last-Event-ID') });
    const body = bodies[calls.length - 1];
    if (body === undefined) {
      return Promise.resolve(new Response(
        '{"error":{"code":"unauthorized","message":"expired","request_id":"r"}}', { status: 401 }));
    }
    const bytes = new TextEncoder().encode(body);
    const stream = new ReadableStream({ start(c) {
      c.enqueue(bytes.slice(0, 9)); c.enqueue(bytes.slice(9, 60)); c.enqueue(bytes.slice(60)); c.close();
    } });
    return Promise.resolve(new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } }));
  };
  return { calls, restore: () => { window.fetch = real; } };
"#;

#[wasm_bindgen_test]
async fn the_event_stream_resumes_after_the_last_event_and_stops_when_refused() {
    use everdesk_agent_inbox::live::{self, Hooks, LiveStatus};
    use std::{cell::RefCell, rc::Rc};

    let fake = js_sys::Function::new_no_args(FAKE_EVENTS_FETCH)
        .call0(&wasm_bindgen::JsValue::NULL)
        .unwrap();
    let events = Rc::new(RefCell::new(Vec::<LiveEvent>::new()));
    let opened = Rc::new(RefCell::new(0));
    let statuses = Rc::new(RefCell::new(Vec::<LiveStatus>::new()));
    let hooks = Hooks {
        current: Box::new(|| true),
        opened: Box::new({
            let opened = opened.clone();
            move || *opened.borrow_mut() += 1
        }),
        event: Box::new({
            let events = events.clone();
            move |e| events.borrow_mut().push(e)
        }),
        status: Box::new({
            let statuses = statuses.clone();
            move |s| statuses.borrow_mut().push(s)
        }),
    };
    let outcome = live::run("tok".into(), hooks).await;
    let restore: js_sys::Function = js_sys::Reflect::get(&fake, &"restore".into())
        .unwrap()
        .unchecked_into();
    restore.call0(&wasm_bindgen::JsValue::NULL).unwrap();

    assert!(
        outcome.unwrap_err().is_unauthorized(),
        "a refused token ends it"
    );
    let seqs: Vec<i64> = events.borrow().iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3], "each event once, in order");
    match &events.borrow()[1].kind {
        LiveEventKind::Message { message } => assert_eq!(message.content, "hé"),
        other => panic!("{other:?}"),
    }
    assert_eq!(*opened.borrow(), 2, "each (re)connection refetches");
    assert!(statuses.borrow().contains(&LiveStatus::Reconnecting));
    let calls = js_sys::Array::from(&js_sys::Reflect::get(&fake, &"calls".into()).unwrap());
    let call = |i: u32, field: &str| {
        js_sys::Reflect::get(&calls.get(i), &field.into())
            .unwrap()
            .as_string()
    };
    assert_eq!(calls.length(), 3);
    for i in 0..3 {
        assert_eq!(
            call(i, "url").as_deref(),
            Some("/v1/agent/events"),
            "no token in the URL"
        );
        assert_eq!(call(i, "auth").as_deref(), Some("Bearer tok"));
    }
    assert_eq!(call(0, "last"), None);
    assert_eq!(call(1, "last").as_deref(), Some("2"));
    assert_eq!(call(2, "last").as_deref(), Some("3"));
}
