//! Browser tests of live events (what an agent does, as the event stream delivers it)
//! and of the customer scope: a server answer for one customer never lands in the next
//! customer's state.

use super::*;
use everdesk_api::{Agent, Author, LiveEvent, LiveEventKind, TranscriptMessage};

fn event(ticket_id: &str, seq: i64, kind: LiveEventKind) -> LiveEvent {
    LiveEvent {
        seq,
        ticket_id: ticket_id.into(),
        session_id: format!("ticket_{ticket_id}"),
        kind,
    }
}

fn agent_says(ticket_id: &str, id: &str, text: &str) -> LiveEvent {
    event(
        ticket_id,
        1,
        LiveEventKind::Message {
            message: TranscriptMessage {
                id: id.into(),
                author: Author::Agent,
                name: Some("Sam".into()),
                content: text.into(),
                created_at: everdesk::ids::now_ms() + 10,
            },
        },
    )
}

/// Sam claims the ticket.
fn claimed_by_sam(ticket_id: &str) -> LiveEvent {
    event(
        ticket_id,
        2,
        LiveEventKind::Claimed {
            agent: Agent {
                id: "a".into(),
                name: "Sam".into(),
            },
        },
    )
}

/// A chat with one open ticket on screen (no proxy: nothing is sent).
fn chat_with_a_ticket() -> (Chat, web_sys::HtmlElement, String) {
    let chat = chat();
    let root = mount_app(chat);
    assert!(chat.start_ticket("Refund"));
    let id = chat.current.get_untracked().unwrap().id;
    (chat, root, id)
}

#[wasm_bindgen_test]
async fn an_agent_reply_shows_the_name_counts_while_closed_and_is_announced_once() {
    let (chat, root, id) = chat_with_a_ticket();
    chat.panel_open.set(false);
    chat.apply_live(agent_says(&id, "a1", "Hi, I am on it"));
    chat.apply_live(agent_says(&id, "a1", "Hi, I am on it"));
    leptos::task::tick().await;
    let bubbles = all(&root, "[data-message-id=a1]");
    assert_eq!(bubbles.len(), 1, "deduplicated by id");
    assert_eq!(text(&q(&bubbles[0], "[data-testid=author]")), "Sam: ");
    assert!(text(&bubbles[0]).contains("Hi, I am on it"));
    let unread: u32 = chat.tickets.get_untracked().iter().map(|t| t.unread).sum();
    assert_eq!(
        unread, 1,
        "the launcher badge counts it while the panel is closed"
    );
    assert_eq!(
        chat.announcement.get_untracked(),
        format!("{}: Hi, I am on it", EN.new_reply)
    );
    chat.announcement.set(String::new());
    chat.apply_live(agent_says(&id, "a1", "Hi, I am on it"));
    assert_eq!(chat.announcement.get_untracked(), "", "announced once");
    // Opening the panel on the ticket reads it.
    chat.handle_host(HostToFrame::Opened);
    let unread: u32 = chat.tickets.get_untracked().iter().map(|t| t.unread).sum();
    assert_eq!(unread, 0);
}

#[wasm_bindgen_test]
async fn a_claim_says_who_joined_typing_shows_once_and_close_makes_it_read_only() {
    let (chat, root, id) = chat_with_a_ticket();
    chat.apply_live(claimed_by_sam(&id));
    leptos::task::tick().await;
    let record = chat.current.get_untracked().unwrap();
    assert_eq!(
        record.agent.as_deref(),
        Some("Sam"),
        "the card says who joined"
    );
    let typing = q(&root, "[data-testid=agent-typing]");
    assert_eq!(typing.get_attribute("aria-live").as_deref(), Some("polite"));
    assert_eq!(text(&typing), "");
    let agent_typing = || {
        event(
            &id,
            0,
            LiveEventKind::Typing {
                author: Author::Agent,
            },
        )
    };
    chat.apply_live(agent_typing());
    leptos::task::tick().await;
    assert_eq!(text(&typing), "Sam is typing…");
    chat.apply_live(agent_typing());
    leptos::task::tick().await;
    assert_eq!(text(&typing), "Sam is typing…");
    // The reply replaces the typing line.
    chat.apply_live(agent_says(&id, "a2", "Done"));
    leptos::task::tick().await;
    assert_eq!(text(&typing), "");
    assert!(root.query_selector("#ed-message").unwrap().is_some());
    chat.apply_live(event(&id, 3, LiveEventKind::Closed));
    leptos::task::tick().await;
    assert!(root.query_selector("#ed-message").unwrap().is_none());
    assert!(text(&root).contains(EN.closed_notice));
}

