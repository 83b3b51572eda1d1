//! The stored-value envelope `{"v":1,"d":…}`: encoding, decoding, and the migration
//! path from older layouts. Pure functions with native tests in `super::tests`.

use serde::Serialize;
use serde_json::Value;

use super::StorageError;

/// The envelope version [`super::Store::set`] writes.
pub const CURRENT_VERSION: u64 = 1;

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
