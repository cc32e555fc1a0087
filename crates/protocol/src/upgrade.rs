//! A 2025-era client's request made into an MCP 2026-07-28 one for a backend that speaks only
//! that revision: the envelope (protocol version, the client's capabilities and info from its
//! gateway session) goes into `params._meta`, and a repeated multi-round-trip request carries
//! `inputResponses` and `requestState`. Every edit is a splice: the other bytes of the body,
//! its key order and its numbers stay as the client sent them.

use std::ops::Range;

use crate::modern::{CAPABILITIES_META, CLIENT_INFO_META, Members, VERSION_META, input};
use crate::{Message, json_str, splice};

/// One edit of a body: the bytes at the range become the text.
pub type Edit = (Range<usize>, String);

/// The edit that gives `msg` the 2026-07-28 envelope: `version`, `capabilities` (a JSON
/// object's text) and, when known, `client_info` (JSON text) as the first members of
/// `params._meta`. Envelope members the client sent itself are replaced; other `_meta`
/// members (e.g. `progressToken`) follow in their order. `None` when `params` or `_meta` is
/// there but not an object.
pub fn envelope(
    msg: &Message<'_>,
    version: &str,
    capabilities: &str,
    client_info: Option<&str>,
) -> Option<Edit> {
    let mut members = Vec::with_capacity(64 + capabilities.len());
    json_str::encode_into(&mut members, VERSION_META);
    members.push(b':');
    json_str::encode_into(&mut members, version);
    members.push(b',');
    json_str::encode_into(&mut members, CAPABILITIES_META);
    members.push(b':');
    members.extend_from_slice(capabilities.as_bytes());
    if let Some(info) = client_info {
        members.push(b',');
        json_str::encode_into(&mut members, CLIENT_INFO_META);
        members.push(b':');
        members.extend_from_slice(info.as_bytes());
    }
    match msg.param_raw(&["_meta"]) {
        Some(meta) => {
            let kept = members_except(meta, &[VERSION_META, CAPABILITIES_META, CLIENT_INFO_META])?;
            let mut text = Vec::with_capacity(members.len() + kept.len() + 3);
            text.push(b'{');
            text.extend_from_slice(&members);
            if !kept.is_empty() {
                text.push(b',');
                text.extend_from_slice(&kept);
            }
            text.push(b'}');
            let range = json_str::range_in(msg.body(), meta)?;
            Some((range, String::from_utf8(text).ok()?))
        }
        None => {
            let mut meta = Vec::with_capacity(members.len() + 12);
            json_str::encode_into(&mut meta, "_meta");
            meta.extend_from_slice(b":{");
            meta.extend_from_slice(&members);
            meta.push(b'}');
            first_in_params(msg, &String::from_utf8(meta).ok()?)
        }
    }
}

/// The edits that make `msg` the repeat of a multi-round-trip request: `inputResponses` (a
/// JSON object's text, the client's answers by key) and `requestState` (JSON text of the
/// backend's string), each when given, each replacing the member if the body has it, else added
/// first in `params`. `None` when `params` is there but not an object.
pub fn retry(
    msg: &Message<'_>,
    input_responses: Option<&str>,
    request_state: Option<&str>,
) -> Option<Vec<Edit>> {
    let mut edits = Vec::with_capacity(2);
    let mut added = String::new();
    for (key, value) in [
        (input::INPUT_RESPONSES, input_responses),
        (input::REQUEST_STATE, request_state),
    ] {
        let Some(value) = value else { continue };
        match msg.param_raw(&[key]) {
            Some(present) => {
                edits.push((json_str::range_in(msg.body(), present)?, value.to_owned()));
            }
            None => {
                if !added.is_empty() {
                    added.push(',');
                }
                added.push('"');
                added.push_str(key);
                added.push_str("\":");
                added.push_str(value);
            }
        }
    }
    if !added.is_empty() {
        edits.push(first_in_params(msg, &added)?);
    }
    Some(edits)
}

/// The edit that puts the JSON string `value` in place of the token at `range` (as
/// [`crate::splice_str`] does).
pub fn string(range: Range<usize>, value: &str) -> Edit {
    let mut text = Vec::with_capacity(value.len() + 2);
    json_str::encode_into(&mut text, value);
    (range, String::from_utf8(text).unwrap_or_default())
}

/// `body` with `edits` applied in one copy (see [`splice`]); edits must not overlap.
pub fn apply(body: &str, edits: &mut [Edit]) -> String {
    splice::splice_many(body, edits)
}

