//! The controller: ties state, storage, the API client and the host bridge
//! together. [`Chat`] is a `Copy` handle of signals the components read; its
//! methods are the only way state changes (optimistic first, then confirmed or
//! failed-with-retry), and every change is saved before anything is sent.

mod host;
mod live;
mod memory;
mod outbox;
mod session;
mod tickets;

use everdesk_api::{json::ToJson, json_struct};
use everdesk_api::{HistoryEpisode, ProfileFact, SessionRequest};
use leptos::prelude::*;

use crate::{
    api::{ApiClient, ApiError},
    bridge::{FrameToHost, Link},
    config::WidgetConfig,
    i18n::{self, Strings},
    state::{ticket, MonotonicClock, Outbox, TicketRecord, TicketSummary},
    storage::{Key, Store},
    sync::{SyncEvent, SyncMode, TabSync},
};

/// Announced message ids a tab remembers (the newest; a reply arrives within seconds
/// of itself through both paths).
const ANNOUNCED_KEPT: usize = 32;

pub use host::{focus_first_control, focus_later, identity_owner};
pub use outbox::{check_draft, DraftError};
pub use tickets::MAX_SUBJECT_CHARS;

/// Which screen the panel shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Tickets, recalled history, entry points.
    List,
    /// The subject form of a new ticket.
    NewTicket,
    /// One conversation.
    Ticket(String),
    /// What we remember, and forget-me.
    Memory,
}

/// Something loaded from the proxy on demand.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote<T> {
    /// Not asked for yet.
    Idle,
    /// In flight.
    Loading,
    /// Loaded.
    Ready(T),
    /// Failed, with the text to show next to a retry button.
    Failed(&'static str),
}

/// Local preferences: who the stored tickets belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefs {
    /// Fingerprint of the identity the local data belongs to.
    pub owner: String,
}
json_struct!(Prefs { owner });

/// The stored ticket list, newest first; a missing or unreadable list is rebuilt from
/// the ticket records, so no conversation goes missing.
fn load_tickets(store: &Store) -> Vec<TicketSummary> {
    let mut tickets: Vec<TicketSummary> = store.get(&Key::Tickets).unwrap_or_else(|| {
        let ids = store.ticket_ids();
        ids.into_iter()
            .filter_map(|id| store.get::<TicketRecord>(&Key::Ticket(id)))
            .map(|r| r.summary())
            .collect()
    });
    ticket::sort_newest_first(&mut tickets);
    tickets
}

/// Whose data the store holds, relative to the current identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// Nothing stored names an owner yet: the first write records the current one.
    Unrecorded,
    /// The stored data is the current identity's.
    Recorded,
    /// The stored data is someone else's (a signed-in customer's, seen from a page
    /// without identity; or another tab's new owner's): it is hidden, not wiped (their
    /// tickets and unsent messages wait for them), until this tab's customer writes
    /// something — then it is wiped first.
    Hidden,
}

impl Owner {
    /// Whose the stored data is, for the identity fingerprinted `current`: someone
    /// else's is hidden (and wiped before this identity's first write).
    fn of(store: &Store, current: &str) -> Self {
        match store.get::<Prefs>(&Key::Prefs) {
            None => Self::Unrecorded,
            Some(p) if p.owner == current => Self::Recorded,
            Some(_) => Self::Hidden,
        }
    }
}

