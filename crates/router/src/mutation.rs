//! Plans of the routing core as Envoy ext_proc messages: the only place this router writes
//! Envoy's wire form.

use envoy_types::pb::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use envoy_types::pb::envoy::config::core::v3::{HeaderValue, HeaderValueOption};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::ProcessingMode;
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::processing_mode::{
    BodySendMode, HeaderSendMode,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyMutation, BodyResponse, CommonResponse, HeaderMutation, HeadersResponse, ImmediateResponse,
    ProcessingResponse, TrailersResponse, body_mutation,
};
use envoy_types::pb::envoy::r#type::v3::HttpStatus;
use envoy_types::pb::google::protobuf::{Struct, Value, value};
use mcp_gateway_protocol::handoff::ERROR_CODE_KEY;
use mcp_gateway_routing::{
    FieldValue, METADATA_NAMESPACE, Plan, Reject, Respond, Route, RouteMetadata,
};

/// The phase a plan answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    RequestHeaders,
    RequestBody,
    RequestTrailers,
    ResponseHeaders,
    ResponseTrailers,
}

/// The ext_proc answer carrying `plan` for `phase`.
pub(crate) fn translate(phase: Phase, plan: Plan) -> ProcessingResponse {
    let (common, dynamic_metadata, mode_override) = match plan {
        Plan::Reject(reject) => return self::reject(&reject),
        Plan::Continue => (None, None, None),
        Plan::Route(route) => {
            let metadata = route.metadata.as_ref().map(dynamic_metadata);
            (Some(route_common(route)), metadata, None)
        }
        Plan::Respond(respond) => {
            let mode = respond.watch_body.then(stream_response_body);
            (respond_common(respond), None, mode)
        }
    };
    let response = match phase {
        Phase::RequestHeaders => Response::RequestHeaders(HeadersResponse { response: common }),
        Phase::ResponseHeaders => Response::ResponseHeaders(HeadersResponse {
            // A response headers answer always carries a (possibly empty) common response.
            response: Some(common.unwrap_or_default()),
        }),
        Phase::RequestBody => Response::RequestBody(BodyResponse { response: common }),
        Phase::RequestTrailers => Response::RequestTrailers(TrailersResponse::default()),
        Phase::ResponseTrailers => Response::ResponseTrailers(TrailersResponse::default()),
    };
    ProcessingResponse {
        response: Some(response),
        dynamic_metadata,
        mode_override,
        ..Default::default()
    }
}

/// A request's changes. The header mutation is always there, even empty: Envoy ignores
/// `clear_route_cache` without one.
fn route_common(route: Route) -> CommonResponse {
    let mut set_headers: Vec<_> = route.set.into_iter().map(|(k, v)| set(k, v)).collect();
    if let Some(credential) = &route.credential {
        set_headers.push(set(credential.name(), credential.value()));
    }
    CommonResponse {
        header_mutation: Some(HeaderMutation {
            set_headers,
            remove_headers: route.remove,
        }),
        body_mutation: route.body.map(|b| BodyMutation {
            mutation: Some(body_mutation::Mutation::Body(b)),
        }),
        clear_route_cache: route.clear_route,
        ..Default::default()
    }
}

/// A response's header changes; no header mutation when nothing changes.
fn respond_common(respond: Respond) -> Option<CommonResponse> {
    let header_mutation =
        (!respond.set.is_empty() || !respond.remove.is_empty()).then(|| HeaderMutation {
            set_headers: respond.set.into_iter().map(|(k, v)| set(k, v)).collect(),
            remove_headers: respond.remove,
        });
    Some(CommonResponse {
        header_mutation,
        ..Default::default()
    })
}

/// Sets (overwriting) one header.
fn set(key: &str, value: impl Into<Vec<u8>>) -> HeaderValueOption {
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

/// Continue after the request body, untouched.
#[cfg(test)]
pub(crate) fn request_body_unchanged() -> ProcessingResponse {
    translate(Phase::RequestBody, Plan::Continue)
}

/// The response filter's mode once the router wants the body: streamed, chunk by chunk (the
/// router holds back what it must see whole, so Envoy's buffer limits never apply).
fn stream_response_body() -> ProcessingMode {
    ProcessingMode {
        request_header_mode: HeaderSendMode::Skip as i32,
        response_header_mode: HeaderSendMode::Send as i32,
        request_body_mode: BodySendMode::None as i32,
        response_body_mode: BodySendMode::Streamed as i32,
        request_trailer_mode: HeaderSendMode::Skip as i32,
        response_trailer_mode: HeaderSendMode::Skip as i32,
    }
}

/// Replace one response chunk (or the whole buffered body) with `body`; `None` passes it.
pub(crate) fn response_body(body: Option<Vec<u8>>) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::ResponseBody(BodyResponse {
            response: body.map(|body| CommonResponse {
                body_mutation: Some(BodyMutation {
                    mutation: Some(body_mutation::Mutation::Body(body)),
                }),
                ..Default::default()
            }),
        })),
        ..Default::default()
    }
}

/// Answer the client directly with a JSON-RPC error.
fn reject(reject: &Reject) -> ProcessingResponse {
    ProcessingResponse {
        response: Some(Response::ImmediateResponse(ImmediateResponse {
            status: Some(HttpStatus {
                code: i32::from(reject.status),
            }),
            headers: Some(HeaderMutation {
                set_headers: reject
                    .headers
                    .iter()
                    .map(|(k, v)| set(k, v.as_str()))
                    .collect(),
                remove_headers: Vec::new(),
            }),
            body: reject.body(),
            details: "mcp_gateway_router".into(),
            ..Default::default()
        })),
        // For Envoy's trace tags and access logs: the error this request got.
        dynamic_metadata: Some(namespaced(
            [(
                ERROR_CODE_KEY.to_owned(),
                Value {
                    kind: Some(value::Kind::NumberValue(reject.code as f64)),
                },
            )]
            .into_iter()
            .collect(),
        )),
        ..Default::default()
    }
}

/// The `mcp` namespace metadata of a routed request.
fn dynamic_metadata(metadata: &RouteMetadata) -> Struct {
    let fields = metadata
        .to_fields()
        .into_iter()
        .map(|(key, field)| {
            let kind = match field {
                FieldValue::Str(s) => value::Kind::StringValue(s.into_owned()),
                FieldValue::Number(n) => value::Kind::NumberValue(n),
            };
            (key.to_owned(), Value { kind: Some(kind) })
        })
        .collect();
    namespaced(fields)
}

/// `fields` in the `mcp` namespace.
fn namespaced(fields: std::collections::HashMap<String, Value>) -> Struct {
    Struct {
        fields: [(
            METADATA_NAMESPACE.to_owned(),
            Value {
                kind: Some(value::Kind::StructValue(Struct { fields })),
            },
        )]
        .into_iter()
        .collect(),
    }
}
