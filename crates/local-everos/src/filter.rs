//! The search/get filter DSL (§3.3): `user_id`, `group_id`, `session_id`, `timestamp`
//! conditions combined with `AND`/`OR`, parsed once and evaluated against records.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::clock::parse_iso;

/// A field the DSL can constrain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    UserId,
    GroupId,
    SessionId,
    Timestamp,
}

/// A comparable value: strings for ids, epoch ms for timestamps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Scalar {
    Str(String),
    Ms(i64),
}

/// One operator applied to a field.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(Scalar),
    In(Vec<Scalar>),
    Gt(Scalar),
    Gte(Scalar),
    Lt(Scalar),
    Lte(Scalar),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Cond(Field, Vec<Op>),
}

/// The fields of a stored record a filter looks at.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// Group (personal: `gen_solo_…`).
    pub group_id: &'a str,
    /// Session.
    pub session_id: &'a str,
    /// Event time, epoch ms.
    pub timestamp_ms: i64,
}

/// A parsed filter plus the owners it names (for strict owner isolation).
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    /// Every `user_id` named anywhere (eq or in).
    pub user_ids: BTreeSet<String>,
    /// Every `group_id` named anywhere (eq or in).
    pub group_ids: BTreeSet<String>,
    /// Whether `user_id` or `group_id` appears at the first level.
    pub top_level_scope: bool,
}

/// The route a filter is for: §3.3 allows `gt`/`gte`/`lt`/`lte` on `session_id` only on get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/v1/memories/search`: `session_id` takes eq and in.
    Search,
    /// `POST /api/v1/memories/get`: `session_id` also takes range operators.
    Get,
}

impl Filter {
    /// Parses a filter object for `route`; `Err` carries the 422 message.
    pub fn parse(value: &Value, route: Route) -> Result<Self, String> {
        let obj = value.as_object().ok_or("filters: must be an object")?;
        let root = parse_object(obj, route)?;
        let mut filter = Self {
            root,
            user_ids: BTreeSet::new(),
            group_ids: BTreeSet::new(),
            top_level_scope: obj.contains_key("user_id") || obj.contains_key("group_id"),
        };
        let mut users = BTreeSet::new();
        let mut groups = BTreeSet::new();
        collect(&filter.root, &mut users, &mut groups);
        filter.user_ids = users;
        filter.group_ids = groups;
        Ok(filter)
    }

    /// Whether a `user_id` or `group_id` is named anywhere (search's scope rule).
    pub fn has_scope(&self) -> bool {
        !self.user_ids.is_empty() || !self.group_ids.is_empty()
    }

    /// Strict isolation plus the expression: the record's owner must be one the filter names.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        let owned = self.user_ids.contains(s.user_id) || self.group_ids.contains(s.group_id);
        owned && eval(&self.root, s)
    }
}

fn parse_object(obj: &Map<String, Value>, route: Route) -> Result<Node, String> {
    let mut all = Vec::new();
    for (key, value) in obj {
        match key.as_str() {
            "AND" | "OR" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("filters.{key}: must be an array"))?;
                let mut nodes = Vec::new();
                for item in items {
                    let o = item
                        .as_object()
                        .ok_or_else(|| format!("filters.{key}: items must be objects"))?;
                    nodes.push(parse_object(o, route)?);
                }
                all.push(if key == "AND" {
                    Node::All(nodes)
                } else {
                    Node::Any(nodes)
                });
            }
            "user_id" => all.push(Node::Cond(Field::UserId, parse_ops(key, value, false)?)),
            "group_id" => all.push(Node::Cond(Field::GroupId, parse_ops(key, value, false)?)),
            "session_id" => all.push(Node::Cond(
                Field::SessionId,
                parse_ops(key, value, route == Route::Get)?,
            )),
            "timestamp" => all.push(Node::Cond(Field::Timestamp, parse_ops(key, value, true)?)),
            _ => {} // allowlist: unknown keys are ignored
        }
    }
    Ok(Node::All(all))
}

