//! Typed, borrowing deserialization of one JSON Lines record.
//!
//! A record is read in one pass straight from the line's text: the keys a record kind knows
//! (its [`Schema`], aliases included) land in fixed slots as [`Raw`] values that borrow the
//! line's text when the JSON string has no escapes; every other key becomes an attribute
//! (`serde_json::Value`, as the data model keeps them). No intermediate `serde_json::Value`
//! tree is built for the known fields, so a typical log line costs the allocations of the
//! record it becomes and nothing more.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// The field names of one record kind; groups of aliases are contiguous index ranges.
pub(crate) type Schema<const N: usize> = [&'static str; N];

/// One field's value, borrowed from the line where possible.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'a, str>),
    /// An array or object (kept as a `Value`: only attributes and labels nest).
    Nested(Value),
}

impl Raw<'_> {
    /// The JSON value (for attributes).
    pub fn into_value(self) -> Value {
        match self {
            Raw::Null => Value::Null,
            Raw::Bool(b) => Value::Bool(b),
            Raw::I64(i) => Value::from(i),
            Raw::U64(u) => Value::from(u),
            Raw::F64(f) => Value::from(f),
            Raw::Str(s) => Value::String(s.into_owned()),
            Raw::Nested(v) => v,
        }
    }

    /// The value as error messages quote it: a string's text, any other value's JSON.
    pub fn display(&self) -> String {
        match self {
            Raw::Str(s) => s.as_ref().to_owned(),
            other => other.clone().into_value().to_string(),
        }
    }

    /// `a string`, `a number`, … for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Raw::Null => "null",
            Raw::Bool(_) => "a boolean",
            Raw::I64(_) | Raw::U64(_) | Raw::F64(_) => "a number",
            Raw::Str(_) => "a string",
            Raw::Nested(Value::Array(_)) => "an array",
            Raw::Nested(Value::Object(_)) => "an object",
            Raw::Nested(v) => match v {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            },
        }
    }

    /// As `f64` when the value is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Raw::I64(i) => Some(i as f64),
            Raw::U64(u) => Some(u as f64),
            Raw::F64(f) => Some(f),
            _ => None,
        }
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Raw::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Raw::I64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        // serde_json reports every non-negative integer as u64; keep i64 where it fits so that
        // the value prints and converts exactly as `serde_json::Value` would.
        Ok(i64::try_from(v).map_or(Raw::U64(v), Raw::I64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Raw::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Raw::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Raw::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Raw::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Raw::Nested)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Raw::Nested)
    }
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

/// A key: the index of a known name, or an unknown name (an attribute).
enum Key {
    Known(usize),
    Other(String),
}

struct KeySeed<'s>(&'s [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match self.0.iter().position(|n| *n == v) {
            Some(i) => Key::Known(i),
            None => Key::Other(v.to_owned()),
        })
    }
}

/// The fields of one record: known ones by slot, the rest as attributes.
#[derive(Debug)]
pub(crate) struct Fields<'a, const N: usize> {
    pub schema: &'static Schema<N>,
    pub known: [Option<Raw<'a>>; N],
    pub attributes: BTreeMap<String, Value>,
}

impl<'a, const N: usize> Fields<'a, N> {
    /// Parses one JSON object from `text`. `Err` carries serde_json's message; callers
    /// re-classify the line for a friendlier one (that path is rare).
    pub fn parse(schema: &'static Schema<N>, text: &'a str) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = FieldsSeed(schema).deserialize(&mut de)?;
        de.end()?;
        Ok(fields)
    }
}

struct FieldsSeed<const N: usize>(&'static Schema<N>);

impl<'de, const N: usize> DeserializeSeed<'de> for FieldsSeed<N> {
    type Value = Fields<'de, N>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for FieldsSeed<N> {
    type Value = Fields<'de, N>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Fields {
            schema: self.0,
            known: std::array::from_fn(|_| None),
            attributes: BTreeMap::new(),
        };
        // A repeated key keeps its last value, as `serde_json::Map` does.
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            match key {
                Key::Known(i) => out.known[i] = Some(map.next_value()?),
                Key::Other(name) => {
                    let v: Value = map.next_value()?;
                    out.attributes.insert(name, v);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static S: Schema<3> = ["a", "b", "c"];

    #[test]
    fn known_fields_borrow_and_unknown_fields_become_attributes() {
        let f = Fields::parse(&S, r#"{"a": "x", "b": 2, "z": {"k": [1]}, "c": null}"#).unwrap();
        assert!(matches!(f.known[0], Some(Raw::Str(Cow::Borrowed("x")))));
        assert_eq!(f.known[1], Some(Raw::I64(2)));
        assert_eq!(f.known[2], Some(Raw::Null));
        assert_eq!(f.attributes["z"], serde_json::json!({"k": [1]}));
    }

    #[test]
    fn escaped_strings_are_owned_and_repeated_keys_keep_the_last_value() {
        let f = Fields::parse(&S, r#"{"a": "x\ny", "a": "\u00e9", "b": 1.5, "b": -3}"#).unwrap();
        assert_eq!(f.known[0], Some(Raw::Str(Cow::Owned("é".into()))));
        assert_eq!(f.known[1], Some(Raw::I64(-3)));
    }

    #[test]
    fn numbers_print_like_serde_json_values() {
        for text in ["2.4", "18446744073709551615", "-7", "1e300", "true", "[1,\"a\"]"] {
            let v: Value = serde_json::from_str(text).unwrap();
            let r: Raw<'_> = serde_json::from_str(text).unwrap();
            assert_eq!(r.display(), v.to_string(), "{text}");
            assert_eq!(r.into_value(), v, "{text}");
        }
    }

    #[test]
    fn non_objects_and_trailing_text_are_errors() {
        assert!(Fields::parse(&S, "[1]").is_err());
        assert!(Fields::parse(&S, r#"{"a": 1} x"#).is_err());
        assert!(Fields::parse(&S, r#"{"a": 1"#).is_err());
    }
}
