//! Turning decisions into Envoy ext_proc responses.

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::processing_mode::{
    BodySendMode, HeaderSendMode,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, BodyResponse, CommonResponse, HeaderMutation, HeadersResponse, ImmediateResponse,
    ProcessingResponse, body_mutation,
};
use envoy_types::pb::envoy::r#type::v3::HttpStatus;
use envoy_types::pb::google::protobuf::{Struct, Value, value};
use mcp_gateway_protocol::{error_body, handoff};

use crate::RouteError;

/// Namespace of the dynamic metadata the router sets for Envoy (RBAC, rate limits, logs).
pub(crate) const METADATA_NAMESPACE: &str = "mcp";

/// Sets (overwriting) one header.
pub(crate) fn set(key: &str, value: impl Into<Vec<u8>>) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_owned(),
            raw_value: value.into(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

/// Continue after request headers, removing `remove`, and have Envoy pick the route again.
///
/// Envoy picks a route as soon as the request headers arrive, from the client's own
/// headers: a client that sends a backend's hostname with the router's routing header
/// would keep that route if it were cached past this point. So every answer clears the
/// route cache, and carries a header mutation (Envoy ignores `clear_route_cache` without
/// one): `remove` always names the headers backend routes match on.
pub(crate) fn request_headers(remove: Vec<String>) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::RequestHeaders(HeadersResponse {
            response: Some(CommonResponse {
                header_mutation: Some(HeaderMutation {
                    set_headers: Vec::new(),
                    remove_headers: remove,
                }),
                clear_route_cache: true,
                ..Default::default()
            }),
        })),
        ..Default::default()
    }
}

/// Continue after request headers with new headers, a re-route and metadata (a GET that
/// resumes a backend's stream).
pub(crate) fn request_headers_routed(
    set_headers: Vec<HeaderValueOption>,
    remove_headers: Vec<String>,
    metadata: &[(&str, &str)],
) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::RequestHeaders(HeadersResponse {
            response: Some(CommonResponse {
                header_mutation: Some(HeaderMutation {
                    set_headers,
                    remove_headers,
                }),
                clear_route_cache: true,
                ..Default::default()
            }),
        })),
        dynamic_metadata: Some(dynamic_metadata(metadata, None)),
        ..Default::default()
    }
}

/// Continue after the request body, untouched.
pub(crate) fn request_body_unchanged() -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::RequestBody(BodyResponse { response: None })),
        ..Default::default()
    }
}

/// Continue after the request body with new headers, an optional new body, and a re-route.
pub(crate) fn request_body_routed(
    set_headers: Vec<HeaderValueOption>,
    remove_headers: Vec<String>,
    body: Option<Vec<u8>>,
    metadata: &[(&str, &str)],
    request_id: Option<&str>,
) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::RequestBody(BodyResponse {
            response: Some(CommonResponse {
                header_mutation: Some(HeaderMutation {
                    set_headers,
                    remove_headers,
                }),
                body_mutation: body.map(|b| BodyMutation {
                    mutation: Some(body_mutation::Mutation::Body(b)),
                }),
                clear_route_cache: true,
                ..Default::default()
            }),
        })),
        dynamic_metadata: Some(dynamic_metadata(metadata, request_id)),
        ..Default::default()
    }
}

/// Continue after response headers, setting `set_headers` and removing `remove_headers`.
pub(crate) fn response_headers(
    set_headers: Vec<HeaderValueOption>,
    remove_headers: Vec<String>,
) -> ProcessingResponse {
    let header_mutation =
        (!set_headers.is_empty() || !remove_headers.is_empty()).then_some(HeaderMutation {
            set_headers,
            remove_headers,
        });
    ProcessingResponse {
        response: Some(Response::ResponseHeaders(HeadersResponse {
            response: Some(CommonResponse {
                header_mutation,
                ..Default::default()
            }),
        })),
        ..Default::default()
    }
}

/// The response filter's mode once the router wants the body: streamed, chunk by chunk (the
/// router holds back what it must see whole, so Envoy's buffer limits never apply).
pub(crate) fn stream_response_body() -> ProcessingMode {
    ProcessingMode {
        request_header_mode: HeaderSendMode::Skip as i32,
        response_header_mode: HeaderSendMode::Send as i32,
        request_body_mode: BodySendMode::None as i32,
        response_body_mode: BodySendMode::Streamed as i32,
        request_trailer_mode: HeaderSendMode::Skip as i32,
        response_trailer_mode: HeaderSendMode::Skip as i32,
    }
}

/// Replace one response chunk (or the whole buffered body) with `body`.
pub(crate) fn response_body(body: Vec<u8>) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::ResponseBody(BodyResponse {
            response: Some(CommonResponse {
                body_mutation: Some(BodyMutation {
                    mutation: Some(body_mutation::Mutation::Body(body)),
                }),
                ..Default::default()
            }),
        })),
        ..Default::default()
    }
}

/// Answer the client directly with a JSON-RPC error (the one place errors become responses).
pub(crate) fn reject(error: &RouteError, id_raw: Option<&str>) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::ImmediateResponse(ImmediateResponse {
            status: Some(HttpStatus {
                code: i32::from(error.http_status()),
            }),
            headers: Some(HeaderMutation {
                set_headers: reject_headers(error),
                remove_headers: Vec::new(),
            }),
            body: error_body(id_raw, error.code(), &error.to_string(), None),
            details: "mcp_gateway_router".into(),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// The headers of an error answer: JSON, and the methods allowed with a 405.
fn reject_headers(error: &RouteError) -> Vec<HeaderValueOption> {
    let mut headers = vec![set("content-type", "application/json")];
    if let RouteError::Transport(transport) = error
        && let Some(allow) = transport.allow()
    {
        headers.push(set(mcp_gateway_protocol::transport::ALLOW, allow));
    }
    headers
}

/// `mcp` namespace metadata: the string `fields`, `request_id` typed as the client sent it
/// (number or string) for RBAC and logs, and the id as raw JSON text (`null` when there is
/// none) so Envoy's error bodies answer with exactly the client's id.
fn dynamic_metadata(fields: &[(&str, &str)], request_id: Option<&str>) -> Struct {
    // Empty values are left out: readers treat a missing field the same, and each field costs
    // allocations and bytes on every routed request.
    let mut fields: std::collections::HashMap<String, Value> = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| ((*k).to_owned(), string_value(v)))
        .collect();
    if let Some(id) = request_id.and_then(typed_id) {
        fields.insert("request_id".to_owned(), id);
    }
    fields.insert(
        handoff::REQUEST_ID_JSON_KEY.to_owned(),
        string_value(request_id.unwrap_or("null")),
    );
    let inner = Struct { fields };
    Struct {
        fields: [(
            METADATA_NAMESPACE.to_owned(),
            Value {
                kind: Some(value::Kind::StructValue(inner)),
            },
        )]
        .into_iter()
        .collect(),
    }
}

fn string_value(s: &str) -> Value {
    Value {
        kind: Some(value::Kind::StringValue(s.to_owned())),
    }
}

/// A JSON-RPC id (raw JSON text) as a protobuf value: numbers stay numbers.
fn typed_id(raw: &str) -> Option<Value> {
    match serde_json::from_str::<serde_json::Value>(raw).ok()? {
        serde_json::Value::Number(n) => Some(Value {
            kind: Some(value::Kind::NumberValue(n.as_f64()?)),
        }),
        serde_json::Value::String(s) => Some(string_value(&s)),
        _ => None,
    }
}
