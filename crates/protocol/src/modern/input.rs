//! Multi-round-trip requests (MCP 2026-07-28): a server that needs the client's input
//! answers a request with an `input_required` result naming what it needs under keys of its
//! choosing (`inputRequests`, each `{method, params}` of `sampling/createMessage`,
//! `elicitation/create` or `roots/list`) and an opaque `requestState`. The client asks its
//! user or model and sends the same request again, with fresh id, the answers under the same
//! keys in `params.inputResponses` (each the bare result) and `params.requestState` as it
//! got it.

use crate::codes;

/// `resultType` of a result that asks the client for input.
pub const INPUT_REQUIRED: &str = "input_required";
/// The retry's member carrying the answers, by key.
pub const INPUT_RESPONSES: &str = "inputResponses";
/// The retry's member echoing the state of the `input_required` result.
pub const REQUEST_STATE: &str = "requestState";
/// The error code of a retry whose `requestState` the server does not accept.
pub const INVALID_STATE_CODE: i64 = codes::INVALID_PARAMS;
/// Its message, as the official SDKs word it.
pub const INVALID_STATE_MESSAGE: &str = "Invalid or expired requestState";
/// Its `data`, as the official SDKs send it.
pub const INVALID_STATE_DATA: &str = r#"{"reason":"invalid_request_state"}"#;

/// Whether a server request of `method` is one a 2026-07-28 client is asked through
/// `input_required` (the others have no place there).
pub fn is_input_method(method: &str) -> bool {
    matches!(
        method,
        "sampling/createMessage" | "elicitation/create" | "roots/list"
    )
}

/// One request for input: its key, method and `params` (JSON text, `None` when it had none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRequest {
    /// The key the client answers under.
    pub key: String,
    /// `sampling/createMessage`, `elicitation/create` or `roots/list`.
    pub method: String,
    /// The request's `params`, as sent.
    pub params: Option<String>,
}

/// The `input_required` result (JSON text) asking for `requests`, with `state`.
pub fn input_required(requests: &[InputRequest], state: &str) -> String {
    let mut out = String::with_capacity(64 + requests.len() * 128);
    out.push_str(r#"{"resultType":"input_required","inputRequests":{"#);
    for (i, request) in requests.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(&request.key));
        out.push_str(r#":{"method":"#);
        out.push_str(&quote(&request.method));
        if let Some(params) = &request.params {
            out.push_str(r#","params":"#);
            out.push_str(params);
        }
        out.push('}');
    }
    out.push_str(r#"},"requestState":"#);
    out.push_str(&quote(state));
    out.push('}');
    out
}

/// `result` (a JSON object's text, as a 2025 server sent it) with `"resultType":"complete"`
/// first, the rest byte for byte; `None` when it is no object. A `resultType` already there is
/// kept.
pub fn complete(result: &str) -> Option<String> {
    let body = result.trim_start();
    let rest = body.strip_prefix('{')?;
    if has_result_type(result) {
        return Some(result.to_owned());
    }
    let mut out = String::with_capacity(result.len() + 26);
    out.push_str(r#"{"resultType":"complete""#);
    if !rest.trim_start().starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    Some(out)
}

/// `value` as a JSON string.
fn quote(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

fn has_result_type(result: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "resultType", borrow)]
        result_type: Option<&'a serde_json::value::RawValue>,
    }
    serde_json::from_str::<Probe<'_>>(result).is_ok_and(|p| p.result_type.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn input_required_names_each_request_and_the_state() {
        let text = input_required(
            &[
                InputRequest {
                    key: "a\"1".into(),
                    method: "elicitation/create".into(),
                    params: Some(r#"{"message":"hi"}"#.into()),
                },
                InputRequest {
                    key: "b".into(),
                    method: "roots/list".into(),
                    params: None,
                },
            ],
            "s",
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({
                "resultType": "input_required",
                "inputRequests": {
                    "a\"1": {"method": "elicitation/create", "params": {"message": "hi"}},
                    "b": {"method": "roots/list"},
                },
                "requestState": "s",
            })
        );
    }

    #[test]
    fn complete_stamps_objects_only_and_keeps_the_rest() {
        assert_eq!(
            complete(r#"{"a":9007199254740993}"#).as_deref(),
            Some(r#"{"resultType":"complete","a":9007199254740993}"#)
        );
        assert_eq!(
            complete(" { } ").as_deref(),
            Some(r#"{"resultType":"complete" } "#)
        );
        let kept = r#"{"resultType":"x"}"#;
        assert_eq!(complete(kept).as_deref(), Some(kept));
        assert_eq!(complete("[]"), None);
        assert!(is_input_method("roots/list") && !is_input_method("ping"));
        let data: Value = serde_json::from_str(INVALID_STATE_DATA).unwrap();
        assert_eq!(data["reason"], "invalid_request_state");
    }
}
