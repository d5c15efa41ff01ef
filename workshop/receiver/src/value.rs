//! Attribute values without the proto's `Option<oneof>` nesting.
//!
//! OTLP wraps every attribute value in `AnyValue { value: Option<any_value::Value> }`.
//! Checks and the viewer only want "what is `service.name`?", so this module flattens
//! key/value lists into a sorted map of plain [`AttrValue`]s.

use std::collections::BTreeMap;
use std::fmt;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

/// Attributes keyed by name, sorted so that printing them is stable.
pub type Attributes = BTreeMap<String, AttrValue>;

/// One attribute value, as sent by the SDK.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttrValue>),
    Map(Attributes),
    /// The key was sent without a value (allowed by OTLP).
    Empty,
}

impl AttrValue {
    /// The string inside, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is an integer value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number inside as `f64`, for integers and doubles alike.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Int(i) => Some(*i as f64),
            AttrValue::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// The boolean inside, if this is a boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl From<&AnyValue> for AttrValue {
    fn from(any: &AnyValue) -> Self {
        use any_value::Value;
        match &any.value {
            Some(Value::StringValue(s)) => AttrValue::String(s.clone()),
            Some(Value::BoolValue(b)) => AttrValue::Bool(*b),
            Some(Value::IntValue(i)) => AttrValue::Int(*i),
            Some(Value::DoubleValue(d)) => AttrValue::Double(*d),
            Some(Value::BytesValue(b)) => AttrValue::Bytes(b.clone()),
            Some(Value::ArrayValue(a)) => {
                AttrValue::Array(a.values.iter().map(Into::into).collect())
            }
            Some(Value::KvlistValue(kv)) => AttrValue::Map(attributes(&kv.values)),
            // String tables only exist in the profiles signal, which this receiver ignores.
            Some(Value::StringValueStrindex(_)) | None => AttrValue::Empty,
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::String(s.to_owned())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        AttrValue::String(s)
    }
}

impl From<i64> for AttrValue {
    fn from(i: i64) -> Self {
        AttrValue::Int(i)
    }
}

impl From<f64> for AttrValue {
    fn from(d: f64) -> Self {
        AttrValue::Double(d)
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}

/// Prints values the way a person would type them: strings unquoted at the top level,
/// arrays as `[a, b]`, maps as `{k=v}`, bytes as hex.
impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::String(s) => f.write_str(s),
            AttrValue::Bool(b) => write!(f, "{b}"),
            AttrValue::Int(i) => write!(f, "{i}"),
            AttrValue::Double(d) => write!(f, "{d}"),
            AttrValue::Bytes(b) => f.write_str(&hex(b)),
            AttrValue::Array(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
            AttrValue::Map(map) => {
                let pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "{{{}}}", pairs.join(", "))
            }
            AttrValue::Empty => Ok(()),
        }
    }
}

/// Flattens a proto key/value list. A repeated key keeps its last value, as SDKs do.
pub fn attributes(key_values: &[KeyValue]) -> Attributes {
    key_values
        .iter()
        .map(|kv| (kv.key.clone(), value_of(kv)))
        .collect()
}

/// Looks up one key in a proto key/value list without flattening the whole list.
pub fn attribute(key_values: &[KeyValue], key: &str) -> Option<AttrValue> {
    key_values
        .iter()
        .rev()
        .find(|kv| kv.key == key)
        .map(value_of)
}

fn value_of(kv: &KeyValue) -> AttrValue {
    kv.value.as_ref().map_or(AttrValue::Empty, AttrValue::from)
}

/// Lower-case hex, the form trace and span ids take in W3C `traceparent` and in UIs.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Hex of an optional id: OTLP sends an empty byte string when there is none.
pub(crate) fn optional_hex(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| hex(bytes))
}
