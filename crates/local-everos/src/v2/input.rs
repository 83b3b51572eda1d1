//! Request-body validation with the real server's (FastAPI + pydantic) rules and messages:
//! every failure is 422 `INVALID_INPUT` with `"<pydantic msg>: <dotted field path>"`,
//! checked field by field in declaration order, extra keys last.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// A JSON object body.
pub type Body = Map<String, Value>;

/// `"{msg}: {loc}"`, or just `msg` when the location is the body itself.
pub fn invalid(msg: &str, loc: &str) -> ApiError {
    if loc.is_empty() {
        ApiError::invalid_input(msg)
    } else {
        ApiError::invalid_input(format!("{msg}: {loc}"))
    }
}

/// A model validator's failure (`"Value error, …"`, no location).
pub fn value_error(msg: &str) -> ApiError {
    ApiError::invalid_input(format!("Value error, {msg}"))
}

/// The character offset of serde_json's (line, column) in `bytes`, as FastAPI reports a
/// JSON decode error's position.
fn char_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let text = String::from_utf8_lossy(bytes);
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += l.chars().count() + 1;
    }
    offset
}

/// Parses a request body as a JSON object: malformed JSON and a non-object are 422.
pub fn parse(bytes: &[u8]) -> Result<Body, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(invalid("Field required", ""));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(
            "Input should be a valid dictionary or object to extract fields from",
            "",
        )),
        Err(e) => Err(invalid(
            "JSON decode error",
            &char_offset(bytes, e.line(), e.column()).to_string(),
        )),
    }
}

/// A view of one JSON object at a location (`""` for the body, `messages.0` …).
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    map: &'a Body,
    at: &'a str,
}

impl<'a> Obj<'a> {
    /// The object at `at`.
    pub fn new(map: &'a Body, at: &'a str) -> Self {
        Self { map, at }
    }

    /// The dotted location of a key.
    pub fn loc(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    /// The raw value of a key.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// 422 `Extra inputs are not permitted` for the first key not in `allowed`.
    pub fn forbid_extra(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(extra) => Err(invalid("Extra inputs are not permitted", &self.loc(extra))),
            None => Ok(()),
        }
    }

    /// A required string (`null` is not a string).
    pub fn req_str(&self, key: &str) -> Result<String, ApiError> {
        match self.map.get(key) {
            None => Err(invalid("Field required", &self.loc(key))),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid("Input should be a valid string", &self.loc(key))),
        }
    }

    /// An optional string (`str | None = None`: absent or `null` is `None`).
    pub fn opt_str(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid("Input should be a valid string", &self.loc(key))),
        }
    }

    /// A string with a default (`str = default`: `null` is refused).
    pub fn str_or(&self, key: &str, default: &str) -> Result<String, ApiError> {
        match self.map.get(key) {
            None => Ok(default.to_owned()),
            Some(_) => self.req_str(key),
        }
    }

    /// A boolean with a default (lax: also `0`/`1` and the strings pydantic accepts).
    pub fn bool_or(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.map.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(false),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(true),
            Some(Value::String(s)) => match s.to_lowercase().as_str() {
                "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
                "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
                _ => Err(invalid("Input should be a valid boolean", &self.loc(key))),
            },
            Some(_) => Err(invalid("Input should be a valid boolean", &self.loc(key))),
        }
    }

    /// An integer with a default (lax: integral floats and numeric strings too).
    pub fn int_or(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.map.get(key) {
            None => Ok(default),
            Some(v) => as_int(v).ok_or_else(|| {
                let msg = if v.is_string() {
                    "Input should be a valid integer, unable to parse string as an integer"
                } else {
                    "Input should be a valid integer"
                };
                invalid(msg, &self.loc(key))
            }),
        }
    }

    /// An optional number in `[0, 1]` (`radius`, `min_score`).
    pub fn opt_unit(&self, key: &str) -> Result<Option<f64>, ApiError> {
        let v = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(_) => None,
        };
        match v {
            Some(f) if f < 0.0 => Err(invalid(
                "Input should be greater than or equal to 0",
                &self.loc(key),
            )),
            Some(f) if f > 1.0 => Err(invalid(
                "Input should be less than or equal to 1",
                &self.loc(key),
            )),
            Some(f) => Ok(Some(f)),
            None => Err(invalid("Input should be a valid number", &self.loc(key))),
        }
    }

    /// A value that must be one of `choices` (a `Literal`/enum), with a default.
    pub fn choice_or(
        &self,
        key: &str,
        choices: &[&str],
        default: &str,
    ) -> Result<String, ApiError> {
        match self.map.get(key) {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) if choices.contains(&s.as_str()) => Ok(s.clone()),
            Some(_) => Err(invalid(&one_of(choices), &self.loc(key))),
        }
    }

    /// A required value that must be one of `choices`.
    pub fn req_choice(&self, key: &str, choices: &[&str]) -> Result<String, ApiError> {
        match self.map.get(key) {
            None => Err(invalid("Field required", &self.loc(key))),
            Some(_) => self.choice_or(key, choices, ""),
        }
    }
}

