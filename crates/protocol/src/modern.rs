//! MCP 2026-07-28 requests: no session, every request carries its protocol version and the
//! client's capabilities in `params._meta`, and mirrors its method (and name or URI) in the
//! `Mcp-Method` / `Mcp-Name` headers, which must agree with the body.
//!
//! [`check`] is the one place the router and the broker tell a 2026-07-28 request from a
//! 2025-era one and refuse a malformed one, in the order the spec's servers answer:
//!
//! | what | answer |
//! | --- | --- |
//! | `_meta` claims a version, but not as a string | 400, -32602 |
//! | `MCP-Protocol-Version` names another version than the claimed one | 400, -32020 (`HeaderMismatch`) |
//! | the claimed version is not one the gateway speaks | 400, -32022 with `supported` |
//! | no `clientCapabilities` object | 400, -32602 |
//! | `MCP-Protocol-Version` missing | 400, -32020 |
//! | `Mcp-Method` missing or not the body's method | 400, -32020 |
//! | `Mcp-Name` missing, badly encoded or not the body's `params.name` / `params.uri` | 400, -32020 |
//! | no claim, but `MCP-Protocol-Version` names 2026-07-28 | 400, -32602 |
//! | a method 2026-07-28 no longer has ([`REMOVED_METHODS`]) | 404, -32601 |
//!
//! A request with no claim and an older (or no) version header is a 2025-era request: `None`.

use std::borrow::Cow;
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::TransportError;
use crate::{Message, json_str, versions};

/// `_meta` key: the protocol version governing the request.
pub const VERSION_META: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities, declared per request.
pub const CAPABILITIES_META: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the client's name and version (optional).
pub const CLIENT_INFO_META: &str = "io.modelcontextprotocol/clientInfo";
/// Result `_meta` key: the server's name and version.
pub const SERVER_INFO_META: &str = "io.modelcontextprotocol/serverInfo";
/// The header mirroring the body's `method`.
pub const METHOD_HEADER: &str = "mcp-method";
/// The header mirroring `params.name` (`tools/call`, `prompts/get`) or `params.uri`
/// (`resources/read`).
pub const NAME_HEADER: &str = "mcp-name";

/// `_meta` key: the lowest level of log messages the client wants for this request (none
/// when absent).
pub const LOG_LEVEL_META: &str = "io.modelcontextprotocol/logLevel";

/// Log levels in order of severity (RFC 5424, as MCP names them).
pub const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// The rank of a log level (0 = `debug`), `None` for a name MCP does not define.
pub fn log_rank(level: &str) -> Option<u8> {
    LOG_LEVELS
        .iter()
        .position(|l| *l == level)
        .and_then(|i| u8::try_from(i).ok())
}

/// The lowest rank of log messages a 2026-07-28 request wants (its `_meta` log level):
/// `LOG_LEVELS.len()` (none) when it names none, or a name MCP does not define.
pub fn log_floor(msg: &Message<'_>) -> u8 {
    msg.param_str(&["_meta", LOG_LEVEL_META])
        .and_then(|level| log_rank(&level.value))
        .unwrap_or(LOG_LEVELS.len() as u8)
}

/// Methods of the 2025 revisions that 2026-07-28 removed: liveness is the transport's,
/// subscriptions ride `subscriptions/listen`, and the log level is set per request in
/// `_meta`. A 2026-07-28 request of one gets the spec's answer to an unknown method (HTTP
/// 404, -32601), whoever would have served it.
pub const REMOVED_METHODS: &[&str] = &[
    "ping",
    "resources/subscribe",
    "resources/unsubscribe",
    "logging/setLevel",
];

const SENTINEL_PREFIX: &str = "=?base64?";
const SENTINEL_SUFFIX: &str = "?=";

/// What a 2026-07-28 request's `_meta` says about its client, borrowed from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The protocol version (always one of [`versions::MODERN`]).
    pub version: &'static str,
    /// `clientCapabilities` as sent (a JSON object).
    pub capabilities: &'a str,
    /// `clientInfo` as sent, when sent.
    pub client_info: Option<&'a str>,
}

/// The request headers [`check`] compares with the body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mirrored<'a> {
    /// `MCP-Protocol-Version`.
    pub version: Option<&'a str>,
    /// `Mcp-Method`.
    pub method: Option<&'a str>,
    /// `Mcp-Name`, as sent (possibly Base64-encoded).
    pub name: Option<&'a str>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow)]
    version: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow)]
    capabilities: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow)]
    client_info: Option<&'a RawValue>,
}

