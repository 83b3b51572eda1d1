//! Per-origin browser storage that never panics: namespaced, versioned keys
//! (`everdesk:v1:…`), values in a `{"v":1,"d":…}` envelope with a migration hook, and
//! an in-memory fallback when `localStorage` is missing, blocked, throws or is full.
//!
//! Reading is forgiving: a corrupt or wrongly shaped value drops only its own key; a
//! value from an older layout is migrated; one from a newer version is left alone.
//! Nothing is written until the caller first calls [`Store::set`]: opening the store
//! only writes and immediately removes [`PROBE_KEY`]. When the frame's own storage is
//! blocked, values are mirrored into the host page's storage, except credentials
//! ([`is_secret`]), which then live in memory only.

use std::{cell::RefCell, rc::Rc};

use everdesk_api::json::{FromJson, Json, JsonError, ToJson};
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};

mod envelope;
mod str_map;

pub use envelope::{decode, encode, migrate, Decoded, CURRENT_VERSION};
pub use str_map::StrMap;

/// Every EverDesk key starts with this, whatever its version; [`Store::wipe`] uses it.
pub const PREFIX: &str = "everdesk:";
/// The current key namespace.
pub const NAMESPACE: &str = "everdesk:v1:";
/// Written and removed by [`Store::open`] to see whether storage works.
pub const PROBE_KEY: &str = "everdesk:v1:probe";

/// What is stored. Each variant maps to one namespaced key (see [`Key::name`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// The ticket list: `everdesk:v1:tickets`.
    Tickets,
    /// One ticket's messages: `everdesk:v1:ticket:<id>`.
    Ticket(String),
    /// Messages not yet delivered: `everdesk:v1:outbox`.
    Outbox,
    /// The chat session: `everdesk:v1:session`.
    Session,
    /// The anonymous visitor identity: `everdesk:v1:visitor`.
    Visitor,
    /// Customer preferences: `everdesk:v1:prefs`.
    Prefs,
}

/// Whether the value under `name` is a credential (the session token, the visitor
/// token): kept in the frame's own storage or in memory, never mirrored to the host
/// page, where any script of the page could read and replay it.
pub fn is_secret(name: &str) -> bool {
    matches!(Key::parse(name), Some(Key::Session | Key::Visitor))
}

impl Key {
    /// The storage key, e.g. `everdesk:v1:ticket:42`.
    pub fn name(&self) -> String {
        match self {
            Self::Tickets => format!("{NAMESPACE}tickets"),
            Self::Ticket(id) => format!("{NAMESPACE}ticket:{id}"),
            Self::Outbox => format!("{NAMESPACE}outbox"),
            Self::Session => format!("{NAMESPACE}session"),
            Self::Visitor => format!("{NAMESPACE}visitor"),
            Self::Prefs => format!("{NAMESPACE}prefs"),
        }
    }

    /// The inverse of [`Key::name`]; `None` for foreign keys and [`PROBE_KEY`].
    pub fn parse(name: &str) -> Option<Self> {
        let rest = name.strip_prefix(NAMESPACE)?;
        match rest {
            "tickets" => Some(Self::Tickets),
            "outbox" => Some(Self::Outbox),
            "session" => Some(Self::Session),
            "visitor" => Some(Self::Visitor),
            "prefs" => Some(Self::Prefs),
            _ => rest
                .strip_prefix("ticket:")
                .filter(|id| !id.is_empty())
                .map(|id| Self::Ticket(id.to_owned())),
        }
    }
}

/// Why storage did not (fully) work. The UI may show a quiet notice; nothing is lost
/// for the current session either way.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StorageError {
    /// `localStorage` is missing or refused access (private mode, blocked, sandboxed).
    #[error("browser storage is unavailable: {0}")]
    Unavailable(String),
    /// The origin's storage quota is full.
    #[error("browser storage is full")]
    QuotaExceeded,
    /// Any other failure while writing.
    #[error("could not write to browser storage: {0}")]
    Write(String),
}

