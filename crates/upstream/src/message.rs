//! JSON-RPC messages: encoding what we send, picking our response out of what
//! the backend sends.

use serde::Serialize;
use serde_json::Value;
use tracing::debug;

use crate::error::UpstreamError;

#[derive(Serialize)]
struct Outgoing<'a> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

/// Encodes a request (with `id`) or a notification (without).
pub(crate) fn encode(
    id: Option<u64>,
    method: &str,
    params: Option<&Value>,
) -> Result<Vec<u8>, UpstreamError> {
    serde_json::to_vec(&Outgoing {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
    .map_err(|e| UpstreamError::Protocol(format!("encoding {method} request: {e}")))
}

/// Looks for the response to request `id` in one received message (a single
/// message or a batch). Returns `None` when the message is something else: a
/// notification, a server-to-client request, or a response to another id.
pub(crate) fn response_for(message: Value, id: u64) -> Option<Result<Value, UpstreamError>> {
    match message {
        Value::Array(batch) => batch.into_iter().find_map(|m| response_for(m, id)),
        Value::Object(mut object) => {
            if let Some(method) = object.get("method") {
                debug!(
                    method = method.as_str().unwrap_or_default(),
                    request = object.contains_key("id"),
                    "ignoring server message received before the response"
                );
                return None;
            }
            let ours = match object.get("id") {
                Some(Value::Number(n)) => n.as_u64() == Some(id),
                // An error the server could not attribute (e.g. a parse error)
                // answers the only request on this exchange.
                Some(Value::Null) | None => object.contains_key("error"),
                Some(_) => false,
            };
            if !ours {
                debug!("ignoring response to another request");
                return None;
            }
            if let Some(error) = object.remove("error") {
                return Some(Err(rpc_error(error)));
            }
            Some(
                object
                    .remove("result")
                    .ok_or_else(|| UpstreamError::Protocol("response has no result".into())),
            )
        }
        _ => Some(Err(UpstreamError::Protocol(
            "message is not a JSON-RPC object".into(),
        ))),
    }
}

/// Like [`response_for`], but only for an error attributable to request `id`
/// (used on non-success HTTP statuses, where a body may or may not be ours).
pub(crate) fn error_for(body: &[u8], id: u64) -> Option<UpstreamError> {
    let mut object = match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(object) => object,
        _ => return None,
    };
    if object.get("id").and_then(Value::as_u64) != Some(id) {
        return None;
    }
    object.remove("error").map(rpc_error)
}

fn rpc_error(error: Value) -> UpstreamError {
    let code = error.get("code").and_then(Value::as_i64);
    let message = error.get("message").and_then(Value::as_str);
    match (code, message) {
        (Some(code), Some(message)) => UpstreamError::Rpc {
            code,
            message: message.to_owned(),
            data: error.get("data").cloned(),
        },
        _ => UpstreamError::Protocol("malformed JSON-RPC error object".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn encodes_requests_and_notifications() {
        let request =
            encode(Some(3), "tools/list", Some(&json!({"cursor": "c"}))).expect("encodes");
        assert_eq!(
            serde_json::from_slice::<Value>(&request).expect("json"),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {"cursor": "c"}})
        );
        let note = encode(None, "notifications/initialized", None).expect("encodes");
        assert_eq!(
            serde_json::from_slice::<Value>(&note).expect("json"),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        );
    }

    #[test]
    fn picks_result_for_our_id() {
        let got = response_for(
            json!({"jsonrpc": "2.0", "id": 4, "result": {"ok": true}}),
            4,
        );
        assert_eq!(got.expect("ours").expect("result"), json!({"ok": true}));
    }

    #[test]
    fn ignores_other_messages() {
        for other in [
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {}}),
            json!({"jsonrpc": "2.0", "id": 4, "method": "sampling/createMessage"}),
            json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
            json!({"jsonrpc": "2.0", "id": "4", "result": {}}),
            json!({"jsonrpc": "2.0", "result": {}}),
        ] {
            assert!(response_for(other.clone(), 4).is_none(), "{other}");
        }
    }

    #[test]
    fn errors_become_rpc_errors() {
        let got = response_for(
            json!({"jsonrpc": "2.0", "id": 4, "error": {"code": -32602, "message": "bad", "data": [1]}}),
            4,
        );
        match got {
            Some(Err(UpstreamError::Rpc {
                code,
                message,
                data,
            })) => {
                assert_eq!(
                    (code, message.as_str(), data),
                    (-32602, "bad", Some(json!([1])))
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let unattributed = response_for(
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse"}}),
            9,
        );
        assert!(matches!(
            unattributed,
            Some(Err(UpstreamError::Rpc { code: -32700, .. }))
        ));
        let malformed = response_for(json!({"id": 1, "error": "boom"}), 1);
        assert!(matches!(malformed, Some(Err(UpstreamError::Protocol(_)))));
    }

    #[test]
    fn missing_result_and_non_objects_are_protocol_errors() {
        assert!(matches!(
            response_for(json!({"jsonrpc": "2.0", "id": 1}), 1),
            Some(Err(UpstreamError::Protocol(_)))
        ));
        assert!(matches!(
            response_for(json!(7), 1),
            Some(Err(UpstreamError::Protocol(_)))
        ));
    }

    #[test]
    fn finds_response_in_batch() {
        let batch = json!([
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "result": "two"},
        ]);
        assert_eq!(
            response_for(batch, 2).expect("ours").expect("result"),
            json!("two")
        );
    }

    #[test]
    fn error_for_requires_our_id() {
        let ours = br#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#;
        assert!(matches!(
            error_for(ours, 3),
            Some(UpstreamError::Rpc { code: -32601, .. })
        ));
        let session_gone =
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#;
        assert!(error_for(session_gone, 3).is_none());
        assert!(error_for(b"Not Found", 3).is_none());
    }
}