/// The edit that puts `members` (JSON object members' text, without braces) first in
/// `params`, creating `params` when the request has none.
fn first_in_params(msg: &Message<'_>, members: &str) -> Option<Edit> {
    let body = msg.body();
    match msg.params_raw() {
        Some(params) => {
            if !params.starts_with('{') {
                return None;
            }
            let start = json_str::range_in(body, params)?.start + 1;
            let empty = params[1..]
                .trim_start_matches(json_str::WHITESPACE)
                .starts_with('}');
            let text = if empty {
                members.to_owned()
            } else {
                format!("{members},")
            };
            Some((start..start, text))
        }
        None => {
            // The top-level object has at least `jsonrpc` and `method`.
            let start = body.find('{')? + 1;
            Some((start..start, format!("\"params\":{{{members}}},")))
        }
    }
}

/// The members of the object `raw` without those named in `skip`, as text (no braces), each
/// value as sent. `None` when `raw` is not an object.
fn members_except(raw: &str, skip: &[&str]) -> Option<Vec<u8>> {
    let members: Members<'_> = serde_json::from_str(raw).ok()?;
    let mut out = Vec::with_capacity(raw.len());
    for (key, value) in members
        .0
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
    {
        if !out.is_empty() {
            out.push(b',');
        }
        json_str::encode_into(&mut out, key);
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: &str = r#"{"sampling":{},"elicitation":{"form":{}}}"#;

    fn enveloped(body: &str, info: Option<&str>) -> Option<String> {
        let msg = Message::parse(body.as_bytes()).expect(body);
        let edit = envelope(&msg, "2026-07-28", CAPS, info)?;
        Some(apply(body, &mut [edit]))
    }

    #[test]
    fn envelope_goes_first_in_meta_and_keeps_every_other_byte() {
        let body = r#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"add","arguments":{"z":1.50,"a":18446744073709551617},"_meta":{"progressToken":"p"}}}"#;
        let out = enveloped(body, Some(r#"{"name":"rmcp","version":"1"}"#)).expect("edited");
        assert_eq!(
            out,
            r#"{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"add","arguments":{"z":1.50,"a":18446744073709551617},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{},"elicitation":{"form":{}}},"io.modelcontextprotocol/clientInfo":{"name":"rmcp","version":"1"},"progressToken":"p"}}}"#
        );
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
    }

    #[test]
    fn envelope_creates_meta_and_params_when_missing() {
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{},"elicitation":{"form":{}}}}}}"#,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                r#"{"params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{},"elicitation":{"form":{}}}}},"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            ),
            (
                r#" {"id":2,"method":"prompts/get","params":{ "name":"p" },"jsonrpc":"2.0"}"#,
                r#" {"id":2,"method":"prompts/get","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"sampling":{},"elicitation":{"form":{}}}}, "name":"p" },"jsonrpc":"2.0"}"#,
            ),
        ];
        for (body, want) in cases {
            let out = enveloped(body, None).expect(body);
            assert_eq!(out, want);
            serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
        }
    }

    #[test]
    fn a_clients_own_envelope_members_are_replaced() {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2025-01-01","x":[1]}}}"#;
        let out = enveloped(body, None).expect("edited");
        assert_eq!(out.matches("protocolVersion").count(), 1, "{out}");
        assert!(out.ends_with(r#"{"form":{}}},"x":[1]}}}"#), "{out}");
    }

    #[test]
    fn params_that_are_not_an_object_are_refused() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"_meta":[]}}"#,
        ] {
            assert_eq!(enveloped(body, None), None, "{body}");
        }
    }

    #[test]
    fn retry_adds_or_replaces_the_answers_and_state() {
        let body = r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"t","arguments":{}}}"#;
        let msg = Message::parse(body.as_bytes()).expect("parse");
        let mut edits =
            retry(&msg, Some(r#"{"k":{"action":"accept"}}"#), Some(r#""s1""#)).expect("edits");
        let out = apply(body, &mut edits);
        assert_eq!(
            out,
            r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"inputResponses":{"k":{"action":"accept"}},"requestState":"s1","name":"t","arguments":{}}}"#
        );
        let again = Message::parse(out.as_bytes()).expect("parse");
        let mut edits = retry(&again, Some(r#"{"j":{}}"#), None).expect("edits");
        let out = apply(&out, &mut edits);
        assert!(
            out.contains(r#""inputResponses":{"j":{}},"requestState":"s1""#),
            "{out}"
        );
    }
}