/// The 2026-07-28 envelope of a request, checked against its headers; `None` for a
/// 2025-era request (no version claim in `_meta`, and no 2026-07-28 version header).
pub fn check<'a>(
    msg: &Message<'a>,
    headers: Mirrored<'_>,
) -> Result<Option<Envelope<'a>>, TransportError> {
    let header_modern = headers.version.is_some_and(versions::is_modern);
    let meta = msg.param_raw(&["_meta"]);
    let meta: Option<Meta<'a>> = match meta {
        Some(raw) => serde_json::from_str(raw).ok(),
        None => None,
    };
    let Some(claim) = meta.as_ref().and_then(|m| m.version) else {
        if header_modern {
            return Err(TransportError::MissingEnvelope(format!(
                "the MCP-Protocol-Version header names {}, but params._meta lacks {VERSION_META:?}",
                headers.version.unwrap_or_default()
            )));
        }
        return Ok(None);
    };
    let Some(claimed) = json_str::decode(claim.get()) else {
        return Err(TransportError::MissingEnvelope(format!(
            "params._meta {VERSION_META:?} must be a protocol version string"
        )));
    };
    // A header naming another version is a mismatch whether or not the gateway speaks the
    // claimed one (the spec's servers, and the conformance suite, answer -32020 first).
    if let Some(header) = headers.version
        && header != claimed
    {
        return Err(mismatch(format!(
            "the body names protocol version {claimed} but the MCP-Protocol-Version header names {header}"
        )));
    }
    let Some(version) = versions::MODERN.iter().copied().find(|v| *v == claimed) else {
        return Err(TransportError::UnsupportedVersion(claimed.into_owned()));
    };
    let capabilities = meta
        .as_ref()
        .and_then(|m| m.capabilities)
        .map(RawValue::get)
        .filter(|c| c.starts_with('{'))
        .ok_or_else(|| {
            TransportError::MissingEnvelope(format!(
                "params._meta {CAPABILITIES_META:?} (an object) is required"
            ))
        })?;
    agree(
        "protocol version",
        version,
        "MCP-Protocol-Version",
        headers.version,
    )?;
    let method = msg.method().unwrap_or_default();
    agree("method", method, "Mcp-Method", headers.method)?;
    if let Some(field) = name_source(method)
        && let Some(body) = msg.param_str(&[field])
    {
        let Some(header) = headers.name else {
            return Err(mismatch(format!(
                "the body carries params.{field} {:?} but the Mcp-Name header is missing",
                body.value
            )));
        };
        let Some(decoded) = decode_header_value(header) else {
            return Err(mismatch(
                "the Mcp-Name header carries an invalid Base64 value".to_owned(),
            ));
        };
        if decoded != body.value {
            return Err(mismatch(format!(
                "the body carries params.{field} {:?} but the Mcp-Name header names {decoded:?}",
                body.value
            )));
        }
    }
    if REMOVED_METHODS.contains(&method) {
        return Err(TransportError::RemovedMethod(method.to_owned()));
    }
    Ok(Some(Envelope {
        version,
        capabilities,
        client_info: meta.and_then(|m| m.client_info).map(RawValue::get),
    }))
}

/// The body member `Mcp-Name` mirrors for `method`, if any.
pub fn name_source(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// A header value as the spec encodes it: plain when it is visible ASCII (or inner spaces
/// and tabs) and does not look like the sentinel, else `=?base64?<UTF-8 in Base64>?=`.
pub fn encode_header_value(value: &str) -> Cow<'_, str> {
    let plain = !value.is_empty()
        && value.trim_matches([' ', '\t']) == value
        && value
            .bytes()
            .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b))
        && !(value.starts_with(SENTINEL_PREFIX) && value.ends_with(SENTINEL_SUFFIX));
    if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!(
            "{SENTINEL_PREFIX}{}{SENTINEL_SUFFIX}",
            STANDARD.encode(value)
        ))
    }
}

/// The value a header carries: decoded when in the Base64 sentinel form (`None` when that
/// is not valid Base64 of UTF-8), else as sent.
pub fn decode_header_value(value: &str) -> Option<Cow<'_, str>> {
    let value = value.trim_matches([' ', '\t']);
    let Some(inner) = value
        .strip_prefix(SENTINEL_PREFIX)
        .and_then(|v| v.strip_suffix(SENTINEL_SUFFIX))
    else {
        return Some(Cow::Borrowed(value));
    };
    let bytes = STANDARD.decode(inner).ok()?;
    String::from_utf8(bytes).ok().map(Cow::Owned)
}

