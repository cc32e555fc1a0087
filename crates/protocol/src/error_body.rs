//! JSON-RPC error response bodies.

use crate::json_str;
use serde_json::value::RawValue;

/// A complete JSON-RPC error response body:
/// `{"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>(,"data":<data>)}}`.
///
/// `id_raw` is the request id's JSON text as sent (see
/// [`Message::id_raw`](crate::Message::id_raw)) and is copied verbatim, so a
/// client gets back exactly the id it used. `None`, or text that is not a
/// JSON string, number or `null`, becomes `null`.
pub fn error_body(
    id_raw: Option<&str>,
    code: i64,
    message: &str,
    data: Option<&serde_json::Value>,
) -> Vec<u8> {
    let id = id_raw.and_then(id_token).unwrap_or("null");
    let data = data.and_then(|value| serde_json::to_vec(value).ok());
    let mut out =
        Vec::with_capacity(64 + id.len() + message.len() + data.as_ref().map_or(0, Vec::len));
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(br#","error":{"code":"#);
    out.extend_from_slice(code.to_string().as_bytes());
    out.extend_from_slice(br#","message":"#);
    json_str::encode_into(&mut out, message);
    if let Some(data) = data {
        out.extend_from_slice(br#","data":"#);
        out.extend_from_slice(&data);
    }
    out.extend_from_slice(b"}}");
    out
}

/// The id token in `raw` (surrounding whitespace dropped) when it is one JSON
/// string, number or `null`.
fn id_token(raw: &str) -> Option<&str> {
    let token = serde_json::from_str::<&RawValue>(raw).ok()?.get();
    match token.as_bytes().first()? {
        b'"' | b'-' | b'0'..=b'9' | b'n' => Some(token),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parsed(body: &[u8]) -> Value {
        serde_json::from_slice(body).expect("error body is JSON")
    }

    #[test]
    fn echoes_the_id_text_exactly() {
        let body = error_body(Some("12345678901234567890123"), -32601, "no", None);
        let text = String::from_utf8(body).expect("UTF-8");
        assert_eq!(
            text,
            r#"{"jsonrpc":"2.0","id":12345678901234567890123,"error":{"code":-32601,"message":"no"}}"#
        );
        let body = error_body(Some(r#""a\u0062""#), -32600, "x", None);
        assert!(body.starts_with(br#"{"jsonrpc":"2.0","id":"a\u0062","#));
    }

    #[test]
    fn missing_or_bad_ids_become_null() {
        for id in [
            None,
            Some(""),
            Some("{}"),
            Some("[1]"),
            Some("true"),
            Some("1 2"),
            Some("\"open"),
        ] {
            let value = parsed(&error_body(id, -32700, "bad", None));
            assert_eq!(value["id"], Value::Null, "id {id:?}");
        }
        let value = parsed(&error_body(Some(" 7 "), -32700, "bad", None));
        assert_eq!(value["id"], json!(7));
    }

    #[test]
    fn message_and_data_are_encoded() {
        let data = json!({"detail": "line\n\"two\"", "n": [1, 2]});
        let value = parsed(&error_body(
            Some("\"r\""),
            -32602,
            "bad \"name\"\u{1}",
            Some(&data),
        ));
        assert_eq!(
            value,
            json!({"jsonrpc": "2.0", "id": "r", "error": {"code": -32602, "message": "bad \"name\"\u{1}", "data": data}})
        );
    }
}
