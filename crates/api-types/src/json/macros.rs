//! `json_struct!` and `json_str_enum!`: the codec impls for plain structs and unit enums,
//! written once so every type reads and writes its members the same way.
//!
//! Member markers mirror the serde attributes on the same types: none = required;
//! `opt` = `Option`, absent or `null` reads as `None`, `None` is not written
//! (`default, skip_serializing_if = "Option::is_none"`); `default` = absent reads as
//! `Default::default()` (`#[serde(default)]`).

/// Implements `FromJson` and `ToJson` for a struct with named members whose JSON keys
/// are the member names: `json_struct!(Ticket { id, subject, closed_at: opt })`.
#[macro_export]
macro_rules! json_struct {
    ($ty:ident { $($field:ident $(: $kind:ident)?),* $(,)? }) => {
        impl $crate::json::FromJson for $ty {
            fn from_json(
                value: &$crate::json::Json,
            ) -> Result<Self, $crate::json::JsonError> {
                let _fields = $crate::json::Fields::of(value)?;
                Ok($ty {
                    $($field: $crate::json_struct!(@read _fields $field $($kind)?),)*
                })
            }
        }
        impl $crate::json::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                let mut _w = $crate::json::ObjWriter::new(out);
                $($crate::json_struct!(@write _w self $field $($kind)?);)*
                _w.end();
            }
        }
    };
    (@read $f:ident $field:ident) => { $f.req(stringify!($field))? };
    (@read $f:ident $field:ident opt) => { $f.opt(stringify!($field))? };
    (@read $f:ident $field:ident default) => { $f.or_default(stringify!($field))? };
    (@write $w:ident $s:ident $field:ident opt) => {
        $w.opt(
            stringify!($field),
            $s.$field.as_ref().map(|v| v as &dyn $crate::json::ToJson),
        )
    };
    (@write $w:ident $s:ident $field:ident $($kind:ident)?) => {
        $w.field(stringify!($field), &$s.$field)
    };
}

/// Implements `FromJson` and `ToJson` for a unit enum written as strings, with an
/// optional catch-all variant for strings this build does not know (`#[serde(other)]`):
/// `json_str_enum!(Role { User = "user", Assistant = "assistant" })`.
#[macro_export]
macro_rules! json_str_enum {
    ($ty:ident { $($var:ident = $s:literal),* $(,)? } $(else $other:ident = $os:literal)?) => {
        impl $ty {
            /// The JSON string of this variant.
            pub fn as_json_str(self) -> &'static str {
                match self {
                    $($ty::$var => $s,)*
                    $($ty::$other => $os,)?
                }
            }
        }
        impl $crate::json::FromJson for $ty {
            fn from_json(
                value: &$crate::json::Json,
            ) -> Result<Self, $crate::json::JsonError> {
                match value.as_str() {
                    $(Some($s) => Ok($ty::$var),)*
                    $(Some(_) => Ok($ty::$other),)?
                    _ => Err($crate::json::JsonError::expected(concat!(
                        "one of" $(, " ", $s)*
                    ))),
                }
            }
        }
        impl $crate::json::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                $crate::json::write_str(out, self.as_json_str());
            }
        }
    };
}