/// Where `params._meta` is in the body, and its text without the 2026-07-28 envelope
/// (protocol version, client capabilities and info), for a 2025 backend that must not take
/// the request for a 2026-07-28 one; the other members (e.g. `progressToken`) keep their
/// order and values. `None` when there is no `_meta` object.
pub fn without_envelope(msg: &Message<'_>) -> Option<(Range<usize>, String)> {
    let meta = msg.param_raw(&["_meta"])?;
    let members: Members<'_> = serde_json::from_str(meta).ok()?;
    let mut out = Vec::with_capacity(meta.len());
    out.push(b'{');
    for (key, value) in members.0.iter().filter(|(key, _)| {
        ![VERSION_META, CAPABILITIES_META, CLIENT_INFO_META].contains(&key.as_str())
    }) {
        if out.len() > 1 {
            out.push(b',');
        }
        json_str::encode_into(&mut out, key);
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.push(b'}');
    let range = json_str::range_in(msg.body(), meta)?;
    Some((range, String::from_utf8(out).ok()?))
}

/// An object's members in order, values as sent.
pub(crate) struct Members<'a>(pub(crate) Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

fn mismatch(message: String) -> TransportError {
    TransportError::HeaderMismatch(message)
}

/// `Ok` when the header `name` is present and equals the body's `what`.
fn agree(what: &str, body: &str, name: &str, header: Option<&str>) -> Result<(), TransportError> {
    match header {
        Some(header) if header == body => Ok(()),
        Some(header) => Err(mismatch(format!(
            "the body names {what} {body} but the {name} header names {header}"
        ))),
        None => Err(mismatch(format!(
            "the body names {what} {body} but the {name} header is missing"
        ))),
    }
}

/// What a 2025-era backend's result needs before a 2026-07-28 client reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// `resultType: "complete"`.
    Complete,
    /// Also `ttlMs` and `cacheScope`, which cacheable results (lists, `resources/read`,
    /// `server/discover`) must carry.
    Cacheable,
}

/// How long a client may keep a cacheable result the gateway did not get a hint for: not at
/// all (the gateway cannot yet tell a client that a list changed).
pub const DEFAULT_TTL_MS: u64 = 0;
/// The cache scope of results the gateway stamps: its answers depend on the caller (policy
/// views, capability classes), so only the caller may keep them.
pub const DEFAULT_CACHE_SCOPE: &str = "private";

#[derive(Deserialize)]
struct Stamped<'a> {
    #[serde(rename = "resultType", borrow)]
    result_type: Option<&'a RawValue>,
    #[serde(rename = "ttlMs", borrow)]
    ttl_ms: Option<&'a RawValue>,
    #[serde(rename = "cacheScope", borrow)]
    cache_scope: Option<&'a RawValue>,
}

/// `data` (one JSON-RPC message) with the members `stamp` asks for added at the start of its
/// `result` object, when missing; every other byte stays as it was. `None` when nothing is
/// added (not a success response, or the members are there).
pub fn stamp_result(data: &str, stamp: Stamp) -> Option<String> {
    let msg = Message::parse(data.as_bytes()).ok()?;
    let result = msg.result_raw()?;
    if !result.starts_with('{') {
        return None;
    }
    let present: Stamped<'_> = serde_json::from_str(result).ok()?;
    let mut members = Vec::with_capacity(3);
    if present.result_type.is_none() {
        members.push(r#""resultType":"complete""#.to_owned());
    }
    if stamp == Stamp::Cacheable {
        if present.ttl_ms.is_none() {
            members.push(format!(r#""ttlMs":{DEFAULT_TTL_MS}"#));
        }
        if present.cache_scope.is_none() {
            members.push(format!(r#""cacheScope":"{DEFAULT_CACHE_SCOPE}""#));
        }
    }
    if members.is_empty() {
        return None;
    }
    let range = json_str::range_in(data, result)?;
    let after_brace = range.start + 1;
    let empty = result[1..]
        .trim_start_matches(json_str::WHITESPACE)
        .starts_with('}');
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str(data.get(..after_brace)?);
    out.push_str(&members.join(","));
    if !empty {
        out.push(',');
    }
    out.push_str(data.get(after_brace..)?);
    Some(out)
}

pub mod input;

#[cfg(test)]
mod tests;
