//! The v2 filters DSL of search and get: `session_id`, `parent_type`, `parent_id`,
//! `timestamp` (ms, seconds or ISO-8601) with `eq`/`ne`/`gt`/`gte`/`lt`/`lte`/`in`,
//! `sender_id` (contained in the episode's `sender_ids`, `eq`/`in`), nested `AND`/`OR`.
//! The owner is never a filter: `user_id` is an unsupported field and `owner_id`,
//! `owner_type`, `app_id`, `project_id` are reserved (422 `INVALID_INPUT`), as on the real
//! server; keys whose value is `null` are dropped first (pydantic's `exclude_none`).

use serde_json::{Map, Value};

use crate::clock::{parse_iso, v2_timestamp_ms};
use crate::error::ApiError;
use crate::v2::input::invalid;

/// A scalar column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    SessionId,
    ParentType,
    ParentId,
    Timestamp,
}

/// A comparable literal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Lit {
    Str(String),
    Ms(i64),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// A compiled predicate.
#[derive(Debug, Clone, PartialEq)]
enum Pred {
    All(Vec<Pred>),
    Any(Vec<Pred>),
    Compare(Field, Cmp, Lit),
    OneOf(Field, Vec<Lit>),
    /// `sender_ids` contains any of these.
    Sender(Vec<String>),
}

/// What a filter looks at on an episode.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Session.
    pub session_id: &'a str,
    /// Event time, epoch ms.
    pub timestamp_ms: i64,
    /// Senders of the source conversation.
    pub sender_ids: &'a [String],
    /// Always `memcell` here.
    pub parent_type: &'a str,
    /// The memcell id.
    pub parent_id: &'a str,
}

/// A compiled filter; the empty filter matches everything.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Pred,
    /// The top-level `session_id` when it is a plain non-empty string: the only shape
    /// that makes search return the session's `unprocessed_messages`.
    pub top_level_session: Option<String>,
}

const NODE_ERR: &str = "Input should be a valid dictionary or instance of FilterNode";

impl Filter {
    /// The request-model check of `filters` (an object whose `AND`/`OR` are lists of
    /// objects); the real server runs it with the other fields, before the model
    /// validators, and compiles the predicates ([`Filter::parse`]) only after them.
    pub fn check(value: Option<&Value>) -> Result<(), ApiError> {
        match value {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Object(o)) => check_shape(o, "filters"),
            Some(_) => Err(invalid(NODE_ERR, "filters")),
        }
    }

    /// Validates and compiles `filters` (absent or `null` = no filter).
    pub fn parse(value: Option<&Value>) -> Result<Self, ApiError> {
        let obj = match value {
            None | Some(Value::Null) => {
                return Ok(Self {
                    root: Pred::All(Vec::new()),
                    top_level_session: None,
                })
            }
            Some(Value::Object(o)) => o,
            Some(_) => return Err(invalid(NODE_ERR, "filters")),
        };
        check_shape(obj, "filters")?;
        let root = compile_node(obj)?.unwrap_or(Pred::All(Vec::new()));
        let top_level_session = match obj.get("session_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        Ok(Self {
            root,
            top_level_session,
        })
    }

    /// Whether an episode passes.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        eval(&self.root, s)
    }
}

/// The model-level check (pydantic): `AND`/`OR` are lists of objects, recursively.
fn check_shape(obj: &Map<String, Value>, at: &str) -> Result<(), ApiError> {
    for key in ["AND", "OR"] {
        match obj.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let loc = format!("{at}.{key}.{i}");
                    match item {
                        Value::Object(o) => check_shape(o, &loc)?,
                        _ => return Err(invalid(NODE_ERR, &loc)),
                    }
                }
            }
            Some(_) => {
                return Err(invalid(
                    "Input should be a valid list",
                    &format!("{at}.{key}"),
                ))
            }
        }
    }
    Ok(())
}

fn filter_error(msg: String) -> ApiError {
    ApiError::invalid_input(msg)
}