/// The widget's state and actions; cheap to copy into closures.
#[derive(Debug, Clone, Copy)]
pub struct Chat {
    /// Validated host settings.
    pub config: RwSignal<WidgetConfig>,
    /// Identity proof from the host; `None` → anonymous visitor.
    pub identity: RwSignal<Option<SessionRequest>>,
    /// Current screen.
    pub view: RwSignal<View>,
    /// Ticket list, open first then newest.
    pub tickets: RwSignal<Vec<TicketSummary>>,
    /// The open conversation's record.
    pub current: RwSignal<Option<TicketRecord>>,
    /// Unsent messages.
    pub outbox: RwSignal<Outbox>,
    /// Browser connectivity.
    pub online: RwSignal<bool>,
    /// Waiting for a reply in the open conversation.
    pub typing: RwSignal<bool>,
    /// A ticket-level action (create, close, escalate) is in flight.
    pub busy: RwSignal<bool>,
    /// The last failed ticket-level action, shown with a retry.
    pub error: RwSignal<Option<&'static str>>,
    /// A one-off confirmation for the home screen (e.g. after forget-me).
    pub notice: RwSignal<Option<&'static str>>,
    /// Recalled past tickets for the list screen.
    pub history: RwSignal<Remote<Vec<HistoryEpisode>>>,
    /// Remembered profile facts.
    pub profile: RwSignal<Remote<Vec<ProfileFact>>>,
    /// Text for the polite live region: only new incoming replies.
    pub announcement: RwSignal<String>,
    /// Storage is blocked or full: data lives in memory only.
    pub storage_degraded: RwSignal<bool>,
    /// Whether the host shows the panel.
    pub panel_open: RwSignal<bool>,
    /// "<name> is typing…" for (ticket id, agent name), from the event stream.
    pub agent_typing: RwSignal<Option<(String, String)>>,
    /// The current customer's scope: their event stream and server sync are bound to
    /// it, and it is dropped when the customer changes (see `live::scope`).
    scope: StoredValue<Option<crate::live::Scope>, LocalStorage>,
    /// Which typing event the typing line's hide timer belongs to.
    typing_gen: StoredValue<u32, LocalStorage>,
    /// Message ids this tab announced lately (see [`Chat::announce_here`]).
    announced: StoredValue<Vec<String>, LocalStorage>,
    store: StoredValue<Store, LocalStorage>,
    clock: StoredValue<MonotonicClock, LocalStorage>,
    /// Whose data the store holds, relative to the current identity.
    owner: StoredValue<Owner, LocalStorage>,
    link: StoredValue<Option<Link>, LocalStorage>,
    sync: StoredValue<Option<TabSync>, LocalStorage>,
    /// This tab wiped its customer while the visitor lives in the proxy's cookie: the
    /// next visitor session starts a new visitor, whatever the cookie still says.
    fresh_visitor: StoredValue<bool, LocalStorage>,
}

impl Chat {
    /// State loaded from `store` (nothing is written). A missing or unreadable ticket
    /// list is rebuilt from the ticket records, so no conversation goes missing.
    pub fn new(store: Store) -> Self {
        let tickets = load_tickets(&store);
        let outbox = store.get::<Outbox>(&Key::Outbox).unwrap_or_default();
        let last = tickets.iter().map(|t| t.updated_at).max().unwrap_or(0);
        let degraded = store.degraded().is_some();
        // Before the host says who this is, the stored data is taken as the visitor's.
        let owner = Owner::of(&store, &identity_owner(None));
        Self {
            config: RwSignal::new(WidgetConfig::default()),
            identity: RwSignal::new(None),
            view: RwSignal::new(View::List),
            tickets: RwSignal::new(tickets),
            current: RwSignal::new(None),
            outbox: RwSignal::new(outbox),
            online: RwSignal::new(true),
            typing: RwSignal::new(false),
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            history: RwSignal::new(Remote::Idle),
            profile: RwSignal::new(Remote::Idle),
            announcement: RwSignal::new(String::new()),
            storage_degraded: RwSignal::new(degraded),
            panel_open: RwSignal::new(true),
            agent_typing: RwSignal::new(None),
            scope: StoredValue::new_local(None),
            typing_gen: StoredValue::new_local(0),
            announced: StoredValue::new_local(Vec::new()),
            store: StoredValue::new_local(store),
            clock: StoredValue::new_local(MonotonicClock::after(last)),
            owner: StoredValue::new_local(owner),
            link: StoredValue::new_local(None),
            sync: StoredValue::new_local(None),
            fresh_visitor: StoredValue::new_local(false),
        }
    }

