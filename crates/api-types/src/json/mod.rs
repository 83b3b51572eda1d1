//! A small JSON codec for the widget: a value tree, a strict parser, a writer, and the
//! `FromJson` / `ToJson` traits the wire types implement by macro.
//!
//! The proxy speaks serde; the widget uses this codec because serde's generic
//! (de)serializers cost the wasm frame about a third of its size. The tests in
//! `tests.rs` hold both codecs to the same JSON for every wire type, so the two can
//! never drift apart silently.

mod impls;
mod macros;
mod parse;
mod write;

#[cfg(test)]
mod tests;

pub use parse::parse;
pub use write::{write_str, ObjWriter};

use std::fmt;

/// Nesting deeper than this is refused (a hostile document cannot exhaust the stack).
pub const MAX_DEPTH: usize = 64;

/// A parsed JSON document. Numbers keep their text, so integers stay exact and no
/// float code is needed unless a float field is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written (already checked against the JSON grammar).
    Num(String),
    /// A string, unescaped.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object's members in document order.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The member `key` of an object (the first, if repeated); `None` for non-objects.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Why a document could not be read: bad syntax, or the wrong shape for the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl JsonError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// "expected X".
    pub fn expected(what: &str) -> Self {
        Self(format!("expected {what}"))
    }

    /// Prefixes the path of the member where the error happened.
    fn at(self, key: &str) -> Self {
        Self(format!("{key}: {}", self.0))
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

/// A type that can be read from a parsed JSON value.
pub trait FromJson: Sized {
    /// Reads `value`, or says why it has the wrong shape.
    fn from_json(value: &Json) -> Result<Self, JsonError>;
}

/// A type that can be written as JSON.
pub trait ToJson {
    /// Appends this value's JSON to `out`.
    fn write_json(&self, out: &mut String);
}

/// Parses `text` and reads it as a `T`.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, JsonError> {
    T::from_json(&parse(text)?)
}

/// The JSON text of `value`.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut out = String::new();
    value.write_json(&mut out);
    out
}

/// The members of an object being read, with typed accessors by key.
#[derive(Clone, Copy)]
pub struct Fields<'a>(&'a [(String, Json)]);

impl<'a> Fields<'a> {
    /// The members of `value`, which must be an object.
    pub fn of(value: &'a Json) -> Result<Self, JsonError> {
        match value {
            Json::Obj(members) => Ok(Self(members)),
            _ => Err(JsonError::expected("an object")),
        }
    }

    /// The raw member `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Json> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A required member.
    pub fn req<T: FromJson>(&self, key: &str) -> Result<T, JsonError> {
        match self.get(key) {
            Some(v) => T::from_json(v).map_err(|e| e.at(key)),
            None => Err(JsonError(format!("missing field `{key}`"))),
        }
    }

    /// An optional member: absent or `null` is `None`.
    pub fn opt<T: FromJson>(&self, key: &str) -> Result<Option<T>, JsonError> {
        match self.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(v) => T::from_json(v).map(Some).map_err(|e| e.at(key)),
        }
    }

    /// A member that takes its default value when absent.
    pub fn or_default<T: FromJson + Default>(&self, key: &str) -> Result<T, JsonError> {
        match self.get(key) {
            None => Ok(T::default()),
            Some(v) => T::from_json(v).map_err(|e| e.at(key)),
        }
    }
}