/// Where values live: browser storage, plus an in-memory map for the session.
#[derive(Debug)]
struct Inner {
    /// `None` when we run in memory only.
    storage: Option<web_sys::Storage>,
    /// Raw encoded values that could not be persisted (or all values, without storage).
    memory: RefCell<StrMap>,
    /// Why some or all values live only in memory.
    degraded: RefCell<Option<StorageError>>,
    /// When the frame's own storage is blocked (third-party storage blocking), every
    /// write is mirrored to the host page's first-party storage through the loader.
    mirror: RefCell<Option<Mirror>>,
}

/// Receives `(key, Some(value))` for writes and `(key, None)` for removals.
type MirrorFn = dyn Fn(&str, Option<&str>);

/// The host-storage writer, shared.
#[derive(Clone)]
struct Mirror(Rc<MirrorFn>);

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mirror")
    }
}

/// The widget's storage. Cheap to clone (shared inside); never panics.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Rc<Inner>,
}

impl Store {
    /// Opens `window.localStorage`, falling back to memory (and recording why in
    /// [`Store::degraded`]) when it is missing or throws.
    pub fn open() -> Self {
        match local_storage() {
            Ok(storage) => Self::from_storage(storage),
            Err(error) => Self::memory_because(Some(error)),
        }
    }

    /// A store that lives only as long as the page. Works natively too.
    pub fn in_memory() -> Self {
        Self::memory_because(None)
    }

    /// Uses `storage` if a probe write/remove succeeds, else falls back to memory.
    pub fn from_storage(storage: web_sys::Storage) -> Self {
        let probe = storage
            .set_item(PROBE_KEY, "1")
            .and_then(|()| storage.remove_item(PROBE_KEY));
        match probe {
            Ok(()) => Self::with(Some(storage), None),
            Err(e) => Self::memory_because(Some(StorageError::Unavailable(describe(&e)))),
        }
    }

    fn memory_because(error: Option<StorageError>) -> Self {
        Self::with(None, error)
    }

    fn with(storage: Option<web_sys::Storage>, degraded: Option<StorageError>) -> Self {
        Self {
            inner: Rc::new(Inner {
                storage,
                memory: RefCell::new(StrMap::default()),
                degraded: RefCell::new(degraded),
                mirror: RefCell::new(None),
            }),
        }
    }

    /// True when values survive a reload (backed by `localStorage`, ours or the
    /// host page's through [`Store::mirror_to_host`]).
    pub fn is_persistent(&self) -> bool {
        self.inner.storage.is_some() || self.inner.mirror.borrow().is_some()
    }

    /// True when values live in the frame's own origin storage, out of the host page's
    /// reach; false while they live in memory (and the host mirror).
    pub fn has_own_storage(&self) -> bool {
        self.inner.storage.is_some()
    }

    /// Our own storage is blocked (browsers that block third-party storage): keep
    /// data in memory, seeded from the host page's `everdesk:` keys (`snapshot`), and
    /// hand every write to `write`, which the loader stores first-party. Credentials
    /// ([`is_secret`]) are never handed over, and copies an older widget left in the
    /// host's storage are ignored and removed. No-op (false) when our own storage works.
    pub fn mirror_to_host(
        &self,
        snapshot: impl IntoIterator<Item = (String, String)>,
        write: impl Fn(&str, Option<&str>) + 'static,
    ) -> bool {
        if self.inner.storage.is_some() {
            return false;
        }
        {
            let mut memory = self.inner.memory.borrow_mut();
            for (name, raw) in snapshot {
                if is_secret(&name) {
                    write(&name, None);
                } else if name.starts_with(NAMESPACE) && name != PROBE_KEY {
                    memory.insert_new(name, raw);
                }
            }
        }
        *self.inner.mirror.borrow_mut() = Some(Mirror(Rc::new(write)));
        *self.inner.degraded.borrow_mut() = None;
        true
    }