    /// The strings of the configured language. Untracked: views re-render as a
    /// whole when the locale changes (see `App`), so no text node is reactive.
    pub fn strings(&self) -> &'static Strings {
        self.config.with_untracked(|c| i18n::strings(&c.locale))
    }

    /// The panel heading: the host's title, else "Support" in the widget's language.
    pub fn title(&self) -> String {
        let title = self.config.with(|c| c.title.clone());
        title.unwrap_or_else(|| self.strings().support.to_owned())
    }

    /// Connects the host bridge (messages from the host page) to this state.
    pub fn attach_host(self, link: Link) {
        self.link.set_value(Some(link));
        self.send_labels();
    }

    /// Connects cross-tab sync.
    pub fn attach_sync(self, sync: TabSync) {
        self.sync.set_value(Some(sync));
    }

    /// Tells the host page something (no-op without a host).
    fn tell_host(&self, msg: FrameToHost) {
        self.link.with_value(|link| {
            if let Some(link) = link {
                link.send(&msg);
            }
        });
    }

    fn send_labels(&self) {
        let s = self.strings();
        self.tell_host(FrameToHost::Labels {
            open: s.open_chat.to_owned(),
            close: s.close_chat.to_owned(),
            title: self.title(),
        });
    }

    fn publish(&self, event: SyncEvent) {
        self.sync.with_value(|sync| {
            if let Some(sync) = sync {
                sync.publish(&event);
            }
        });
    }

    fn api(&self) -> Result<ApiClient, ApiError> {
        self.config
            .with_untracked(|c| c.proxy_url.clone())
            .map(ApiClient::new)
            .ok_or(ApiError::NotConfigured)
    }

    fn store(&self) -> Store {
        self.store.get_value()
    }

    /// Writes a value; a failure switches the notice on and keeps working in memory.
    fn save(&self, key: &Key, value: &dyn ToJson) {
        let store = self.store_owned();
        let written = store.set(key, value);
        self.note_write(&store, written);
    }

    /// The store, with the identity owner recorded first if it is missing (and a
    /// hidden customer's data wiped first). Not generic: shared by every
    /// [`Chat::save`].
    #[inline(never)]
    fn store_owned(&self) -> Store {
        let store = self.store();
        let owner = self.owner.get_value();
        if owner == Owner::Hidden {
            let _ = store.wipe();
            self.publish(SyncEvent::Wiped);
        }
        if owner != Owner::Recorded {
            let _ = store.set(
                &Key::Prefs,
                &Prefs {
                    owner: self.current_owner(),
                },
            );
            self.owner.set_value(Owner::Recorded);
        }
        store
    }

    /// Flags degraded storage after a write. Not generic, like [`Chat::store_owned`].
    #[inline(never)]
    fn note_write(&self, store: &Store, written: Result<(), crate::storage::StorageError>) {
        if written.is_err() || store.degraded().is_some() {
            self.storage_degraded.set(true);
        }
    }

    /// The fingerprint of this tab's customer (see [`identity_owner`]).
    fn current_owner(&self) -> String {
        identity_owner(self.identity.get_untracked().as_ref())
    }

    /// Re-reads whether the stored data names its owner (after a wipe or when the
    /// host's copy of our storage was adopted), so [`Chat::save`] need not read it.
    fn recheck_owner(&self) {
        self.owner
            .set_value(Owner::of(&self.store(), &self.current_owner()));
    }

    /// Loads a ticket's record (the open one from memory, others from storage).
    fn record(&self, id: &str) -> Option<TicketRecord> {
        let open = self
            .current
            .with_untracked(|c| c.as_ref().filter(|r| r.id == id).cloned());
        open.or_else(|| self.store().get(&Key::Ticket(id.to_owned())))
    }

    /// Applies `change` to a ticket, saves it and its list entry, refreshes the
    /// open view and the host badge, and tells other tabs.
    fn update_record(
        &self,
        id: &str,
        change: impl FnOnce(&mut TicketRecord),
    ) -> Option<TicketRecord> {
        let mut change = Some(change);
        self.update_record_dyn(id, &mut |r| {
            if let Some(change) = change.take() {
                change(r);
            }
        })
    }

    /// [`Chat::update_record`] with the change type-erased: its body exists once in
    /// the wasm, not once per caller.
    #[inline(never)]
    fn update_record_dyn(
        &self,
        id: &str,
        change: &mut dyn FnMut(&mut TicketRecord),
    ) -> Option<TicketRecord> {
        let mut record = self.record(id)?;
        change(&mut record);
        let viewing = self
            .view
            .with_untracked(|v| *v == View::Ticket(id.to_owned()));
        if viewing && self.panel_open.get_untracked() {
            record.mark_read();
        }
        self.save(&Key::Ticket(id.to_owned()), &record);
        self.tickets
            .update(|list| ticket::upsert_summary(list, record.summary()));
        self.save(&Key::Tickets, &self.tickets.get_untracked());
        if self
            .current
            .with_untracked(|c| c.as_ref().is_some_and(|r| r.id == id))
        {
            self.current.set(Some(record.clone()));
        }
        self.publish(SyncEvent::TicketChanged {
            ticket_id: id.to_owned(),
        });
        self.report_unread();
        Some(record)
    }

    fn save_outbox(&self) {
        self.save(&Key::Outbox, &self.outbox.get_untracked());
        self.publish(SyncEvent::OutboxChanged);
    }

    /// Whether the storage is still this tab's customer's: another tab may have given
    /// it to another customer meanwhile (a wipe whose sync event has not arrived yet).
    /// If it has, this tab forgets its data now, as the sync event would (which drops
    /// the customer's scope). Changes in this tab need no check: they drop the scope,
    /// and the scope's tasks never resume (see `live::scope`).
    fn storage_still_ours(&self) -> bool {
        if self.owner.get_value() == Owner::Recorded
            && Owner::of(&self.store(), &self.current_owner()) != Owner::Recorded
        {
            self.forget_in_memory();
            return false;
        }
        true
    }

    /// Reports a failure to the host page's `error` listeners; returns what to show.
    fn failed(&self, error: &ApiError) -> &'static str {
        self.tell_host(FrameToHost::Error {
            code: error.code().to_owned(),
        });
        error.user_message(self.strings())
    }

    /// Announces a new reply (the live region, and the host's `message` event) in
    /// exactly one tab: this one if it is the announcer (see
    /// [`TabSync::is_announcer`]), else the announcer, told over the channel.
    fn announce_reply(&self, ticket_id: String, id: String, text: String) {
        let here = self.sync.with_value(|sync| match sync {
            Some(sync) if sync.mode() == SyncMode::Channel && !sync.is_announcer() => {
                sync.publish(&SyncEvent::Reply {
                    ticket_id: ticket_id.clone(),
                    id: id.clone(),
                    text: text.clone(),
                });
                false
            }
            _ => true,
        });
        if here {
            self.announce_here(ticket_id, &id, &text);
        }
    }

    /// Puts a reply in this tab's live region and tells the host page, once per
    /// message id: the announcer can get one reply twice (its own event stream and
    /// another tab's hand-off, when the shared storage had not caught up).
    fn announce_here(&self, ticket_id: String, id: &str, text: &str) {
        let seen = self.announced.try_update_value(|ids| {
            if !id.is_empty() && ids.iter().any(|i| i == id) {
                return true;
            }
            if ids.len() >= ANNOUNCED_KEPT {
                ids.remove(0);
            }
            ids.push(id.to_owned());
            false
        });
        if seen == Some(true) {
            return;
        }
        let s = self.strings();
        self.announcement.set(format!("{}: {text}", s.new_reply));
        self.tell_host(FrameToHost::Message { ticket_id });
    }

    fn report_unread(&self) {
        let count = self.tickets.with_untracked(|t| ticket::total_unread(t));
        self.tell_host(FrameToHost::Unread { count });
    }

    fn next_time(&self) -> i64 {
        let now = crate::ids::now_ms();
        let mut t = 0;
        self.clock.update_value(|c| t = c.next(now));
        t
    }
}
