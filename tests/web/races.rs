//! Browser tests of requests in flight while the customer changes (another identity,
//! a wipe, another tab taking the storage over), against a fake proxy in
//! `window.fetch`: nothing of one customer ever reaches the next, and nothing typed is
//! lost.

use super::*;

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

/// The requests the fake proxy received with `token` whose line mentions `marker`.
fn requests_with(token: &str, marker: &str) -> Vec<String> {
    fake_proxy_requests()
        .into_iter()
        .filter(|r| r.contains(token) && r.contains(marker))
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
    let leaked = requests_with("tok-bob", "ALICE");
    assert!(
        leaked.is_empty(),
        "sent under Bob's session: {leaked:#?}\nall: {:#?}",
        fake_proxy_requests()
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
    let leaked = requests_with("tok-visitor", "ALICE");
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
    let leaked = requests_with("tok-bob", "ALICE");
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

/// The mechanism the widget's async work relies on, in the browser: a task bound to
/// a customer scope, waiting on a real timer when the scope is dropped, never runs
/// the code after its await — it cannot write, however late its answer comes — while
/// a task of the next scope does.
#[wasm_bindgen_test]
async fn a_task_of_a_dropped_scope_never_writes() {
    use everdesk::live::{spawn_scoped, Scope};
    let wrote = Rc::new(RefCell::new(Vec::<&'static str>::new()));
    let scope = Scope::new();
    let w = wrote.clone();
    spawn_scoped(
        scope.handle(),
        Box::pin(async move {
            w.borrow_mut().push("alice: started");
            sleep(100).await;
            w.borrow_mut().push("alice: late answer");
        }),
    );
    sleep(0).await;
    let signal = scope.signal().unwrap();
    drop(scope); // the customer changes
    assert!(signal.aborted(), "its requests in flight are aborted");
    let next = Scope::new();
    let w = wrote.clone();
    spawn_scoped(
        next.handle(),
        Box::pin(async move {
            sleep(100).await;
            w.borrow_mut().push("bob: answer");
        }),
    );
    sleep(300).await;
    assert_eq!(*wrote.borrow(), ["alice: started", "bob: answer"]);
}