/// A lax integer: JSON integers, integral floats and numeric strings.
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// pydantic's `Input should be 'a', 'b' or 'c'`.
pub fn one_of(choices: &[&str]) -> String {
    let quoted: Vec<String> = choices.iter().map(|c| format!("'{c}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("Input should be {} or {last}", rest.join(", "))
        }
        Some((only, _)) => format!("Input should be {only}"),
        None => "Input should be a valid value".to_owned(),
    }
}

/// Checks a string's length in characters (`min_length`/`max_length`).
pub fn check_len(s: &str, loc: &str, min: usize, max: Option<usize>) -> Result<(), ApiError> {
    let n = s.chars().count();
    if n < min {
        let unit = if min == 1 { "character" } else { "characters" };
        return Err(invalid(
            &format!("String should have at least {min} {unit}"),
            loc,
        ));
    }
    if let Some(max) = max.filter(|m| n > *m) {
        return Err(invalid(
            &format!("String should have at most {max} characters"),
            loc,
        ));
    }
    Ok(())
}

/// The path-safe id charset of `sender_id`, `app_id` and `project_id`.
pub const PATH_SAFE: &str = "^[a-zA-Z0-9_.@+-]+$";

/// Validates a path-safe id (`sender_id`, `app_id`, `project_id`): 1–128 characters of
/// [`PATH_SAFE`], not `.` or `..`.
pub fn check_path_safe(s: &str, loc: &str) -> Result<(), ApiError> {
    check_len(s, loc, 1, Some(128))?;
    let safe = |c: char| c.is_ascii_alphanumeric() || "_.@+-".contains(c);
    if !s.chars().all(safe) {
        return Err(invalid(
            &format!("String should match pattern '{PATH_SAFE}'"),
            loc,
        ));
    }
    if s == "." || s == ".." {
        return Err(invalid(
            "Value error, '.' and '..' are reserved (path traversal)",
            loc,
        ));
    }
    Ok(())
}

/// Validates the `app_id`/`project_id` scope pair. local-everos keeps one scope, so any
/// other value than `default` is refused (the real server would partition by it).
pub fn check_scope(obj: &Obj<'_>, path_safe: bool) -> Result<(), ApiError> {
    for key in ["app_id", "project_id"] {
        let v = obj.str_or(key, "default")?;
        if path_safe {
            check_path_safe(&v, &obj.loc(key))?;
        }
        if v != "default" {
            return Err(invalid(
                "Value error, local-everos serves only the 'default' scope",
                &obj.loc(key),
            ));
        }
    }
    Ok(())
}

/// The owner of a search/get/delete: exactly one of `user_id`/`agent_id` (each ≥ 1 char).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A user's memory (episodes, profile).
    User(String),
    /// An agent's memory (cases, skills).
    Agent(String),
}

/// Reads `user_id` and `agent_id` (the field checks; the exactly-one rule is
/// [`owner_xor`], a model validator that runs after all fields).
pub fn owner_fields(obj: &Obj<'_>) -> Result<(Option<String>, Option<String>), ApiError> {
    let user = obj.opt_str("user_id")?;
    if let Some(u) = &user {
        check_len(u, "user_id", 1, None)?;
    }
    let agent = obj.opt_str("agent_id")?;
    if let Some(a) = &agent {
        check_len(a, "agent_id", 1, None)?;
    }
    Ok((user, agent))
}

/// Exactly one of the two owners.
pub fn owner_xor(user: Option<String>, agent: Option<String>) -> Result<Owner, ApiError> {
    match (user, agent) {
        (Some(u), None) => Ok(Owner::User(u)),
        (None, Some(a)) => Ok(Owner::Agent(a)),
        _ => Err(value_error(
            "exactly one of user_id / agent_id must be provided",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msg(e: ApiError) -> String {
        assert_eq!(e.v2_error_code(), "INVALID_INPUT");
        e.message
    }

    #[test]
    fn messages_follow_pydantic() {
        assert!(msg(parse(b"{\"a\": ").unwrap_err()).starts_with("JSON decode error: "));
        assert_eq!(msg(parse(b"{}\n{").unwrap_err()), "JSON decode error: 3");
        assert_eq!(msg(parse(b"").unwrap_err()), "Field required");
        let body = json!({"x": 1, "s": "", "b": "maybe"});
        let map = body.as_object().unwrap();
        let o = Obj::new(map, "messages.0");
        assert_eq!(
            msg(o.req_str("role").unwrap_err()),
            "Field required: messages.0.role"
        );
        assert_eq!(
            msg(o.forbid_extra(&["s", "b"]).unwrap_err()),
            "Extra inputs are not permitted: messages.0.x"
        );
        assert_eq!(
            msg(o
                .req_choice("s", &["user", "assistant", "tool"])
                .unwrap_err()),
            "Input should be 'user', 'assistant' or 'tool': messages.0.s"
        );
        assert!(o.bool_or("b", false).is_err());
        assert_eq!(
            msg(check_len("", "session_id", 1, Some(128)).unwrap_err()),
            "String should have at least 1 character: session_id"
        );
        assert!(check_path_safe("a/b", "x").is_err());
        assert!(check_path_safe("..", "x").is_err());
        assert!(check_path_safe("cust_1@x.com+tag", "x").is_ok());
    }
}
