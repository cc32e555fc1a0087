//! The top-level JSON-RPC object read in one pass: each member the gateway
//! cares about is kept as a borrowed raw value, everything else is skipped
//! (but still validated as JSON). When `params` is an object its top-level
//! members are indexed in the same pass, so looking up `params.name` later
//! does not scan a large `arguments` value a second time.

use crate::json_str;
use crate::params::{Index, IndexSeed, Indexed};
use serde::Deserializer as _;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A top-level member the gateway interprets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    Jsonrpc,
    Id,
    Method,
    Params,
    Result,
    Error,
    Other,
}

impl Member {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Jsonrpc => "jsonrpc",
            Self::Id => "id",
            Self::Method => "method",
            Self::Params => "params",
            Self::Result => "result",
            Self::Error => "error",
            Self::Other => "other",
        }
    }
}

/// The raw members of a top-level object, borrowed from the body.
#[derive(Debug, Default)]
pub(crate) struct Envelope<'a> {
    pub(crate) jsonrpc: Option<&'a str>,
    pub(crate) id: Option<&'a str>,
    pub(crate) method: Option<&'a str>,
    pub(crate) params: Option<&'a str>,
    /// The top-level members of `params`, when it is an object read in the
    /// indexing pass and every key fit the index.
    pub(crate) params_index: Option<Index<'a>>,
    pub(crate) result: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    /// The first interpreted member that appeared more than once.
    pub(crate) duplicate: Option<Member>,
    /// The indexing pass could not delimit `params`.
    params_missed: bool,
}

impl<'a> Envelope<'a> {
    /// Reads a body whose first non-whitespace byte is `{`. Errors are JSON
    /// syntax errors only: every shape rule is checked by the caller.
    pub(crate) fn read(body: &'a str) -> Result<Self, serde_json::Error> {
        let envelope = Self::read_with(body, true)?;
        if !envelope.params_missed {
            return Ok(envelope);
        }
        // The indexing pass could not delimit `params` (not expected for
        // valid JSON): read again keeping `params` as one raw value.
        Self::read_with(body, false)
    }

    fn read_with(body: &'a str, index_params: bool) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(body);
        let visitor = EnvelopeVisitor { body, index_params };
        let envelope = (&mut de).deserialize_map(visitor)?;
        de.end()?;
        Ok(envelope)
    }

    fn slot(&mut self, member: Member) -> Option<&mut Option<&'a str>> {
        match member {
            Member::Jsonrpc => Some(&mut self.jsonrpc),
            Member::Id => Some(&mut self.id),
            Member::Method => Some(&mut self.method),
            Member::Params => Some(&mut self.params),
            Member::Result => Some(&mut self.result),
            Member::Error => Some(&mut self.error),
            Member::Other => None,
        }
    }

    fn store(&mut self, member: Member, value: &'a str) {
        let Some(slot) = self.slot(member) else {
            return;
        };
        if slot.replace(value).is_some() && self.duplicate.is_none() {
            self.duplicate = Some(member);
        }
    }
}

struct EnvelopeVisitor<'a> {
    body: &'a str,
    index_params: bool,
}

impl<'de> Visitor<'de> for EnvelopeVisitor<'de> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let mut envelope = Envelope::default();
        while let Some((member, key)) = map.next_key_seed(MemberSeed)? {
            match member {
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
                Member::Params if self.index_params => {
                    match key.and_then(|key| object_after_key(self.body, key)) {
                        Some(open) => {
                            let indexed = map.next_value_seed(IndexSeed)?;
                            match object_text(self.body, open, &indexed) {
                                Some(raw) => envelope.store(member, raw),
                                None => envelope.params_missed = true,
                            }
                            envelope.params_index = indexed.index;
                        }
                        None => {
                            let value: &'de RawValue = map.next_value()?;
                            envelope.store(member, value.get());
                            envelope.params_index = None;
                        }
                    }
                }
                _ => {
                    let value: &'de RawValue = map.next_value()?;
                    envelope.store(member, value.get());
                }
            }
        }
        Ok(envelope)
    }
}

/// The offset of the `{` that starts the value following the object key
/// `key` (a slice of `body` without its quotes), if that value is an object.
fn object_after_key(body: &str, key: &str) -> Option<usize> {
    let after_key = json_str::range_in(body, key)?.end;
    let rest = body.get(after_key..)?.strip_prefix('"')?;
    let rest = rest
        .trim_start_matches(json_str::WHITESPACE)
        .strip_prefix(':')?;
    let value = rest.trim_start_matches(json_str::WHITESPACE);
    value.starts_with('{').then(|| body.len() - value.len())
}

/// The text of the object starting at `open`, given what the indexing pass
/// saw inside it: it ends at the first `}` after its last member's value.
fn object_text<'a>(body: &'a str, open: usize, indexed: &Indexed<'a>) -> Option<&'a str> {
    let content_end = match indexed.last_value {
        Some(value) => json_str::range_in(body, value)?.end,
        None => open.checked_add(1)?,
    };
    let tail = body
        .get(content_end..)?
        .trim_start_matches(json_str::WHITESPACE);
    if !tail.starts_with('}') {
        return None;
    }
    let close = body.len() - tail.len();
    body.get(open..=close)
}

/// Maps an object key to a [`Member`] without allocating (escaped keys are
/// decoded by serde_json into its scratch buffer), along with the key's text
/// in the body when it has no escapes.
struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = (Member, Option<&'de str>);

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed {
    type Value = (Member, Option<&'de str>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok((member(key), Some(key)))
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok((member(key), None))
    }
}

fn member(key: &str) -> Member {
    match key {
        "jsonrpc" => Member::Jsonrpc,
        "id" => Member::Id,
        "method" => Member::Method,
        "params" => Member::Params,
        "result" => Member::Result,
        "error" => Member::Error,
        _ => Member::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_and_raw_readings_agree() {
        let bodies = [
            r#"{"params":{},"jsonrpc":"2.0"}"#,
            r#"{"params" : { } }"#,
            "{\"params\"\n:\t{\"a\" : 1 ,\"b\":[{}] \r\n} , \"x\":1}",
            r#"{"params":{"n\u0061me":"x","arguments":{"}":"{"}}}"#,
            r#"{"params":[1,{"a":2}]}"#,
            r#"{"params":"text"}"#,
            r#"{"p\u0061rams":{"name":"x"}}"#,
            r#"{"params":{"a":1},"params":{"b":2}}"#,
            r#"{"params":{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}}"#,
        ];
        for body in bodies {
            let indexed = Envelope::read_with(body, true).expect(body);
            let raw = Envelope::read_with(body, false).expect(body);
            assert!(!indexed.params_missed, "{body}");
            assert_eq!(indexed.params, raw.params, "{body}");
            assert_eq!(indexed.duplicate, raw.duplicate, "{body}");
            assert_eq!(raw.params_index, None);
        }
    }

    #[test]
    fn params_index_is_kept_only_when_complete() {
        let read = |body| Envelope::read(body).expect(body).params_index.is_some();
        assert!(read(r#"{"params":{"name":"x","arguments":{"a":1}}}"#));
        assert!(read(r#"{"params":{}}"#));
        assert!(!read(r#"{"params":{"n\u0061me":"x"}}"#));
        assert!(!read(r#"{"p\u0061rams":{"name":"x"}}"#));
        assert!(!read(r#"{"params":[]}"#));
        assert!(!read(r#"{"params":{"name":"x"},"params":[]}"#));
        assert!(!read(
            r#"{"params":{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9}}"#
        ));
    }
}
