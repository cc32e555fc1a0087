//! [`Message`]: one JSON-RPC message parsed once into views borrowing from the body.

use crate::envelope::Envelope;
use crate::error::ProtocolError;
use crate::scan::{self, Limits, ScanError};
use crate::{json_str, params};
use serde::de::IgnoredAny;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

/// What a JSON-RPC message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Has `method` and `id`: the sender expects a response.
    Request,
    /// Has `method` and no `id`.
    Notification,
    /// Has `result` or `error`, and no `method`.
    Response,
}

/// One parsed JSON-RPC message borrowing from the body.
///
/// Built by [`Message::parse`], which reads the body once; all accessors are
/// views into the body and allocate nothing (except a decoded `method` or
/// parameter string that contains escapes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    body: &'a str,
    kind: Kind,
    id: Option<&'a str>,
    method: Option<Cow<'a, str>>,
    params: Option<&'a str>,
    params_index: Option<params::Index<'a>>,
    result: Option<&'a str>,
    error: Option<&'a str>,
}

/// A string found inside a message: its decoded value and the byte range in
/// the body of the whole JSON string token, quotes included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrField<'a> {
    /// The decoded string (borrowed from the body when it has no escapes).
    pub value: Cow<'a, str>,
    /// The byte range of the string token in the body, quotes included.
    pub range: Range<usize>,
}

impl<'a> Message<'a> {
    /// Parses and validates one JSON-RPC 2.0 message with the default
    /// [`Limits`]; see [`Message::parse_with`].
    pub fn parse(body: &'a [u8]) -> Result<Self, ProtocolError> {
        Self::parse_with(body, Limits::default())
    }

    /// Parses and validates one JSON-RPC 2.0 message in one pass.
    ///
    /// Fails with [`ProtocolError::NotJson`] when the body is not UTF-8 or not
    /// exactly one JSON value, and with [`ProtocolError::InvalidRequest`] when
    /// it breaks a JSON-RPC shape rule: not an object (an array is a batch,
    /// which MCP no longer allows), `jsonrpc` not `"2.0"`, `method` not a
    /// string, a request `id` that is not a string or an integer of at most
    /// 64 bits, neither `method` nor `result`/`error`, or a response without
    /// `id` or with both `result` and `error`.
    ///
    /// Valid JSON that backends would read differently from the gateway, or
    /// choke on, is refused with [`ProtocolError::InvalidRequest`] too: a key
    /// repeated in its object at any depth (parsers disagree on which copy
    /// wins, so the gateway could route on one value while the backend acts
    /// on the other), nesting deeper than `limits.max_depth`, a lone UTF-16
    /// surrogate escape, a number beyond the range of a 64-bit float.
    /// Everything else (unknown members, big integers inside `params`,
    /// escapes) is kept byte-identical.
    pub fn parse_with(body: &'a [u8], limits: Limits) -> Result<Self, ProtocolError> {
        let body = std::str::from_utf8(body).map_err(|e| {
            ProtocolError::NotJson(format!(
                "body is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ))
        })?;
        let first = body
            .trim_start_matches(json_str::WHITESPACE)
            .as_bytes()
            .first();
        if first != Some(&b'{') {
            return Err(not_an_object(body, first, limits));
        }
        let envelope = Envelope::read(body, limits).map_err(|e| scan_error(body, e))?;
        Self::from_envelope(body, envelope)
    }

    fn from_envelope(body: &'a str, envelope: Envelope<'a>) -> Result<Self, ProtocolError> {
        check_jsonrpc(envelope.jsonrpc)?;
        let method = envelope.method.map(decode_method).transpose()?;
        let kind = match (&method, envelope.result, envelope.error) {
            (Some(_), None, None) => {
                if let Some(id) = envelope.id {
                    check_request_id(id)?;
                    Kind::Request
                } else {
                    Kind::Notification
                }
            }
            (Some(_), _, _) => {
                return Err(invalid(
                    "a message cannot have both `method` and `result`/`error`".into(),
                ));
            }
            (None, Some(_), Some(_)) => {
                return Err(invalid(
                    "a response must have exactly one of `result` and `error`, not both".into(),
                ));
            }
            (None, None, None) => {
                return Err(invalid(
                    "a message needs `method` (request or notification) or `result`/`error` (response)"
                        .into(),
                ));
            }
            (None, result, _) => {
                check_response_id(envelope.id, result.is_some())?;
                Kind::Response
            }
        };
        Ok(Self {
            body,
            kind,
            id: envelope.id,
            method,
            params: envelope.params,
            params_index: envelope.params_index,
            result: envelope.result,
            error: envelope.error,
        })
    }

    /// Whether this is a request, a notification or a response.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The decoded method name of a request or notification.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// The id's JSON text exactly as sent, e.g. `7` or `"abc"` (`null` is
    /// possible only on an error response).
    pub fn id_raw(&self) -> Option<&'a str> {
        self.id
    }

    /// The byte range of the id token in the body, for rewriting it with
    /// [`splice_raw`](crate::splice_raw).
    pub fn id_range(&self) -> Option<Range<usize>> {
        json_str::range_in(self.body, self.id?)
    }

    /// The `params` JSON text exactly as sent.
    pub fn params_raw(&self) -> Option<&'a str> {
        self.params
    }