fn parse_ops(key: &str, value: &Value, ranges: bool) -> Result<Vec<Op>, String> {
    let ts = key == "timestamp";
    let Some(obj) = value.as_object() else {
        return Ok(vec![Op::Eq(scalar(key, value, ts)?)]);
    };
    let mut ops = Vec::new();
    for (op, v) in obj {
        let parsed = match op.as_str() {
            "eq" => Op::Eq(scalar(key, v, ts)?),
            "in" => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| format!("filters.{key}.in: must be an array"))?;
                Op::In(
                    arr.iter()
                        .map(|x| scalar(key, x, ts))
                        .collect::<Result<_, _>>()?,
                )
            }
            "gt" if ranges => Op::Gt(scalar(key, v, ts)?),
            "gte" if ranges => Op::Gte(scalar(key, v, ts)?),
            "lt" if ranges => Op::Lt(scalar(key, v, ts)?),
            "lte" if ranges => Op::Lte(scalar(key, v, ts)?),
            other => return Err(format!("filters.{key}: unsupported operator '{other}'")),
        };
        ops.push(parsed);
    }
    Ok(ops)
}

/// Timestamps: numbers > 1e12 are ms, smaller ones seconds; strings are ISO-8601.
fn scalar(key: &str, v: &Value, ts: bool) -> Result<Scalar, String> {
    if ts {
        let ms = match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) if i > 1_000_000_000_000 => Some(i),
                // Seconds that do not fit in i64 milliseconds are out of range.
                Some(i) => i.checked_mul(1000),
                None => n.as_f64().and_then(float_ms),
            },
            Value::String(s) => parse_iso(s),
            _ => None,
        };
        return ms
            .map(Scalar::Ms)
            .ok_or_else(|| format!("filters.{key}: invalid timestamp"));
    }
    match v {
        Value::String(s) => Ok(Scalar::Str(s.clone())),
        Value::Number(n) => Ok(Scalar::Str(n.to_string())),
        _ => Err(format!("filters.{key}: must be a string")),
    }
}

/// A float timestamp (ms above 1e12, else seconds) as epoch ms; `None` when it does not
/// fit in i64 milliseconds.
fn float_ms(f: f64) -> Option<i64> {
    let ms = if f > 1e12 { f } else { f * 1000.0 };
    // i64::MIN is exactly representable; i64::MAX rounds up to 2^63, which is excluded.
    (ms.is_finite() && ms >= i64::MIN as f64 && ms < i64::MAX as f64).then_some(ms as i64)
}

fn collect(node: &Node, users: &mut BTreeSet<String>, groups: &mut BTreeSet<String>) {
    match node {
        Node::All(ns) | Node::Any(ns) => ns.iter().for_each(|n| collect(n, users, groups)),
        Node::Cond(field, ops) => {
            let target = match field {
                Field::UserId => &mut *users,
                Field::GroupId => &mut *groups,
                _ => return,
            };
            for op in ops {
                match op {
                    Op::Eq(Scalar::Str(s)) => {
                        target.insert(s.clone());
                    }
                    Op::In(items) => items.iter().for_each(|i| {
                        if let Scalar::Str(s) = i {
                            target.insert(s.clone());
                        }
                    }),
                    _ => {}
                }
            }
        }
    }
}