fn compile_node(obj: &Map<String, Value>) -> Result<Option<Pred>, ApiError> {
    let mut parts = Vec::new();
    for key in ["AND", "OR"] {
        if let Some(Value::Array(children)) = obj.get(key) {
            let mut frags = Vec::new();
            for child in children {
                if let Some(p) = child.as_object().map(compile_node).transpose()?.flatten() {
                    frags.push(p);
                }
            }
            if !frags.is_empty() {
                parts.push(if key == "AND" {
                    Pred::All(frags)
                } else {
                    Pred::Any(frags)
                });
            }
        }
    }
    for (field, value) in obj {
        if field == "AND" || field == "OR" || value.is_null() {
            continue;
        }
        if ["owner_id", "owner_type", "app_id", "project_id"].contains(&field.as_str()) {
            return Err(filter_error(format!(
                "filter field '{field}' is reserved; pass it at the top of the request"
            )));
        }
        parts.push(compile_field(field, value)?);
    }
    Ok((!parts.is_empty()).then_some(Pred::All(parts)))
}

fn compile_field(field: &str, value: &Value) -> Result<Pred, ApiError> {
    let column = match field {
        "session_id" => Some(Field::SessionId),
        "parent_type" => Some(Field::ParentType),
        "parent_id" => Some(Field::ParentId),
        "timestamp" => Some(Field::Timestamp),
        "sender_id" => None,
        _ => return Err(filter_error(format!("unsupported filter field: '{field}'"))),
    };
    let ops: Vec<(&str, &Value)> = match value {
        Value::Object(m) if m.is_empty() => {
            return Err(filter_error(format!(
                "empty operator map for field '{field}'"
            )))
        }
        Value::Object(m) => m.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        v => vec![("eq", v)],
    };
    let mut preds = Vec::new();
    for (op, v) in ops {
        if !["eq", "ne", "gt", "gte", "lt", "lte", "in"].contains(&op) {
            return Err(filter_error(format!(
                "unsupported operator '{op}' on field '{field}'"
            )));
        }
        preds.push(match column {
            None => match op {
                "eq" => Pred::Sender(vec![require_str(v, field)?]),
                "in" => Pred::Sender(
                    require_list(v, field)?
                        .iter()
                        .map(|x| require_str(x, field))
                        .collect::<Result<_, _>>()?,
                ),
                _ => {
                    return Err(filter_error(format!(
                        "operator '{op}' is not supported on array field '{field}'"
                    )))
                }
            },
            Some(col) if op == "in" => Pred::OneOf(
                col,
                require_list(v, field)?
                    .iter()
                    .map(|x| literal(col, x, field))
                    .collect::<Result<_, _>>()?,
            ),
            Some(col) => {
                let cmp = match op {
                    "eq" => Cmp::Eq,
                    "ne" => Cmp::Ne,
                    "gt" => Cmp::Gt,
                    "gte" => Cmp::Gte,
                    "lt" => Cmp::Lt,
                    _ => Cmp::Lte,
                };
                Pred::Compare(col, cmp, literal(col, v, field)?)
            }
        });
    }
    Ok(Pred::All(preds))
}

fn require_str(v: &Value, field: &str) -> Result<String, ApiError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| filter_error(format!("value for '{field}' must be a string")))
}

fn require_list<'v>(v: &'v Value, field: &str) -> Result<&'v Vec<Value>, ApiError> {
    match v {
        Value::Array(items) if !items.is_empty() => Ok(items),
        _ => Err(filter_error(format!(
            "value for '{field}' with 'in' must be a non-empty list"
        ))),
    }
}