    /// The `result` JSON text of a success response.
    pub fn result_raw(&self) -> Option<&'a str> {
        self.result
    }

    /// The `error` JSON text of an error response.
    pub fn error_raw(&self) -> Option<&'a str> {
        self.error
    }

    /// The whole body this message was parsed from.
    pub fn body(&self) -> &'a str {
        self.body
    }

    /// A string inside `params` at a key path (`&["name"]` for `tools/call`,
    /// `&["uri"]` for `resources/read`, `&["ref", "name"]` for
    /// `completion/complete`), or `None` when it is missing, not a string,
    /// ambiguous or undecodable. [`Message::try_param_str`] says which.
    pub fn param_str(&self, path: &[&str]) -> Option<StrField<'a>> {
        self.try_param_str(path).ok()
    }

    /// The raw JSON text of the member of `params` at a key path, whatever its type, or
    /// `None` when it is missing or ambiguous (e.g. `&["task"]` of a task-augmented call).
    pub fn param_raw(&self, path: &[&str]) -> Option<&'a str> {
        params::find(self.params?, self.params_index.as_ref(), path).ok()
    }

    /// Like [`Message::param_str`], with a [`ProtocolError::InvalidParams`]
    /// that names the offending member. A key on the path that appears twice
    /// in its object is an error, for the same reason as in [`Message::parse`].
    /// Keys are compared after decoding escapes, as a backend would.
    pub fn try_param_str(&self, path: &[&str]) -> Result<StrField<'a>, ProtocolError> {
        let params = self
            .params
            .ok_or_else(|| ProtocolError::InvalidParams("`params` is missing".into()))?;
        let token = params::find(params, self.params_index.as_ref(), path)?;
        let value = json_str::decode(token).ok_or_else(|| {
            let path = params::dotted(path);
            ProtocolError::InvalidParams(if token.starts_with('"') {
                format!("`{path}` is not a valid Unicode string")
            } else {
                format!(
                    "`{path}` must be a string, got {}",
                    json_str::type_name(token)
                )
            })
        })?;
        let range = json_str::range_in(self.body, token).ok_or_else(|| {
            ProtocolError::InvalidParams("parameter lies outside the body".into())
        })?;
        Ok(StrField { value, range })
    }
}

fn invalid(message: String) -> ProtocolError {
    ProtocolError::InvalidRequest(message)
}

/// The error for a body the scan did not pass: serde_json says where a
/// syntax error is (it runs only on this error path).
fn scan_error(body: &str, error: ScanError) -> ProtocolError {
    match error {
        ScanError::Refused(reason) => invalid(reason),
        ScanError::Syntax => {
            // Read as an object when it is one, for serde_json's object messages.
            let read = if body
                .trim_start_matches(json_str::WHITESPACE)
                .starts_with('{')
            {
                serde_json::from_str::<HashMap<String, IgnoredAny>>(body).map(drop)
            } else {
                serde_json::from_str::<IgnoredAny>(body).map(drop)
            };
            ProtocolError::NotJson(match read {
                Err(e) => e.to_string(),
                Ok(()) => "not a JSON value".to_owned(),
            })
        }
    }
}

/// The error for a body that does not start with `{`: a parse error when it is
/// not JSON at all, otherwise a message saying what it is.
fn not_an_object(body: &str, first: Option<&u8>, limits: Limits) -> ProtocolError {
    if let Err(e) = scan::scan(body, limits, &mut scan::Ignore) {
        return scan_error(body, e);
    }
    if first == Some(&b'[') {
        return invalid("JSON-RPC batches are not supported (removed in MCP 2025-06-18)".into());
    }
    let trimmed = body.trim_matches(json_str::WHITESPACE);
    invalid(format!(
        "a JSON-RPC message must be a JSON object, got {}",
        json_str::type_name(trimmed)
    ))
}

fn check_jsonrpc(raw: Option<&str>) -> Result<(), ProtocolError> {
    let raw = raw.ok_or_else(|| invalid("missing `jsonrpc` member; it must be \"2.0\"".into()))?;
    if raw == "\"2.0\"" || json_str::decode(raw).as_deref() == Some("2.0") {
        return Ok(());
    }
    Err(invalid(format!("`jsonrpc` must be \"2.0\", got {raw}")))
}

fn decode_method(raw: &str) -> Result<Cow<'_, str>, ProtocolError> {
    if !raw.starts_with('"') {
        let got = json_str::type_name(raw);
        return Err(invalid(format!("`method` must be a string, got {got}")));
    }
    json_str::decode(raw).ok_or_else(|| invalid("`method` is not a valid Unicode string".into()))
}

fn check_request_id(raw: &str) -> Result<(), ProtocolError> {
    if raw.starts_with('"') {
        return Ok(());
    }
    if json_str::is_integer(raw) {
        // Typical backends hold ids in 64-bit integers and fail on larger ones.
        if raw.parse::<i64>().is_ok() || raw.parse::<u64>().is_ok() {
            return Ok(());
        }
        return Err(invalid(format!(
            "`id` {} does not fit in 64 bits; use a smaller integer or a string",
            if raw.len() > 40 { "(an integer)" } else { raw }
        )));
    }
    let got = json_str::type_name(raw);
    Err(invalid(format!(
        "`id` must be a string or an integer, got {got}"
    )))
}

/// A response echoes its request's id; `null` is allowed on an error response
/// (JSON-RPC's answer to a request whose id could not be read).
fn check_response_id(raw: Option<&str>, is_result: bool) -> Result<(), ProtocolError> {
    match raw {
        None => Err(invalid("a response must have an `id`".into())),
        Some("null") if !is_result => Ok(()),
        Some(raw) => check_request_id(raw),
    }
}

#[cfg(test)]
mod tests;