fn eval(node: &Node, s: &Subject<'_>) -> bool {
    match node {
        Node::All(ns) => ns.iter().all(|n| eval(n, s)),
        Node::Any(ns) => ns.iter().any(|n| eval(n, s)),
        Node::Cond(field, ops) => {
            let actual = match field {
                Field::UserId => Scalar::Str(s.user_id.to_owned()),
                Field::GroupId => Scalar::Str(s.group_id.to_owned()),
                Field::SessionId => Scalar::Str(s.session_id.to_owned()),
                Field::Timestamp => Scalar::Ms(s.timestamp_ms),
            };
            ops.iter().all(|op| match op {
                Op::Eq(v) => &actual == v,
                Op::In(vs) => vs.contains(&actual),
                Op::Gt(v) => &actual > v,
                Op::Gte(v) => &actual >= v,
                Op::Lt(v) => &actual < v,
                Op::Lte(v) => &actual <= v,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn search(v: &Value) -> Result<Filter, String> {
        Filter::parse(v, Route::Search)
    }

    fn subj<'a>(user: &'a str, session: &'a str, ts: i64) -> Subject<'a> {
        Subject {
            user_id: user,
            group_id: "g",
            session_id: session,
            timestamp_ms: ts,
        }
    }

    #[test]
    fn eq_and_in_scope_owners() {
        let f = search(&json!({"user_id": "a"})).unwrap();
        assert!(f.matches(&subj("a", "s", 1)));
        assert!(!f.matches(&subj("b", "s", 1)));
        let f = search(&json!({"user_id": {"in": ["a", "b"]}})).unwrap();
        assert!(f.matches(&subj("b", "s", 1)) && !f.matches(&subj("c", "s", 1)));
    }

    #[test]
    fn or_never_leaks_other_owners() {
        let f = search(&json!({"OR": [{"user_id": "a"}, {"session_id": "x"}]})).unwrap();
        assert!(f.matches(&subj("a", "y", 1)));
        assert!(!f.matches(&subj("b", "x", 1)));
    }

    #[test]
    fn session_and_timestamp_units() {
        let f = search(&json!({"user_id": "a", "AND": [
            {"session_id": {"in": ["s1", "s2"]}},
            {"timestamp": {"gte": 1_794_000_000, "lt": "2026-11-20T00:00:00Z"}}
        ]}))
        .unwrap();
        assert!(f.matches(&subj("a", "s1", 1_794_000_000_000)));
        assert!(!f.matches(&subj("a", "s3", 1_794_000_000_000)));
        assert!(!f.matches(&subj("a", "s1", 1_793_999_999_999)));
        assert!(!f.matches(&subj("a", "s1", parse_iso("2026-11-21").unwrap())));
    }

    #[test]
    fn scope_detection_and_errors() {
        assert!(!search(&json!({"session_id": "s"})).unwrap().has_scope());
        let nested = search(&json!({"AND": [{"user_id": "a"}]})).unwrap();
        assert!(nested.has_scope() && !nested.top_level_scope);
        assert!(search(&json!({"user_id": {"gt": "a"}})).is_err());
        assert!(search(&json!({"timestamp": "yesterday", "user_id": "a"})).is_err());
        assert!(search(&json!([1])).is_err());
    }

    #[test]
    fn out_of_range_timestamps_are_rejected_not_overflowed() {
        for v in [
            json!(i64::MIN),
            json!(-9_300_000_000_000_000i64),
            json!(-1e300),
            json!(1e300),
        ] {
            let f = json!({"user_id": "a", "timestamp": {"gte": v}});
            assert!(search(&f).is_err(), "{f}");
        }
        assert!(search(&json!({"user_id": "a", "timestamp": -5})).is_ok());
    }
    #[test]
    fn session_ranges_only_on_get() {
        let f = json!({"user_id": "a", "session_id": {"gte": "s1", "lt": "s3"}});
        assert!(search(&f).is_err());
        let get = Filter::parse(&f, Route::Get).unwrap();
        assert!(get.matches(&subj("a", "s2", 1)) && !get.matches(&subj("a", "s3", 1)));
        let nested = json!({"user_id": "a", "OR": [{"session_id": {"lt": "s"}}]});
        assert!(search(&nested).is_err());
        assert!(search(&json!({"user_id": "a", "session_id": {"in": ["s"]}})).is_ok());
        assert!(search(&json!({"user_id": "a", "timestamp": {"gt": 1}})).is_ok());
    }
}
