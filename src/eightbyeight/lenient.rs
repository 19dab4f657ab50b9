//! Lenient reading of 8x8 event JSON: the [`Scalar`] value type and the
//! private field reader every typed event is built with.
//!
//! 8x8 writes a value without quotes whenever it *looks* like a JSON number
//! or boolean, decided per value (`8x8.md` §5.9): the same field can be
//! `"true"` in one message and `true` in the next, `1000` or `"SALE"`. So
//! nothing here ever fails: a value is read as text first and converted, and
//! a value that does not convert is simply absent from the typed view (the
//! raw JSON keeps it).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// A loosely typed JSON scalar: a string, a number or a boolean, as 8x8 sent
/// it.
///
/// Used for fields whose JSON type changes from message to message or from
/// event to event: `status` (a boolean on `LineHoldStatus`, a string on
/// `RecordingStatus`), `dispositionCode` (`1000` or `"SALE"`),
/// `inboundChannelid` (a number or `"N/A"`), `callingName` and every
/// `attachedDataValue`. The accessors convert across forms, so code written
/// against one form keeps working when the other arrives.
///
/// ```
/// use pulsar_eventstream::eightbyeight::Scalar;
///
/// let quoted = Scalar::from("5");
/// let bare = Scalar::from(5);
/// assert_eq!(quoted.as_i64(), Some(5));
/// assert_eq!(bare.as_i64(), Some(5));
/// assert_eq!(bare.to_text(), "5");
///
/// assert_eq!(Scalar::from("true").as_bool(), Some(true));
/// assert_eq!(Scalar::from(false).as_bool(), Some(false));
/// assert_eq!(Scalar::from("SALE").as_i64(), None);
/// assert_eq!(Scalar::from("SALE").as_str(), Some("SALE"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A JSON string.
    String(String),
    /// A JSON number, exactly as parsed.
    Number(Number),
    /// A JSON boolean.
    Bool(bool),
}

impl Scalar {
    /// The scalar in a JSON value; `None` for `null`, arrays and objects.
    pub fn from_json(value: &Value) -> Option<Scalar> {
        match value {
            Value::String(s) => Some(Scalar::String(s.clone())),
            Value::Number(n) => Some(Scalar::Number(n.clone())),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }

    /// The string, when the value was sent as a JSON string. Use
    /// [`to_text`](Self::to_text) for the text form of any scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text, whatever its JSON type: `"5"`, `"true"`, `"SALE"`.
    /// This is the reading 8x8 recommends ("read values as text, then
    /// convert").
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Scalar::String(s) => Cow::Borrowed(s),
            Scalar::Number(n) => Cow::Owned(n.to_string()),
            Scalar::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        }
    }

    /// The value as an integer: a JSON integer, an integral float, or a
    /// string holding one (`"5"`, `" 5 "`, `"5.0"`). `None` otherwise,
    /// including for booleans.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Scalar::Number(n) => number_to_i64(n),
            Scalar::String(s) => text_to_i64(s),
            Scalar::Bool(_) => None,
        }
    }

    /// The value as a float: any JSON number, or a string holding one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Number(n) => n.as_f64(),
            Scalar::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            Scalar::Bool(_) => None,
        }
    }

    /// The value as a boolean: `true`/`false`, or the strings `"true"`,
    /// `"false"`, `"yes"`, `"no"`, `"1"`, `"0"` (any case), or the numbers
    /// `1` and `0`. `None` otherwise.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::String(s) => text_to_bool(s),
            Scalar::Number(n) => match n.as_i64() {
                Some(1) => Some(true),
                Some(0) => Some(false),
                _ => None,
            },
        }
    }

    /// The scalar as a JSON value, in the form it was sent.
    pub fn to_json(&self) -> Value {
        match self {
            Scalar::String(s) => Value::String(s.clone()),
            Scalar::Number(n) => Value::Number(n.clone()),
            Scalar::Bool(b) => Value::Bool(*b),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Scalar::String(s.to_string())
    }
}

impl From<String> for Scalar {
    fn from(s: String) -> Self {
        Scalar::String(s)
    }
}

impl From<i64> for Scalar {
    fn from(n: i64) -> Self {
        Scalar::Number(n.into())
    }
}

impl From<bool> for Scalar {
    fn from(b: bool) -> Self {
        Scalar::Bool(b)
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::String(s) => serializer.serialize_str(s),
            Scalar::Number(n) => n.serialize(serializer),
            Scalar::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    /// Accepts a JSON string, number or boolean; fails on anything else.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Scalar::from_json(&value)
            .ok_or_else(|| serde::de::Error::custom("expected a JSON string, number or boolean"))
    }
}

fn number_to_i64(n: &Number) -> Option<i64> {
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    n.as_f64().and_then(float_to_i64)
}

