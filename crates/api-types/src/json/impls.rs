//! `FromJson` / `ToJson` for the primitives and containers the wire types use.

use super::{write_str, FromJson, Json, JsonError, ToJson};

impl FromJson for String {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| JsonError::expected("a string"))
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for &str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        write_str(out, self);
    }
}

impl FromJson for bool {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Bool(b) => Ok(*b),
            _ => Err(JsonError::expected("a boolean")),
        }
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

/// The integer in `value`: a number written without fraction or exponent, in range.
/// Every integer on the wire fits an `i64` (times are milliseconds).
fn integer(value: &Json, min: i64, max: i64) -> Result<i64, JsonError> {
    let Json::Num(text) = value else {
        return Err(JsonError::expected("an integer"));
    };
    text.parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| JsonError::expected("an integer in range"))
}

/// Appends the decimal digits of `n`.
fn write_int(out: &mut String, negative: bool, mut rest: u64) {
    if negative {
        out.push('-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

macro_rules! integers {
    ($($t:ty => |$n:ident| ($neg:expr, $abs:expr)),*) => {$(
        impl FromJson for $t {
            fn from_json(value: &Json) -> Result<Self, JsonError> {
                let max = i64::try_from(<$t>::MAX).unwrap_or(i64::MAX);
                // In range by the check, so the narrowing cannot truncate.
                integer(value, <$t>::MIN as i64, max).map(|n| n as $t)
            }
        }
        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                let $n = *self;
                write_int(out, $neg, $abs);
            }
        }
    )*};
}
integers!(
    u8 => |n| (false, u64::from(n)),
    u16 => |n| (false, u64::from(n)),
    u32 => |n| (false, u64::from(n)),
    u64 => |n| (false, n),
    i32 => |n| (n < 0, u64::from(n.unsigned_abs())),
    i64 => |n| (n < 0, n.unsigned_abs())
);

impl FromJson for f64 {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Num(text) => float::parse(text).ok_or_else(|| JsonError::expected("a number")),
            _ => Err(JsonError::expected("a number")),
        }
    }
}

impl ToJson for f64 {
    fn write_json(&self, out: &mut String) {
        if self.is_finite() {
            float::write(out, *self);
        } else {
            out.push_str("null");
        }
    }
}

/// Float text conversions. In the browser the JavaScript engine's own (exact,
/// shortest round-trip) conversions are used, so the wasm carries no float
/// formatting or parsing code of its own; natively, Rust's.
mod float {
    #[cfg(target_arch = "wasm32")]
    pub fn parse(text: &str) -> Option<f64> {
        // The text already passed the JSON number grammar, which JS reads exactly.
        Some(js_sys::parse_float(text)).filter(|n| !n.is_nan())
    }

    #[cfg(target_arch = "wasm32")]
    pub fn write(out: &mut String, value: f64) {
        let text = js_sys::Number::from(value).to_string_with_radix(10);
        out.push_str(&text.map(String::from).unwrap_or_else(|_| "null".into()));
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn parse(text: &str) -> Option<f64> {
        text.parse().ok()
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn write(out: &mut String, value: f64) {
        // `{:?}` keeps a fraction or exponent, so the value reads back as a float.
        out.push_str(&format!("{value:?}"));
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Arr(items) => {
                // A plain loop: `collect` into a `Result` costs an adapter per type.
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(T::from_json(item)?);
                }
                Ok(out)
            }
            _ => Err(JsonError::expected("an array")),
        }
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        self.as_slice().write_json(out);
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            item.write_json(out);
        }
        out.push(']');
    }
}

impl FromJson for Json {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        Ok(value.clone())
    }
}

impl ToJson for Json {
    fn write_json(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => b.write_json(out),
            Json::Num(n) => out.push_str(n),
            Json::Str(s) => write_str(out, s),
            Json::Arr(items) => items.write_json(out),
            Json::Obj(members) => {
                let mut w = super::ObjWriter::new(out);
                for (k, v) in members {
                    w.field(k, v);
                }
                w.end();
            }
        }
    }
}
