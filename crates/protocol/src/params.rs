//! Finding a member inside `params` by key path, on the borrowed raw text,
//! helped by an index of the top-level members of `params` built while the
//! body was parsed.

use crate::error::ProtocolError;
use serde::Deserializer as _;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// The raw JSON token at `path` inside the raw `params` object, borrowed
/// from it. `index`, when given, holds every top-level member of `params`;
/// otherwise (and below the top level) each object on the way is scanned to
/// its end. Either way a key that appears twice is reported instead of
/// silently picking one copy.
pub(crate) fn find<'a>(
    params: &'a str,
    index: Option<&Index<'a>>,
    path: &[&str],
) -> Result<&'a str, ProtocolError> {
    let mut current = params;
    for (depth, key) in path.iter().enumerate() {
        let parent = path.get(..depth).unwrap_or_default();
        if !current.starts_with('{') {
            let got = crate::json_str::type_name(current);
            return Err(ProtocolError::InvalidParams(format!(
                "`{}` must be an object, got {got}",
                dotted(parent)
            )));
        }
        let found = match index {
            Some(index) if depth == 0 => index.get(key),
            _ => scan(current, key)?,
        };
        let here = path.get(..=depth).unwrap_or_default();
        current = match found {
            Found::One(raw) => raw,
            Found::None => {
                return Err(ProtocolError::InvalidParams(format!(
                    "`{}` is missing",
                    dotted(here)
                )));
            }
            Found::Repeated => {
                return Err(ProtocolError::InvalidParams(format!(
                    "`{}` appears more than once",
                    dotted(here)
                )));
            }
        };
    }
    Ok(current)
}

/// Scans the raw object `object` for `key`.
fn scan<'a>(object: &'a str, key: &str) -> Result<Found<'a>, ProtocolError> {
    let mut de = serde_json::Deserializer::from_str(object);
    (&mut de)
        .deserialize_map(FindMember { key })
        .map_err(|e| ProtocolError::InvalidParams(e.to_string()))
}

/// The raw values of `keys` in the raw JSON object `object`, in one pass over it, borrowed
/// from it (keys compared after decoding escapes); `None` when `object` is not an object. A
/// key that appears twice yields its last value (a parsed [`crate::Message`] has none).
pub(crate) fn members<'a, const N: usize>(
    object: &'a str,
    keys: [&str; N],
) -> Option<[Option<&'a str>; N]> {
    if !object.starts_with('{') {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(object);
    (&mut de).deserialize_map(PickMembers { keys }).ok()
}

/// The elements of the raw JSON array `array`, borrowed from it; `None` when it is not one.
pub(crate) fn elements(array: &str) -> Option<Vec<&str>> {
    if !array.starts_with('[') {
        return None;
    }
    let items: Vec<&RawValue> = serde_json::from_str(array).ok()?;
    Some(items.into_iter().map(RawValue::get).collect())
}

struct PickMembers<'k, const N: usize> {
    keys: [&'k str; N],
}

impl<'de, const N: usize> Visitor<'de> for PickMembers<'_, N> {
    type Value = [Option<&'de str>; N];

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        while let Some(which) = map.next_key_seed(KeyAmong(&self.keys))? {
            match which.and_then(|i| found.get_mut(i)) {
                Some(slot) => *slot = Some(map.next_value::<&'de RawValue>()?.get()),
                None => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(found)
    }
}

/// Which of the wanted keys an object key is, after decoding escapes.
struct KeyAmong<'s, 'k>(&'s [&'k str]);

impl<'de> DeserializeSeed<'de> for KeyAmong<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Option<usize>, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyAmong<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|k| *k == key))
    }
}

/// How many top-level members of `params` the index holds; objects with
/// more are scanned instead.
const INDEXED_MEMBERS: usize = 8;

/// The top-level members of an object, as (key text without quotes, raw
/// value), for objects whose keys have no escapes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Index<'a> {
    members: [(&'a str, &'a str); INDEXED_MEMBERS],
    len: usize,
}

