//! [`StrMap`]: a small map of storage names to raw values, as a vector. The frame
//! keeps a handful of keys in memory (only while storage is blocked or full) and
//! receives the host's copy of them once; a linear map serves that in a fraction of
//! the wasm a `BTreeMap<String, String>` costs.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Storage names to raw values, in insertion order; each name at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrMap(Vec<(String, String)>);

impl StrMap {
    /// The value under `name`.
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Sets `name` to `value`, replacing an older value.
    pub fn insert(&mut self, name: String, value: String) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Sets `name` to `value` unless it has a value already.
    pub fn insert_new(&mut self, name: String, value: String) {
        if self.get(&name).is_none() {
            self.0.push((name, value));
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, in insertion order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(n, _)| n)
    }

    /// The entries, in insertion order.
    pub fn into_entries(self) -> Vec<(String, String)> {
        self.0
    }
}

impl FromIterator<(String, String)> for StrMap {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(entries: I) -> Self {
        let mut map = Self::default();
        for (name, value) in entries {
            map.insert(name, value);
        }
        map
    }
}

/// A JSON object, as the loader sends it (the serde side defines the bridge format).
impl Serialize for StrMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(n, v)| (n, v)))
    }
}

impl<'de> Deserialize<'de> for StrMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, String>::deserialize(deserializer)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_map() {
        let mut map = StrMap::default();
        assert!(map.is_empty());
        map.insert("a".into(), "1".into());
        map.insert("b".into(), "2".into());
        map.insert("a".into(), "3".into());
        assert_eq!(map.get("a").map(String::as_str), Some("3"));
        map.insert_new("b".into(), "kept?".into());
        assert_eq!(map.get("b").map(String::as_str), Some("2"));
        map.remove("a");
        assert_eq!(map.get("a"), None);
        assert_eq!(map.names().collect::<Vec<_>>(), ["b"]);
        let from: StrMap = [("x".into(), "1".into()), ("x".into(), "2".into())]
            .into_iter()
            .collect();
        assert_eq!(from.into_entries(), [("x".to_owned(), "2".to_owned())]);
    }

    #[test]
    fn serde_reads_and_writes_a_json_object() {
        let map: StrMap = serde_json::from_str(r#"{"k":"v","j":"w"}"#).unwrap();
        assert_eq!(map.get("k").map(String::as_str), Some("v"));
        assert_eq!(serde_json::to_string(&map).unwrap(), r#"{"j":"w","k":"v"}"#);
    }
}