    /// Another tab changed the host page's copy of `name`: take it over without
    /// mirroring it back. Credentials never come from the host page.
    pub fn apply_host_change(&self, name: &str, raw: Option<String>) {
        if self.inner.mirror.borrow().is_none() || !name.starts_with(NAMESPACE) || is_secret(name) {
            return;
        }
        let mut memory = self.inner.memory.borrow_mut();
        match raw {
            Some(raw) => memory.insert(name.to_owned(), raw),
            None => memory.remove(name),
        };
    }

    fn mirror(&self, name: &str, raw: Option<&str>) {
        let mirror = self.inner.mirror.borrow().clone();
        if let Some(Mirror(write)) = mirror {
            write(name, raw);
        }
    }

    /// Why values are (partly) kept in memory: storage unavailable at open, or the
    /// last failed write. `None` when everything is persisted.
    pub fn degraded(&self) -> Option<StorageError> {
        self.inner.degraded.borrow().clone()
    }

    /// Reads `key`. Missing, corrupt, wrongly shaped or newer-version values read as
    /// `None`; corrupt and wrongly shaped ones are removed so they cannot stick.
    pub fn get<T: FromJson>(&self, key: &Key) -> Option<T> {
        // Only the final `from_json` is per type; reading and unwrapping is shared.
        let (name, data) = self.get_data(key)?;
        match T::from_json(&data) {
            Ok(value) => Some(value),
            Err(e) => {
                self.drop_shape(&name, &e);
                None
            }
        }
    }

    /// The current-version JSON under `key` with its storage name; drops corrupt
    /// values. Not generic, so [`Store::get`] stays small per type.
    #[inline(never)]
    fn get_data(&self, key: &Key) -> Option<(String, Json)> {
        let name = key.name();
        let raw = self.read_raw(&name)?;
        match decode(&raw) {
            Decoded::Data(data) => Some((name, data)),
            Decoded::Newer(_) => None,
            Decoded::Corrupt(why) => {
                self.drop_key(&name, &why);
                None
            }
        }
    }

    /// Drops a value whose JSON does not have the expected shape.
    #[inline(never)]
    fn drop_shape(&self, name: &str, error: &JsonError) {
        self.drop_key(name, &format!("unexpected shape: {error}"));
    }

    /// Writes `value` under `key`. When storage refuses (full, blocked), the value is
    /// kept in memory so the session keeps working, and the error is returned.
    pub fn set<T: ToJson + ?Sized>(&self, key: &Key, value: &T) -> Result<(), StorageError> {
        self.set_raw(key, encode(value))
    }

