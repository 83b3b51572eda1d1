//! Browser tests of whose data a tab shows and keeps: another customer signing in,
//! `shutdown`, pages without identity, other tabs taking the storage over, a list
//! rebuilt from the ticket records, and which tab announces a reply.

use super::*;

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
        id: "re_1".into(),
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
async fn the_announcer_announces_one_reply_once_whichever_copies_reach_it() {
    use everdesk::sync::{SyncEvent, TabSync};
    let chat = chat();
    let sync = TabSync::connect(|_| {});
    sync.claim();
    chat.attach_sync(sync);
    let root = mount_app(chat);
    let reply = |id: &str, text: &str| SyncEvent::Reply {
        ticket_id: "t1".into(),
        id: id.into(),
        text: text.into(),
    };
    chat.handle_sync(reply("ag_1", "A new igniter ships today"));
    leptos::task::tick().await;
    let live = q(&root, "[data-testid=announcer]");
    assert!(text(&live).contains("A new igniter ships today"));
    // The same reply again (its own stream's copy, or another tab's hand-off): silent.
    chat.announcement.set(String::new());
    chat.handle_sync(reply("ag_1", "A new igniter ships today"));
    leptos::task::tick().await;
    assert_eq!(text(&live), "", "announced once");
    // The next reply is announced.
    chat.handle_sync(reply("ag_2", "It is on its way"));
    leptos::task::tick().await;
    assert!(text(&live).contains("It is on its way"));
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
