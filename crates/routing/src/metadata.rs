//! The `mcp` dynamic metadata of a routed request: written by the request phase for Envoy
//! (RBAC, rate limits, access logs, its error bodies) and read back by the response phase,
//! which sees it on the response filter's own stream. Both directions live here, side by
//! side, so a key cannot drift between writer and reader.

use std::borrow::Cow;

use mcp_gateway_protocol::handoff::REQUEST_ID_JSON_KEY;
use mcp_gateway_protocol::modern::Stamp;

use crate::decision::Addressed;

/// Namespace of the dynamic metadata the router sets.
pub const METADATA_NAMESPACE: &str = mcp_gateway_protocol::handoff::METADATA_NAMESPACE;

/// Key: the JSON-RPC method (or `response`, or `GET` for a resumed stream).
const METHOD: &str = mcp_gateway_protocol::handoff::METHOD_KEY;
/// Key: the server the request went to.
const SERVER: &str = mcp_gateway_protocol::handoff::SERVER_KEY;
/// Key: the gateway session whose backend session the request used.
const GATEWAY_SESSION: &str = mcp_gateway_protocol::handoff::GATEWAY_SESSION_KEY;
/// Key: what the answer carries that must be rewritten (`task`, `read`).
const REWRITE: &str = "rewrite";
/// Key: the request id typed as the client sent it (a number or a string).
const REQUEST_ID: &str = "request_id";
/// The key of the lowest log level the client wants (a rank, see [`RouteMetadata::log_floor`]).
const LOG_FLOOR: &str = "log_floor";

/// How the answer to a routed request must change for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// It carries task ids (a task-augmented `tools/call`, `tasks/get|result|cancel`).
    Task,
    /// It carries resource URIs (`resources/read`).
    Read,
    /// A 2026-07-28 client's: the result gets `resultType`.
    Stamp,
    /// A 2026-07-28 client's `resources/read` by an exposed URI: URIs as for [`Rewrite::Read`],
    /// and the result gets `resultType`, `ttlMs` and `cacheScope`.
    StampRead,
    /// A 2026-07-28 client's `resources/read` by the backend's own URI: the result gets
    /// `resultType`, `ttlMs` and `cacheScope`.
    StampCache,
}

impl Rewrite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Task => "task",
            Self::Read => "read",
            Self::Stamp => "stamp",
            Self::StampRead => "stamp-read",
            Self::StampCache => "stamp-cache",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "task" => Some(Self::Task),
            "read" => Some(Self::Read),
            "stamp" => Some(Self::Stamp),
            "stamp-read" => Some(Self::StampRead),
            "stamp-cache" => Some(Self::StampCache),
            _ => None,
        }
    }

    /// Whether the result's `contents[].uri` name the backend's URIs, to be exposed.
    pub fn read_contents(self) -> bool {
        matches!(self, Self::Read | Self::StampRead)
    }

    /// What a 2026-07-28 client's result needs added.
    pub fn stamp(self) -> Option<Stamp> {
        match self {
            Self::Task | Self::Read => None,
            Self::Stamp => Some(Stamp::Complete),
            Self::StampRead | Self::StampCache => Some(Stamp::Cacheable),
        }
    }
}

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// A string.
    Str(Cow<'a, str>),
    /// A number (JSON numbers as doubles, as Envoy's `Struct` holds them).
    Number(f64),
}

/// What the request phase tells Envoy and the response phase about a routed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMetadata {
    /// The method label (`x-mcp-method`).
    pub method: Cow<'static, str>,
    /// The server the request went to.
    pub server: String,
    /// What the request addresses, and its name (or URI, task id, id) at the server.
    pub addressed: Option<(Addressed, String)>,
    /// The gateway session.
    pub gateway_session: String,
    /// What the answer carries that must be rewritten.
    pub rewrite: Option<Rewrite>,
    /// The request's id as raw JSON text, as the client wrote it.
    pub request_id: Option<String>,
    /// For a 2026-07-28 client on a held session: the lowest rank
    /// (`mcp_gateway_protocol::modern::log_rank`) of `notifications/message` it gets on the
    /// answer's stream (`LOG_LEVELS.len()`: none). `None`: every one.
    pub log_floor: Option<u8>,
}

