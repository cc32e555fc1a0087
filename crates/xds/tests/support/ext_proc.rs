//! A stand-in for the router's ext_proc service, steered by a `test` member of the JSON
//! body (the bootstrap sends the router bodies, not request headers):
//! - `"route": "<hostname>"` sets `:authority` to it and clears the route cache (what the
//!   router does for a routed call), with `"servername": "<name>"` also setting
//!   `x-mcp-servername` and, like the router, the body's id as `mcp.request_id` metadata
//!   (typed, and as JSON text);
//! - `"observe": true` sets `x-mcp-observe: 1`, selecting the route with the response filter;
//! - `"immediate": true` answers 503 with a JSON body itself;
//! - `"immediate_response": true` (with `route`) routes the call, then answers 503 with that
//!   JSON body in its response phase (as the router answers a backend's lost session), so
//!   the request carries `x-mcp-servername` when Envoy handles the router's answer. It
//!   travels to the response filter's stream as `mcp.immediate_response` metadata.
//!
//! Every `:status` Envoy shows it in a response-headers phase (the response filter, which
//! runs on routed requests only) is reported. Everything else continues unchanged.

use std::pin::Pin;

use mcp_gateway_protocol::handoff;

use envoy_types::pb::envoy::config::core::v3::{
    HeaderMap, HeaderValue, HeaderValueOption, header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyResponse, CommonResponse, HeaderMutation, HeadersResponse, ImmediateResponse,
    ProcessingRequest, ProcessingResponse, processing_request, processing_response,
};
use envoy_types::pb::envoy::r#type::v3::HttpStatus;
use envoy_types::pb::google::protobuf::{Struct, Value, value};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status, Streaming};

/// Room for a 4 MiB body plus headers in one ext_proc message.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

pub struct TestProcessor {
    response_statuses: mpsc::UnboundedSender<String>,
}

/// The service, and a receiver of the `:status` values seen in response phases.
pub fn service() -> (
    ExternalProcessorServer<TestProcessor>,
    mpsc::UnboundedReceiver<String>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = ExternalProcessorServer::new(TestProcessor {
        response_statuses: tx,
    })
    .max_decoding_message_size(MAX_MESSAGE_BYTES);
    (server, rx)
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<ProcessingResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalProcessor for TestProcessor {
    type ProcessStream = ResponseStream;

    async fn process(
        &self,
        request: Request<Streaming<ProcessingRequest>>,
    ) -> Result<Response<Self::ProcessStream>, Status> {
        let statuses = self.response_statuses.clone();
        let stream = request.into_inner().filter_map(move |message| {
            let reply = match message {
                Ok(message) => answer(message, &statuses).map(Ok),
                Err(_) => None,
            };
            futures::future::ready(reply)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

fn answer(
    message: ProcessingRequest,
    statuses: &mpsc::UnboundedSender<String>,
) -> Option<ProcessingResponse> {
    let response = match message.request? {
        processing_request::Request::RequestHeaders(_) => {
            processing_response::Response::RequestHeaders(HeadersResponse::default())
        }
        processing_request::Request::RequestBody(body) => {
            let json: serde_json::Value =
                serde_json::from_slice(&body.body).unwrap_or(serde_json::Value::Null);
            let test = &json["test"];
            if test["immediate"] == true {
                return Some(immediate_unavailable());
            }
            let Some(host) = test["route"].as_str() else {
                return Some(ProcessingResponse {
                    response: Some(processing_response::Response::RequestBody(
                        BodyResponse::default(),
                    )),
                    ..Default::default()
                });
            };
            let servername = test["servername"].as_str().map(str::to_owned);
            return Some(ProcessingResponse {
                response: Some(processing_response::Response::RequestBody(BodyResponse {
                    response: Some(routed(host.to_owned(), servername, test["observe"] == true)),
                })),
                dynamic_metadata: Some(mcp_metadata(
                    &json["id"],
                    test["immediate_response"] == true,
                )),
                ..Default::default()
            });
        }
        processing_request::Request::ResponseHeaders(headers) => {
            let headers = headers.headers.unwrap_or_default();
            let _ = statuses.send(header(&headers, ":status").unwrap_or_default());
            let asked = message
                .metadata_context
                .as_ref()
                .and_then(|m| m.filter_metadata.get("mcp"))
                .and_then(|mcp| mcp.fields.get("immediate_response"))
                .is_some_and(|v| v.kind == Some(value::Kind::BoolValue(true)));
            if asked {
                return Some(immediate_unavailable());
            }
            processing_response::Response::ResponseHeaders(HeadersResponse::default())
        }
        _ => return None,
    };
    Some(ProcessingResponse {
        response: Some(response),
        ..Default::default()
    })
}

fn routed(host: String, servername: Option<String>, observe: bool) -> CommonResponse {
    let mut set_headers = vec![set(":authority", host)];
    set_headers.extend(servername.map(|name| set("x-mcp-servername", name)));
    if observe {
        set_headers.push(set("x-mcp-observe", "1".to_owned()));
    }
    CommonResponse {
        header_mutation: Some(HeaderMutation {
            set_headers,
            ..Default::default()
        }),
        clear_route_cache: true,
        ..Default::default()
    }
}

fn immediate_unavailable() -> ProcessingResponse {
    ProcessingResponse {
        response: Some(processing_response::Response::ImmediateResponse(
            ImmediateResponse {
                status: Some(HttpStatus { code: 503 }),
                headers: Some(HeaderMutation {
                    set_headers: vec![set("content-type", "application/json".to_owned())],
                    ..Default::default()
                }),
                body: br#"{"from":"router"}"#.to_vec(),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

fn set(key: &str, value: String) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_owned(),
            raw_value: value.into_bytes(),
            ..Default::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
        ..Default::default()
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.headers.iter().find(|h| h.key == name).map(|h| {
        if h.raw_value.is_empty() {
            h.value.clone()
        } else {
            String::from_utf8_lossy(&h.raw_value).into_owned()
        }
    })
}

fn mcp_metadata(request_id: &serde_json::Value, immediate_response: bool) -> Struct {
    let mut fields = std::collections::HashMap::new();
    if let Some(id) = request_id.as_f64() {
        fields.insert(
            "request_id".to_owned(),
            Value {
                kind: Some(value::Kind::NumberValue(id)),
            },
        );
    }
    fields.insert(
        handoff::REQUEST_ID_JSON_KEY.to_owned(),
        Value {
            kind: Some(value::Kind::StringValue(request_id.to_string())),
        },
    );
    if immediate_response {
        fields.insert(
            "immediate_response".to_owned(),
            Value {
                kind: Some(value::Kind::BoolValue(true)),
            },
        );
    }
    Struct {
        fields: [(
            "mcp".to_owned(),
            Value {
                kind: Some(value::Kind::StructValue(Struct { fields })),
            },
        )]
        .into_iter()
        .collect(),
    }
}