impl<'a> Index<'a> {
    /// Adds a member; false when the index is full.
    pub(crate) fn push(&mut self, key: &'a str, value: &'a str) -> bool {
        let Some(slot) = self.members.get_mut(self.len) else {
            return false;
        };
        *slot = (key, value);
        self.len += 1;
        true
    }

    fn get(&self, key: &str) -> Found<'a> {
        let members = self.members.get(..self.len).unwrap_or_default();
        let mut found = Found::None;
        for &(_, value) in members.iter().filter(|(k, _)| *k == key) {
            found = found.and(value);
        }
        found
    }
}

/// `params.a.b` for the path `["a", "b"]`, for error messages.
pub(crate) fn dotted(path: &[&str]) -> String {
    let mut out = String::from("params");
    for key in path {
        out.push('.');
        out.push_str(key);
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum Found<'a> {
    None,
    One(&'a str),
    Repeated,
}

impl<'a> Found<'a> {
    /// What was found after seeing one more member with the wanted key.
    fn and(self, value: &'a str) -> Self {
        match self {
            Found::None => Found::One(value),
            Found::One(_) | Found::Repeated => Found::Repeated,
        }
    }
}

struct FindMember<'k> {
    key: &'k str,
}

impl<'de> Visitor<'de> for FindMember<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found<'de>, A::Error> {
        let mut found = Found::None;
        while let Some(matches) = map.next_key_seed(KeyIs(self.key))? {
            if !matches {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let value: &'de RawValue = map.next_value()?;
            found = found.and(value.get());
        }
        Ok(found)
    }
}

/// Whether an object key, after decoding escapes, equals the wanted key.
struct KeyIs<'k>(&'k str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_members_by_decoded_key() {
        let params = r#"{"ref":{"type":"ref/prompt","n\u0061me":"weather_x"},"argument":{}}"#;
        assert_eq!(find(params, None, &["ref", "name"]), Ok(r#""weather_x""#));
        assert_eq!(
            find(params, None, &["ref"]).map(|r| r.starts_with('{')),
            Ok(true)
        );
        assert_eq!(find(params, None, &[]), Ok(params));
    }

    #[test]
    fn reports_missing_repeated_and_non_objects() {
        let err = |params, path| match find(params, None, path) {
            Err(ProtocolError::InvalidParams(m)) => m,
            other => panic!("expected InvalidParams, got {other:?}"),
        };
        assert_eq!(err(r#"{"a":1}"#, &["name"]), "`params.name` is missing");
        assert_eq!(
            err(r#"{"name":"a","x":1,"name":"b"}"#, &["name"]),
            "`params.name` appears more than once"
        );
        assert_eq!(
            err(r#"{"ref":"x"}"#, &["ref", "name"]),
            "`params.ref` must be an object, got a string"
        );
        assert_eq!(
            err(r#"["name"]"#, &["name"]),
            "`params` must be an object, got an array"
        );
    }

    #[test]
    fn duplicates_off_the_path_are_ignored() {
        let params = r#"{"arguments":{},"arguments":[],"name":"t"}"#;
        assert_eq!(find(params, None, &["name"]), Ok(r#""t""#));
    }

    #[test]
    fn index_and_scan_agree() {
        let objects = [
            r#"{}"#,
            r#"{"name":"a","arguments":{"name":"inner"}}"#,
            r#"{ "x" : 1 , "arguments" : null }"#,
        ];
        for object in objects {
            let body = format!(r#"{{"params":{object}}}"#);
            let envelope =
                crate::envelope::Envelope::read(&body, Default::default()).expect("valid JSON");
            let index = envelope.params_index.expect("complete index");
            for key in ["name", "arguments", "x", "missing"] {
                assert_eq!(Ok(index.get(key)), scan(object, key), "{object} {key}");
                assert_eq!(
                    find(object, Some(&index), &[key]),
                    find(object, None, &[key])
                );
            }
        }
    }
}