impl RouteMetadata {
    /// The fields to set. Empty strings are left out (readers treat a missing field the same,
    /// and each field costs on every routed request); `request_id` is typed, and
    /// `request_id_json` is the raw id or `null`.
    pub fn to_fields(&self) -> Vec<(&'static str, FieldValue<'_>)> {
        fn push<'a>(
            fields: &mut Vec<(&'static str, FieldValue<'a>)>,
            key: &'static str,
            value: &'a str,
        ) {
            if !value.is_empty() {
                fields.push((key, FieldValue::Str(Cow::Borrowed(value))));
            }
        }
        let mut fields = Vec::with_capacity(7);
        push(&mut fields, METHOD, &self.method);
        push(&mut fields, SERVER, &self.server);
        push(&mut fields, GATEWAY_SESSION, &self.gateway_session);
        push(
            &mut fields,
            REWRITE,
            self.rewrite.map_or("", Rewrite::as_str),
        );
        let typed_id = self.request_id.as_deref().and_then(typed_id);
        if let Some((addressed, original)) = &self.addressed {
            let key = addressed_key(*addressed);
            // A response's original id shares its key with the typed id, which wins.
            if !(key == REQUEST_ID && typed_id.is_some()) {
                push(&mut fields, key, original);
            }
        }
        if let Some(id) = typed_id {
            fields.push((REQUEST_ID, id));
        }
        if let Some(floor) = self.log_floor {
            fields.push((LOG_FLOOR, FieldValue::Number(f64::from(floor))));
        }
        let raw = self.request_id.as_deref().unwrap_or("null");
        fields.push((REQUEST_ID_JSON_KEY, FieldValue::Str(Cow::Borrowed(raw))));
        fields
    }

    /// What the response phase needs, read back from the fields `get` returns; `None` when
    /// the request was not routed (no server or gateway session). `addressed` is not read.
    pub fn from_fields<'a>(get: impl Fn(&str) -> Option<FieldValue<'a>>) -> Option<Self> {
        let string = |key| match get(key)? {
            FieldValue::Str(s) => Some(s.into_owned()),
            FieldValue::Number(_) => None,
        };
        let request_id = string(REQUEST_ID_JSON_KEY)
            .filter(|id| id != "null")
            .or_else(|| match get(REQUEST_ID)? {
                FieldValue::Str(s) => Some(serde_json::Value::String(s.into_owned()).to_string()),
                FieldValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                    Some(format!("{}", n as i64))
                }
                FieldValue::Number(n) => Some(n.to_string()),
            });
        Some(Self {
            server: string(SERVER)?,
            // Empty for a 2026-07-28 request forwarded as one (no session).
            gateway_session: string(GATEWAY_SESSION).unwrap_or_default(),
            method: string(METHOD).map_or(Cow::Borrowed(""), Cow::Owned),
            addressed: None,
            rewrite: string(REWRITE).as_deref().and_then(Rewrite::parse),
            request_id,
            log_floor: match get(LOG_FLOOR) {
                Some(FieldValue::Number(n)) if (0.0..=255.0).contains(&n) => Some(n as u8),
                _ => None,
            },
        })
    }
}

/// The key naming what a request addresses.
fn addressed_key(addressed: Addressed) -> &'static str {
    match addressed {
        Addressed::Tool => mcp_gateway_protocol::handoff::TOOL_KEY,
        Addressed::Prompt => mcp_gateway_protocol::handoff::PROMPT_KEY,
        Addressed::Resource => "resource",
        Addressed::Task => "task",
        Addressed::Response => REQUEST_ID,
    }
}

/// A JSON-RPC id (raw JSON text) as a metadata value: numbers stay numbers.
fn typed_id(raw: &str) -> Option<FieldValue<'static>> {
    match serde_json::from_str::<serde_json::Value>(raw).ok()? {
        serde_json::Value::Number(n) => Some(FieldValue::Number(n.as_f64()?)),
        serde_json::Value::String(s) => Some(FieldValue::Str(Cow::Owned(s))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(request_id: Option<&str>) -> RouteMetadata {
        RouteMetadata {
            method: Cow::Borrowed("tools/call"),
            server: "calc".into(),
            addressed: Some((Addressed::Tool, "add".into())),
            gateway_session: "gw".into(),
            rewrite: Some(Rewrite::Task),
            request_id: request_id.map(str::to_owned),
            log_floor: None,
        }
    }

    fn read_back(meta: &RouteMetadata) -> Option<RouteMetadata> {
        let fields = meta.to_fields();
        RouteMetadata::from_fields(|key| {
            fields
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn what_is_written_is_read_back() {
        for id in [
            Some("7"),
            Some(r#""a\"b""#),
            Some("12345678901234567890"),
            None,
        ] {
            let meta = routed(id);
            let back = read_back(&meta).expect("routed");
            assert_eq!(back.server, "calc");
            assert_eq!(back.gateway_session, "gw");
            assert_eq!(back.method, "tools/call");
            assert_eq!(back.rewrite, Some(Rewrite::Task));
            assert_eq!(back.request_id.as_deref(), id, "the exact id");
        }
    }

    #[test]
    fn ids_are_typed_and_raw() {
        let meta = routed(Some("42"));
        let fields = meta.to_fields();
        assert!(fields.contains(&(REQUEST_ID, FieldValue::Number(42.0))));
        assert!(fields.contains(&(REQUEST_ID_JSON_KEY, FieldValue::Str("42".into()))));
        assert!(fields.contains(&("tool", FieldValue::Str("add".into()))));
        let unnumbered = routed(None);
        let none = unnumbered.to_fields();
        assert!(none.contains(&(REQUEST_ID_JSON_KEY, FieldValue::Str("null".into()))));
        assert!(!none.iter().any(|(k, _)| *k == REQUEST_ID));
    }

    #[test]
    fn every_rewrite_is_read_back() {
        for rewrite in [
            Rewrite::Task,
            Rewrite::Read,
            Rewrite::Stamp,
            Rewrite::StampRead,
            Rewrite::StampCache,
        ] {
            let meta = RouteMetadata {
                rewrite: Some(rewrite),
                ..routed(None)
            };
            assert_eq!(read_back(&meta).expect("routed").rewrite, Some(rewrite));
        }
    }

    #[test]
    fn a_log_floor_is_read_back() {
        for floor in [None, Some(0), Some(3), Some(8)] {
            let meta = RouteMetadata {
                log_floor: floor,
                ..routed(None)
            };
            assert_eq!(read_back(&meta).expect("routed").log_floor, floor);
        }
    }

    #[test]
    fn a_request_without_a_session_is_read_back_too() {
        // A 2026-07-28 request forwarded as one: no gateway session, yet its read is rewritten.
        let meta = RouteMetadata {
            gateway_session: String::new(),
            rewrite: Some(Rewrite::Read),
            ..routed(None)
        };
        let back = read_back(&meta).expect("routed");
        assert_eq!(back.gateway_session, "");
        assert_eq!(back.rewrite, Some(Rewrite::Read));
    }

    #[test]
    fn an_unrouted_request_has_no_metadata_to_read() {
        assert_eq!(RouteMetadata::from_fields(|_| None), None);
    }
}
