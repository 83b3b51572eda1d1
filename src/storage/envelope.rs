//! The stored-value envelope `{"v":1,"d":…}`: encoding, decoding, and the migration
//! path from older layouts. Pure functions with native tests in `super::tests`.

use everdesk_api::json::{self, Json, ToJson};

/// The envelope version [`super::Store::set`] writes.
pub const CURRENT_VERSION: u64 = 1;

/// A raw stored string, classified. Pure; see [`decode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Current-version data, possibly migrated from an older layout.
    Data(Json),
    /// Written by a newer version of the widget: leave it alone.
    Newer(u64),
    /// Unusable: not JSON, or no migration path. The key should be dropped.
    Corrupt(String),
}

/// Wraps `value` in the current envelope: `{"v":1,"d":<value>}`.
pub fn encode<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = format!("{{\"v\":{CURRENT_VERSION},\"d\":");
    value.write_json(&mut out);
    out.push('}');
    out
}

/// Reads a raw stored string: an envelope of the current version is unwrapped, an
/// older one (or a legacy un-enveloped value, version 0) is run through [`migrate`]
/// step by step, a newer one is reported as [`Decoded::Newer`].
pub fn decode(raw: &str) -> Decoded {
    let value = match json::parse(raw) {
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
    Decoded::Data(data)
}

/// `{"v":<n>,"d":<data>}` → `(n, data)`; anything else is a legacy value: `(0, value)`.
fn split_envelope(value: Json) -> (u64, Json) {
    let version = match &value {
        Json::Obj(members) if members.len() == 2 && value.get("d").is_some() => value
            .get("v")
            .and_then(|v| json::FromJson::from_json(v).ok()),
        _ => None,
    };
    match (version, value) {
        (Some(version), Json::Obj(members)) => {
            let data = members.into_iter().find(|(k, _)| k == "d").map(|(_, d)| d);
            (version, data.unwrap_or(Json::Null))
        }
        (_, other) => (0, other),
    }
}

/// Upgrades data stored under envelope `version` to `version + 1`; `None` when there
/// is no way to. Add one arm per layout change.
///
/// - v0 → v1: values written before envelopes existed are the data itself.
pub fn migrate(version: u64, value: Json) -> Option<Json> {
    match version {
        0 => Some(value),
        _ => None,
    }
}