#[wasm_bindgen_test]
async fn the_handoff_card_says_who_joined() {
    let root = container();
    let handoff = Handoff {
        ticket_id: "t".into(),
        customer: None,
        customer_summary: "Ada".into(),
        issue_summary: "Refund".into(),
        attempted_solutions: vec![],
        customer_sentiment: "calm".into(),
        relevant_history: vec![],
        handoff_note: "".into(),
        created_at: 1,
        delivered: true,
    };
    leptos::mount::mount_to(root.clone(), move || {
        view! { <HandoffCard handoff=handoff.clone() strings=&everdesk::i18n::ES joined=everdesk::components::reactive::dynamic(|| "Sam se ha unido".to_owned()) /> }
    })
    .forget();
    let card = q(&root, "[data-testid=handoff]");
    assert_eq!(text(&q(&card, "[data-testid=joined]")), "Sam se ha unido");
}

/// A fake proxy: sessions at once; each customer's ticket list after 200 ms (a ticket
/// whose subject names them); transcripts after 200 ms; the event stream never answers.
fn fake_proxy_with_server_tickets() {
    js_sys::Function::new_no_args(
        r#"
      window.fetch = function (url, init) {
        const u = String(url);
        const auth = init.headers.get('Authorization') || '';
        const who = auth.replace('Bearer tok-', '');
        const body = init.body ? JSON.parse(init.body) : null;
        const json = (b, ms) => new Promise(r => setTimeout(() => r(new Response(JSON.stringify(b))), ms));
        if (u.endsWith('/v1/session')) return json({token: 'tok-' + body.user_id, expires_at: Date.now() + 3600000, customer: {kind: 'verified', id: body.user_id}}, 0);
        if (u.endsWith('/v1/tickets') && init.method === 'GET') return json({tickets: [{ticket: {id: 'srv-' + who, session_id: 's-' + who, subject: who.toUpperCase() + ' SECRET', status: 'open', created_at: 1}, state: 'open', agent: {id: 'a', name: 'Sam'}, last_message_at: 2}]}, 200);
        if (u.includes('/transcript')) return json({messages: [{id: 'x-' + who, author: 'agent', name: 'Sam', content: who.toUpperCase() + ' TRANSCRIPT', created_at: 2}]}, 200);
        return new Promise(() => {});
      };
    "#,
    )
    .call0(&JsValue::NULL)
    .unwrap();
}

/// Waits up to 3 s for `cond`.
async fn until(cond: impl Fn() -> bool) {
    for _ in 0..60 {
        if cond() {
            return;
        }
        sleep(50).await;
    }
}

fn subjects(chat: Chat) -> Vec<String> {
    chat.tickets
        .get_untracked()
        .into_iter()
        .map(|t| t.subject)
        .collect()
}

#[wasm_bindgen_test]
async fn a_verified_customer_gets_server_tickets_and_transcripts() {
    fake_proxy_with_server_tickets();
    let chat = chat();
    chat.config
        .update(|c| c.proxy_url = Some("https://proxy.test".into()));
    let root = mount_app(chat);
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("carol")),
    });
    until(|| !subjects(chat).is_empty()).await;
    assert_eq!(subjects(chat), ["CAROL SECRET"]);
    chat.open_ticket("srv-carol");
    until(|| {
        root.query_selector("[data-message-id=x-carol]")
            .unwrap()
            .is_some()
    })
    .await;
    let bubble = q(&root, "[data-message-id=x-carol]");
    assert!(text(&bubble).contains("CAROL TRANSCRIPT"));
    assert_eq!(text(&q(&bubble, "[data-testid=author]")), "Sam: ");
    let record = chat.current.get_untracked().unwrap();
    assert_eq!(
        record.agent.as_deref(),
        Some("Sam"),
        "who joined, from the server"
    );
}