fn literal(col: Field, v: &Value, field: &str) -> Result<Lit, ApiError> {
    if col != Field::Timestamp {
        return require_str(v, field).map(Lit::Str);
    }
    let bad = || {
        filter_error(format!(
            "timestamp value for '{field}' must be ms or ISO string"
        ))
    };
    let ms = match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 9.2e18)
                    .map(|f| f as i64)
            })
            .and_then(v2_timestamp_ms),
        Value::String(s) if s.contains('\'') => {
            return Err(filter_error(format!(
                "timestamp string for '{field}' contains a quote"
            )))
        }
        Value::String(s) => parse_iso(s),
        _ => None,
    };
    ms.map(Lit::Ms).ok_or_else(bad)
}

fn eval(p: &Pred, s: &Subject<'_>) -> bool {
    match p {
        Pred::All(ps) => ps.iter().all(|p| eval(p, s)),
        Pred::Any(ps) => ps.iter().any(|p| eval(p, s)),
        Pred::Sender(ids) => ids.iter().any(|id| s.sender_ids.contains(id)),
        Pred::OneOf(col, lits) => lits.contains(&actual(*col, s)),
        Pred::Compare(col, cmp, lit) => {
            let a = actual(*col, s);
            match cmp {
                Cmp::Eq => &a == lit,
                Cmp::Ne => &a != lit,
                Cmp::Gt => &a > lit,
                Cmp::Gte => &a >= lit,
                Cmp::Lt => &a < lit,
                Cmp::Lte => &a <= lit,
            }
        }
    }
}

fn actual(col: Field, s: &Subject<'_>) -> Lit {
    match col {
        Field::SessionId => Lit::Str(s.session_id.to_owned()),
        Field::ParentType => Lit::Str(s.parent_type.to_owned()),
        Field::ParentId => Lit::Str(s.parent_id.to_owned()),
        Field::Timestamp => Lit::Ms(s.timestamp_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subj<'a>(session: &'a str, ts: i64, senders: &'a [String]) -> Subject<'a> {
        Subject {
            session_id: session,
            timestamp_ms: ts,
            sender_ids: senders,
            parent_type: "memcell",
            parent_id: "p",
        }
    }

    fn parse(v: Value) -> Result<Filter, String> {
        Filter::parse(Some(&v)).map_err(|e| e.message)
    }

    #[test]
    fn owner_fields_are_refused() {
        assert_eq!(
            parse(json!({"user_id": "a"})).unwrap_err(),
            "unsupported filter field: 'user_id'"
        );
        assert!(parse(json!({"AND": [{"app_id": "x"}]}))
            .unwrap_err()
            .contains("reserved"));
        assert_eq!(
            parse(json!({"AND": "x"})).unwrap_err(),
            "Input should be a valid list: filters.AND"
        );
        assert!(parse(json!({"session_id": {}})).is_err());
        assert!(parse(json!({"sender_id": {"gt": "a"}})).is_err());
        assert!(parse(json!({"timestamp": "yesterday"})).is_err());
        assert!(parse(json!({"session_id": {"in": []}})).is_err());
    }

    #[test]
    fn evaluates_fields_ops_and_combinators() {
        let senders = vec!["alice".to_owned(), "bot".to_owned()];
        let f = parse(json!({"session_id": "s1", "OR": [
            {"sender_id": "alice"}, {"timestamp": {"gte": 1_794_400_000}}
        ]}))
        .unwrap();
        assert_eq!(f.top_level_session.as_deref(), Some("s1"));
        assert!(f.matches(&subj("s1", 1, &senders)));
        assert!(!f.matches(&subj("s2", 1, &senders)));
        assert!(!f.matches(&subj("s1", 1, &[])));
        assert!(f.matches(&subj("s1", 1_794_400_000_000, &[])));
        let f =
            parse(json!({"session_id": {"ne": "s1"}, "timestamp": {"lt": "2026-11-11T12:26:40Z"}}))
                .unwrap();
        assert_eq!(f.top_level_session, None);
        assert!(f.matches(&subj("s2", 1_794_399_999_999, &senders)));
        assert!(!f.matches(&subj("s2", 1_794_400_000_000, &senders)));
        assert!(parse(json!({"session_id": null}))
            .unwrap()
            .matches(&subj("x", 0, &[])));
    }
}