    /// [`Store::set`] once the value is encoded. Not generic, so it is not
    /// duplicated per stored type.
    #[inline(never)]
    fn set_raw(&self, key: &Key, raw: String) -> Result<(), StorageError> {
        let name = key.name();
        let Some(storage) = &self.inner.storage else {
            if !is_secret(&name) {
                self.mirror(&name, Some(&raw));
            }
            self.inner.memory.borrow_mut().insert(name, raw);
            return Ok(());
        };
        match storage.set_item(&name, &raw) {
            Ok(()) => {
                let mut memory = self.inner.memory.borrow_mut();
                memory.remove(&name);
                if memory.is_empty() {
                    *self.inner.degraded.borrow_mut() = None;
                }
                Ok(())
            }
            Err(e) => {
                let error = write_error(&e);
                self.inner.memory.borrow_mut().insert(name, raw);
                *self.inner.degraded.borrow_mut() = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Removes `key` from memory and storage.
    pub fn remove(&self, key: &Key) {
        let name = key.name();
        self.inner.memory.borrow_mut().remove(&name);
        self.remove_stored(&name);
    }

    /// The ids of every stored ticket record (in memory or persisted).
    pub fn ticket_ids(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.memory.borrow().names().cloned().collect();
        if let Some(storage) = &self.inner.storage {
            names.extend(everdesk_keys(storage).unwrap_or_default());
        }
        let mut ids: Vec<String> = Vec::new();
        for name in names {
            if let Some(Key::Ticket(id)) = Key::parse(&name) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        ids
    }

    /// Removes every `everdesk:` key (any version) and nothing else. Used by
    /// forget-me and shutdown. Memory is always cleared; an error means some
    /// persisted keys could not be listed or removed.
    pub fn wipe(&self) -> Result<(), StorageError> {
        let names: Vec<String> = self
            .inner
            .memory
            .borrow()
            .names()
            .filter(|name| name.starts_with(PREFIX))
            .cloned()
            .collect();
        for name in names {
            self.inner.memory.borrow_mut().remove(&name);
            self.mirror(&name, None);
        }
        let Some(storage) = &self.inner.storage else {
            return Ok(());
        };
        let ours = everdesk_keys(storage).map_err(|e| StorageError::Write(describe(&e)))?;
        let mut result = Ok(());
        for name in ours {
            if let Err(e) = storage.remove_item(&name) {
                result = Err(StorageError::Write(describe(&e)));
            }
        }
        result
    }

    fn read_raw(&self, name: &str) -> Option<String> {
        if let Some(raw) = self.inner.memory.borrow().get(name) {
            return Some(raw.clone());
        }
        let storage = self.inner.storage.as_ref()?;
        match storage.get_item(name) {
            Ok(raw) => raw,
            Err(e) => {
                warn(&format!("could not read {name}: {}", describe(&e)));
                None
            }
        }
    }

    fn drop_key(&self, name: &str, why: &str) {
        warn(&format!("dropping unreadable {name}: {why}"));
        self.inner.memory.borrow_mut().remove(name);
        self.remove_stored(name);
    }

    fn remove_stored(&self, name: &str) {
        self.mirror(name, None);
        if let Some(storage) = &self.inner.storage {
            if let Err(e) = storage.remove_item(name) {
                warn(&format!("could not remove {name}: {}", describe(&e)));
            }
        }
    }
}

/// `window.localStorage`, or why not. Accessing it can itself throw.
fn local_storage() -> Result<web_sys::Storage, StorageError> {
    let window = web_sys::window().ok_or_else(|| StorageError::Unavailable("no window".into()))?;
    match window.local_storage() {
        Ok(Some(storage)) => Ok(storage),
        Ok(None) => Err(StorageError::Unavailable("localStorage is null".into())),
        Err(e) => Err(StorageError::Unavailable(describe(&e))),
    }
}

/// All keys in `storage` that start with [`PREFIX`].
fn everdesk_keys(storage: &web_sys::Storage) -> Result<Vec<String>, JsValue> {
    let mut ours = Vec::new();
    for index in 0..storage.length()? {
        if let Some(name) = storage.key(index)? {
            if name.starts_with(PREFIX) {
                ours.push(name);
            }
        }
    }
    Ok(ours)
}

/// Classifies a thrown write error: quota errors by DOMException name (Chromium,
/// WebKit, and Firefox's legacy name), anything else as [`StorageError::Write`].
fn write_error(error: &JsValue) -> StorageError {
    let quota = error
        .dyn_ref::<web_sys::DomException>()
        .is_some_and(|e| is_quota_name(&e.name()));
    if quota {
        StorageError::QuotaExceeded
    } else {
        StorageError::Write(describe(error))
    }
}

/// True for the names browsers give a full-storage `DOMException`.
pub fn is_quota_name(name: &str) -> bool {
    matches!(name, "QuotaExceededError" | "NS_ERROR_DOM_QUOTA_REACHED")
}

/// A thrown JS value as text, for messages and logs.
fn describe(error: &JsValue) -> String {
    if let Some(e) = error.dyn_ref::<web_sys::DomException>() {
        format!("{}: {}", e.name(), e.message())
    } else if let Some(e) = error.dyn_ref::<js_sys::Error>() {
        String::from(e.message())
    } else {
        error.as_string().unwrap_or_else(|| format!("{error:?}"))
    }
}

/// A console warning in the browser; stderr in native tests (no JS there).
fn warn(message: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::warn_1(&format!("EverDesk storage: {message}").into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("EverDesk storage: {message}");
}

#[cfg(test)]
mod tests;