fn float_to_i64(f: f64) -> Option<i64> {
    // The bounds are exact powers of two, so the comparisons are exact.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.is_finite() && f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) {
        Some(f as i64)
    } else {
        None
    }
}

fn text_to_i64(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>()
        .ok()
        .or_else(|| text.parse::<f64>().ok().and_then(float_to_i64))
}

fn text_to_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    for (word, value) in [
        ("true", true),
        ("false", false),
        ("yes", true),
        ("no", false),
        ("1", true),
        ("0", false),
    ] {
        if text.eq_ignore_ascii_case(word) {
            return Some(value);
        }
    }
    None
}

/// Reads the members of one JSON object leniently. Every accessor returns
/// `None` for an absent member, a `null`, or a value that does not convert;
/// none can fail or panic. A non-object reads as an empty object.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a>(Option<&'a Map<String, Value>>);

impl<'a> Fields<'a> {
    pub(crate) fn of(value: &'a Value) -> Self {
        Fields(value.as_object())
    }

    /// The member's raw value; `null` counts as absent.
    pub(crate) fn raw(self, key: &str) -> Option<&'a Value> {
        self.0.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// The member as a nested reader (absent or not an object: empty).
    pub(crate) fn object(self, key: &str) -> Fields<'a> {
        Fields(self.raw(key).and_then(Value::as_object))
    }

    pub(crate) fn scalar(self, key: &str) -> Option<Scalar> {
        self.raw(key).and_then(Scalar::from_json)
    }

    /// The text form of a string, number or boolean member.
    pub(crate) fn text(self, key: &str) -> Option<String> {
        self.scalar(key).map(|s| match s {
            Scalar::String(s) => s,
            other => other.to_text().into_owned(),
        })
    }

    pub(crate) fn int(self, key: &str) -> Option<i64> {
        self.scalar(key).and_then(|s| s.as_i64())
    }

    pub(crate) fn boolean(self, key: &str) -> Option<bool> {
        self.scalar(key).and_then(|s| s.as_bool())
    }

    /// A text-coded member converted with `parse` (which never fails).
    pub(crate) fn code<T>(self, key: &str, parse: impl FnOnce(&str) -> T) -> Option<T> {
        self.scalar(key).map(|s| parse(&s.to_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_convert_across_forms() {
        let s = |v: Value| Scalar::from_json(&v).unwrap();
        assert_eq!(s(json!(5)).as_i64(), Some(5));
        assert_eq!(s(json!("5")).as_i64(), Some(5));
        assert_eq!(s(json!(" 5 ")).as_i64(), Some(5));
        assert_eq!(s(json!(5.0)).as_i64(), Some(5));
        assert_eq!(s(json!("5.5")).as_i64(), None);
        assert_eq!(s(json!(1e300)).as_i64(), None);
        assert_eq!(s(json!(u64::MAX)).as_i64(), None);
        assert_eq!(s(json!(true)).as_i64(), None);
        assert_eq!(s(json!("TRUE")).as_bool(), Some(true));
        assert_eq!(s(json!("no")).as_bool(), Some(false));
        assert_eq!(s(json!(1)).as_bool(), Some(true));
        assert_eq!(s(json!(2)).as_bool(), None);
        assert_eq!(s(json!("N/A")).as_bool(), None);
        assert_eq!(s(json!(13125555068i64)).to_text(), "13125555068");
        assert_eq!(s(json!(false)).to_string(), "false");
        assert_eq!(s(json!("x")).as_str(), Some("x"));
        assert_eq!(s(json!(1)).as_str(), None);
        assert_eq!(s(json!("2.5")).as_f64(), Some(2.5));
        assert_eq!(s(json!("NaN")).as_f64(), None);
        assert!(Scalar::from_json(&json!(null)).is_none());
        assert!(Scalar::from_json(&json!([1])).is_none());
        assert!(Scalar::from_json(&json!({"a": 1})).is_none());
    }

    #[test]
    fn scalars_round_trip_through_serde() {
        for v in [json!("a"), json!(7), json!(2.5), json!(true)] {
            let s: Scalar = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&s).unwrap(), v);
            assert_eq!(s.to_json(), v);
        }
        assert!(serde_json::from_value::<Scalar>(json!({})).is_err());
    }

    #[test]
    fn fields_never_fail() {
        let v = json!({"a": "5", "b": 5, "c": "true", "d": null, "e": {"x": 1}, "f": [1]});
        let f = Fields::of(&v);
        assert_eq!(f.int("a"), Some(5));
        assert_eq!(f.text("b").as_deref(), Some("5"));
        assert_eq!(f.boolean("c"), Some(true));
        assert_eq!(f.text("d"), None);
        assert_eq!(f.text("e"), None);
        assert_eq!(f.int("f"), None);
        assert_eq!(f.object("e").int("x"), Some(1));
        assert_eq!(f.object("a").int("x"), None);
        assert_eq!(Fields::of(&json!(3)).text("a"), None);
    }
}
