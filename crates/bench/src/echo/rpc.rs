//! The JSON-RPC side of the echo backend: parsing one message and writing responses.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// JSON-RPC error codes the echo backend answers with.
pub(crate) mod codes {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
}

/// Protocol versions the echo backend speaks; the first is its choice for unknown requests.
const VERSIONS: [&str; 3] = ["2025-06-18", "2025-03-26", "2025-11-25"];

/// One incoming JSON-RPC message, borrowing from the body.
#[derive(Debug, Deserialize)]
pub(crate) struct Incoming<'a> {
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct InitializeParams<'a> {
    #[serde(rename = "protocolVersion", borrow)]
    protocol_version: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CallParams<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
struct ListParams<'a> {
    #[serde(borrow, default)]
    cursor: Option<Cow<'a, str>>,
}

/// The raw id to answer with (`null` when absent).
pub(crate) fn id_text<'a>(msg: &Incoming<'a>) -> &'a str {
    msg.id.map_or("null", RawValue::get)
}

/// A success response around an already-serialised result.
pub(crate) fn result(id: &str, result: &str) -> String {
    let mut out = String::with_capacity(result.len() + id.len() + 36);
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    out.push_str(id);
    out.push_str(r#","result":"#);
    out.push_str(result);
    out.push('}');
    out
}

/// An error response.
pub(crate) fn error(id: &str, code: i64, message: &str) -> String {
    let message = serde_json::to_string(message).unwrap_or_else(|_| "\"error\"".to_owned());
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#)
}

/// The `initialize` result, negotiating the requested version when it is one we speak.
pub(crate) fn initialize_result(params: Option<&RawValue>) -> String {
    let requested = params
        .and_then(|raw| serde_json::from_str::<InitializeParams<'_>>(raw.get()).ok())
        .and_then(|p| p.protocol_version.map(Cow::into_owned));
    let version = requested
        .as_deref()
        .and_then(|v| VERSIONS.iter().find(|known| **known == v))
        .unwrap_or(&VERSIONS[0]);
    format!(
        r#"{{"protocolVersion":"{version}","capabilities":{{"tools":{{"listChanged":true}}}},"serverInfo":{{"name":"mcp-echo-server","version":"{}"}}}}"#,
        env!("CARGO_PKG_VERSION")
    )
}

/// The `tools/call` result of the echo tool: the arguments, as text.
pub(crate) fn echo_result(arguments: Option<&RawValue>) -> String {
    let text = arguments.map_or("{}", RawValue::get);
    let text = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned());
    format!(r#"{{"content":[{{"type":"text","text":{text}}}],"isError":false}}"#)
}

/// The `cursor` of a `tools/list`, `Err` when the params are malformed.
pub(crate) fn list_cursor(params: Option<&RawValue>) -> Result<Option<String>, ()> {
    match params {
        None => Ok(None),
        Some(raw) => serde_json::from_str::<ListParams<'_>>(raw.get())
            .map(|p| p.cursor.map(Cow::into_owned))
            .map_err(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn echo_returns_arguments_as_text() {
        let args = RawValue::from_string(r#"{"text":"hi \"there\""}"#.to_owned()).expect("raw");
        let out = parse(&result("7", &echo_result(Some(&args))));
        assert_eq!(out["id"], 7);
        assert_eq!(
            out["result"]["content"][0]["text"],
            r#"{"text":"hi \"there\""}"#
        );
    }

    #[test]
    fn initialize_negotiates_known_versions_only() {
        let known =
            RawValue::from_string(r#"{"protocolVersion":"2025-03-26"}"#.to_owned()).expect("raw");
        assert_eq!(
            parse(&initialize_result(Some(&known)))["protocolVersion"],
            "2025-03-26"
        );
        let unknown =
            RawValue::from_string(r#"{"protocolVersion":"1999-01-01"}"#.to_owned()).expect("raw");
        assert_eq!(
            parse(&initialize_result(Some(&unknown)))["protocolVersion"],
            "2025-06-18"
        );
    }

    #[test]
    fn errors_escape_messages() {
        let out = parse(&error("\"a\"", codes::INVALID_PARAMS, "bad \"tool\""));
        assert_eq!(out["id"], "a");
        assert_eq!(out["error"]["code"], -32602);
        assert_eq!(out["error"]["message"], "bad \"tool\"");
    }

    #[test]
    fn list_cursor_reads_params() {
        let raw = RawValue::from_string(r#"{"cursor":"3"}"#.to_owned()).expect("raw");
        assert_eq!(list_cursor(Some(&raw)), Ok(Some("3".to_owned())));
        assert_eq!(list_cursor(None), Ok(None));
        let bad = RawValue::from_string("[1]".to_owned()).expect("raw");
        assert!(list_cursor(Some(&bad)).is_err());
    }
}