#[wasm_bindgen_test]
async fn a_previous_customers_server_answers_never_reach_the_next() {
    fake_proxy_with_server_tickets();
    let chat = chat();
    chat.config
        .update(|c| c.proxy_url = Some("https://proxy.test".into()));
    let root = mount_app(chat);
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    // Alice's ticket list is in flight (200 ms) when Bob signs in.
    sleep(50).await;
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("bob")),
    });
    until(|| !subjects(chat).is_empty()).await;
    sleep(300).await;
    assert_eq!(subjects(chat), ["BOB SECRET"], "only Bob's ticket");
    // Bob opens his ticket; Alice signs back in while its transcript is in flight.
    chat.open_ticket("srv-bob");
    sleep(50).await;
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("alice")),
    });
    until(|| !subjects(chat).is_empty()).await;
    sleep(300).await;
    assert!(!text(&root).contains("BOB"), "{}", text(&root));
    assert_eq!(subjects(chat), ["ALICE SECRET"]);
}

/// Once a person holds the ticket the proxy answers a message with `handled_by` and no
/// reply: the widget shows it delivered, with no bot typing, no reply and no error, and
/// says who handles the conversation.
#[wasm_bindgen_test]
async fn a_message_a_person_handles_is_delivered_without_a_bot_reply() {
    js_sys::Function::new_no_args(
        r#"
      window.fetch = function (url, init) {
        const u = String(url);
        const body = init && init.body ? JSON.parse(init.body) : null;
        const json = (b, ms) => new Promise(r => setTimeout(() => r(new Response(JSON.stringify(b))), ms));
        if (u.endsWith('/v1/session')) return json({token: 'tok', expires_at: Date.now() + 3600000, customer: {kind: 'verified', id: 'dana'}}, 0);
        if (u.endsWith('/v1/tickets') && init.method === 'GET') return json({tickets: []}, 0);
        if (u.endsWith('/v1/tickets')) return json({ticket: {id: body.ticket_id, session_id: 's', subject: body.subject, status: 'open', created_at: 1}, messages: []}, 0);
        if (u.endsWith('/messages')) return json({message: {id: body.id, role: 'user', content: body.content, created_at: body.sent_at}, context: {profile: [], history: []}, handled_by: {id: 'a', name: 'Sam'}}, 100);
        return new Promise(() => {});
      };
    "#,
    )
    .call0(&JsValue::NULL)
    .unwrap();
    let chat = chat();
    chat.config
        .update(|c| c.proxy_url = Some("https://proxy.test".into()));
    let root = mount_app(chat);
    chat.handle_host(HostToFrame::Identify {
        identity: Some(hmac("dana")),
    });
    assert!(chat.start_ticket("Refund"));
    let id = chat.current.get_untracked().unwrap().id;
    chat.apply_live(claimed_by_sam(&id));
    assert!(chat.send("Anyone there?"));
    sleep(20).await;
    assert!(!chat.typing.get_untracked(), "no bot is typing");
    let sent = || {
        root.query_selector("[data-delivery=sent]")
            .unwrap()
            .is_some()
    };
    for _ in 0..40 {
        if sent() {
            break;
        }
        sleep(25).await;
    }
    assert!(sent(), "{}", text(&root));
    let record = chat.current.get_untracked().unwrap();
    assert_eq!(record.messages.len(), 1, "no reply: {:?}", record.messages);
    assert_eq!(chat.outbox.get_untracked().entries().len(), 0);
    assert_eq!(chat.announcement.get_untracked(), "");
    assert_eq!(
        text(&q(&root, "[data-testid=handling]")),
        "Sam is handling this conversation"
    );
}
