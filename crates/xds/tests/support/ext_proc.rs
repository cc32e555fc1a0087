//! A stand-in for the router's ext_proc service, steered by test headers:
//! - `x-test-route: <hostname>` sets `:authority` to it in the body phase and clears
//!   the route cache (what the router does for a routed call), with
//!   `x-test-servername: <name>` also setting `x-mcp-servername` (and the body's id as
//!   `mcp.request_id` metadata, as the router does);
//! - `x-test-immediate` answers 503 with a JSON body itself;
//! - `x-test-observe-response` switches the response-headers phase on (mode override)
//!   and reports each `:status` Envoy sends through it.
//!
//! Everything else continues unchanged.

use std::pin::Pin;

use envoy_types::pb::envoy::config::core::v3::{
    HeaderMap, HeaderValue, HeaderValueOption, header_value_option::HeaderAppendAction,
};
use envoy_types::pb::envoy::extensions::filters::http::ext_proc::v3::{
    ProcessingMode, processing_mode::BodySendMode, processing_mode::HeaderSendMode,
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
        let mut route: Option<(String, Option<String>)> = None;
        let stream = request.into_inner().filter_map(move |message| {
            let reply = match message {
                Ok(message) => answer(message, &mut route, &statuses).map(Ok),
                Err(_) => None,
            };
            futures::future::ready(reply)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

fn answer(
    message: ProcessingRequest,
    route: &mut Option<(String, Option<String>)>,
    statuses: &mpsc::UnboundedSender<String>,
) -> Option<ProcessingResponse> {
    let response = match message.request? {
        processing_request::Request::RequestHeaders(headers) => {
            let headers = headers.headers.unwrap_or_default();
            if header(&headers, "x-test-immediate").is_some() {
                return Some(immediate_unavailable());
            }
            *route = header(&headers, "x-test-route")
                .map(|host| (host, header(&headers, "x-test-servername")));
            let observe = header(&headers, "x-test-observe-response").is_some();
            return Some(ProcessingResponse {
                response: Some(processing_response::Response::RequestHeaders(
                    HeadersResponse::default(),
                )),
                mode_override: observe.then(observe_responses),
                ..Default::default()
            });
        }
        processing_request::Request::RequestBody(body) => {
            let Some((host, servername)) = route.take() else {
                return Some(ProcessingResponse {
                    response: Some(processing_response::Response::RequestBody(
                        BodyResponse::default(),
                    )),
                    ..Default::default()
                });
            };
            // Like the router: the request's id goes into `mcp` metadata for error bodies.
            let id = serde_json::from_slice::<serde_json::Value>(&body.body)
                .ok()
                .and_then(|v| v.get("id").and_then(serde_json::Value::as_f64));
            return Some(ProcessingResponse {
                response: Some(processing_response::Response::RequestBody(BodyResponse {
                    response: Some(routed(host, servername)),
                })),
                dynamic_metadata: id.map(request_id_metadata),
                ..Default::default()
            });
        }
        processing_request::Request::ResponseHeaders(headers) => {
            let headers = headers.headers.unwrap_or_default();
            let _ = statuses.send(header(&headers, ":status").unwrap_or_default());
            processing_response::Response::ResponseHeaders(HeadersResponse::default())
        }
        _ => return None,
    };
    Some(ProcessingResponse {
        response: Some(response),
        ..Default::default()
    })
}

fn routed(host: String, servername: Option<String>) -> CommonResponse {
    let mut set_headers = vec![set(":authority", host)];
    set_headers.extend(servername.map(|name| set("x-mcp-servername", name)));
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

/// The configured mode with the response-headers phase switched on.
fn observe_responses() -> ProcessingMode {
    ProcessingMode {
        request_header_mode: HeaderSendMode::Send as i32,
        response_header_mode: HeaderSendMode::Send as i32,
        request_body_mode: BodySendMode::Buffered as i32,
        response_body_mode: BodySendMode::None as i32,
        request_trailer_mode: HeaderSendMode::Skip as i32,
        response_trailer_mode: HeaderSendMode::Skip as i32,
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

fn request_id_metadata(id: f64) -> Struct {
    let number = Value {
        kind: Some(value::Kind::NumberValue(id)),
    };
    let inner = Struct {
        fields: [("request_id".to_owned(), number)].into_iter().collect(),
    };
    Struct {
        fields: [(
            "mcp".to_owned(),
            Value {
                kind: Some(value::Kind::StructValue(inner)),
            },
        )]
        .into_iter()
        .collect(),
    }
}
