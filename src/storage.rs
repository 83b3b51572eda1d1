//! Per-origin browser storage that never panics: namespaced, versioned keys
//! (`everdesk:v1:…`), values in a `{"v":1,"d":…}` envelope with a migration hook, and
//! an in-memory fallback when `localStorage` is missing, blocked, throws or is full.
//!
//! Reading is forgiving: a corrupt or wrongly shaped value drops only its own key; a
//! value from an older layout is migrated; one from a newer version is left alone.
//! Nothing is written until the caller first calls [`Store::set`]: opening the store
//! only writes and immediately removes [`PROBE_KEY`].

use std::{cell::RefCell, collections::BTreeMap, rc::Rc};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use thiserror::Error;
use wasm_bindgen::{JsCast, JsValue};

/// Every EverDesk key starts with this, whatever its version; [`Store::wipe`] uses it.
pub const PREFIX: &str = "everdesk:";
/// The current key namespace.
pub const NAMESPACE: &str = "everdesk:v1:";
/// Written and removed by [`Store::open`] to see whether storage works.
pub const PROBE_KEY: &str = "everdesk:v1:probe";
/// The envelope version [`Store::set`] writes.
pub const CURRENT_VERSION: u64 = 1;

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
    /// The value could not be turned into JSON.
    #[error("could not serialize the value: {0}")]
    Serialize(String),
}

/// A raw stored string, classified. Pure; see [`decode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Current-version data as JSON text, possibly migrated from an older layout.
    Data(String),
    /// Written by a newer version of the widget: leave it alone.
    Newer(u64),
    /// Unusable: not JSON, or no migration path. The key should be dropped.
    Corrupt(String),
}

/// Wraps `value` in the current envelope: `{"v":1,"d":<value>}`.
pub fn encode<T: Serialize>(value: &T) -> Result<String, StorageError> {
    // Serialised straight to text: no intermediate `Value`, so each stored type
    // costs one serializer in the wasm, not two.
    let data = serde_json::to_string(value).map_err(|e| StorageError::Serialize(e.to_string()))?;
    Ok(format!("{{\"v\":{CURRENT_VERSION},\"d\":{data}}}"))
}

/// The current envelope, borrowed: the data stays unparsed text.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    v: u64,
    #[serde(borrow)]
    d: &'a serde_json::value::RawValue,
}

/// Reads a raw stored string: an envelope of the current version is unwrapped, an
/// older one (or a legacy un-enveloped value, version 0) is run through [`migrate`]
/// step by step, a newer one is reported as [`Decoded::Newer`].
pub fn decode(raw: &str) -> Decoded {
    // Only a JSON object can be an envelope (serde would also read `[1, 2]` as one).
    let object = raw.trim_start().starts_with('{');
    if let Some(Envelope { v, d }) = object.then(|| serde_json::from_str(raw).ok()).flatten() {
        if v == CURRENT_VERSION {
            return Decoded::Data(d.get().to_owned());
        }
    }
    let value: Value = match serde_json::from_str(raw) {
        Ok(value) => value,
        Err(e) => return Decoded::Corrupt(format!("not JSON: {e}")),
    };
    let (mut version, mut data) = split_envelope(value);
    if version > CURRENT_VERSION {
        return Decoded::Newer(version);
    }
    while version < CURRENT_VERSION {
        match migrate(version, data) {
            Some(next) => data = next,
            None => return Decoded::Corrupt(format!("no migration from version {version}")),
        }
        version += 1;
    }
    Decoded::Data(data.to_string())
}

/// `{"v":<n>,"d":<data>}` → `(n, data)`; anything else is a legacy value: `(0, value)`.
fn split_envelope(value: Value) -> (u64, Value) {
    match value {
        Value::Object(mut map) if map.len() == 2 && map.contains_key("d") => {
            match map.get("v").and_then(Value::as_u64) {
                Some(version) => (version, map.remove("d").unwrap_or(Value::Null)),
                None => (0, Value::Object(map)),
            }
        }
        other => (0, other),
    }
}

/// Upgrades data stored under envelope `version` to `version + 1`; `None` when there
/// is no way to. Add one arm per layout change.
///
/// - v0 → v1: values written before envelopes existed are the data itself.
pub fn migrate(version: u64, value: Value) -> Option<Value> {
    match version {
        0 => Some(value),
        _ => None,
    }
}

/// Where values live: browser storage, plus an in-memory map for the session.
#[derive(Debug)]
struct Inner {
    /// `None` when we run in memory only.
    storage: Option<web_sys::Storage>,
    /// Raw encoded values that could not be persisted (or all values, without storage).
    memory: RefCell<BTreeMap<String, String>>,
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
                memory: RefCell::new(BTreeMap::new()),
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

    /// Our own storage is blocked (browsers that block third-party storage): keep
    /// data in memory, seeded from the host page's `everdesk:` keys (`snapshot`), and
    /// hand every write to `write`, which the loader stores first-party. No-op (false)
    /// when our own storage works.
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
                if name.starts_with(NAMESPACE) && name != PROBE_KEY {
                    memory.entry(name).or_insert(raw);
                }
            }
        }
        *self.inner.mirror.borrow_mut() = Some(Mirror(Rc::new(write)));
        *self.inner.degraded.borrow_mut() = None;
        true
    }

    /// Another tab changed the host page's copy of `name`: take it over without
    /// mirroring it back.
    pub fn apply_host_change(&self, name: &str, raw: Option<String>) {
        if self.inner.mirror.borrow().is_none() || !name.starts_with(NAMESPACE) {
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
    pub fn get<T: DeserializeOwned>(&self, key: &Key) -> Option<T> {
        let name = key.name();
        let raw = self.read_raw(&name)?;
        let data = match decode(&raw) {
            Decoded::Data(data) => data,
            Decoded::Newer(_) => return None,
            Decoded::Corrupt(why) => {
                self.drop_key(&name, &why);
                return None;
            }
        };
        match serde_json::from_str(&data) {
            Ok(value) => Some(value),
            Err(e) => {
                self.drop_key(&name, &format!("unexpected shape: {e}"));
                None
            }
        }
    }

    /// Writes `value` under `key`. When storage refuses (full, blocked), the value is
    /// kept in memory so the session keeps working, and the error is returned.
    pub fn set<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StorageError> {
        let name = key.name();
        let raw = encode(value)?;
        let Some(storage) = &self.inner.storage else {
            self.mirror(&name, Some(&raw));
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

    /// Removes every `everdesk:` key (any version) and nothing else. Used by
    /// forget-me and shutdown. Memory is always cleared; an error means some
    /// persisted keys could not be listed or removed.
    pub fn wipe(&self) -> Result<(), StorageError> {
        let names: Vec<String> = self
            .inner
            .memory
            .borrow()
            .keys()
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
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

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
}
