//! The gRPC side: one ext_proc stream per HTTP request, with the state that request needs.

use std::pin::Pin;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValueOption, Metadata};
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response;
use envoy_types::pb::envoy::service::ext_proc::v3::{
    BodyResponse, HttpBody, HttpHeaders, ProcessingRequest, ProcessingResponse, TrailersResponse,
};
use envoy_types::pb::google::protobuf::{Struct, value};
use futures::Stream;
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::ConfigStore;
use mcp_gateway_config::Server;
use mcp_gateway_protocol::transport::{self, Endpoint, Head};
use mcp_gateway_protocol::{Limits, Message, events};
use mcp_gateway_session::SessionRecord;
use mcp_gateway_session::{BackendSessions, OpenError, SessionIds};
use mcp_gateway_upstream::BackendSession;
use tonic::{Status, Streaming};
use tracing::debug;

use crate::answer::{BodyRewriter, Source};
use crate::mutation;
use crate::routing::{Addressed, Decision, Target, decide};
use crate::{OriginPolicy, RouteError};

const SESSION_HEADER: &str = transport::SESSION_ID;
/// Asks Envoy for the route whose responses the router sees.
const OBSERVE_HEADER: &str = transport::OBSERVE;
/// Names the server the router chose; backend routes match only with it.
const ROUTED_HEADER: &str = transport::ROUTED_SERVER;
const VERSION_HEADER: &str = transport::PROTOCOL_VERSION;
/// Room for headers and framing in an ext_proc message beyond the body itself.
const MESSAGE_OVERHEAD: usize = 1 << 20;

/// What the router shares across streams.
pub struct RouterState {
    config: Arc<ConfigStore>,
    catalog: Arc<CatalogStore>,
    ids: SessionIds,
    backends: Arc<BackendSessions>,
    max_request_bytes: usize,
    origins: OriginPolicy,
    json_limits: Limits,
}

/// The ext_proc service.
#[derive(Clone)]
pub struct Router(Arc<RouterState>);

impl Router {
    /// A router over the shared config, catalog and sessions.
    pub fn new(
        config: Arc<ConfigStore>,
        catalog: Arc<CatalogStore>,
        backends: Arc<BackendSessions>,
        ids: SessionIds,
        max_request_bytes: usize,
        origins: OriginPolicy,
    ) -> Self {
        Self(Arc::new(RouterState {
            config,
            catalog,
            ids,
            backends,
            max_request_bytes,
            origins,
            json_limits: Limits::default(),
        }))
    }

    /// The same router with these limits on request bodies (before it is shared).
    pub fn with_json_limits(mut self, limits: Limits) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.0) {
            state.json_limits = limits;
        }
        self
    }

    /// The tonic service to add to a gRPC server. Its message limit leaves room for a body of
    /// `max_request_bytes` plus headers (tonic's default of 4 MiB would not).
    pub fn into_service(self) -> ExternalProcessorServer<Router> {
        let limit = self.0.max_request_bytes.saturating_add(MESSAGE_OVERHEAD);
        ExternalProcessorServer::new(self).max_decoding_message_size(limit)
    }
}

/// Per-request state, alive for one ext_proc stream.
#[derive(Default)]
struct RequestState {
    session: Option<String>,
    /// A POST to the MCP endpoint: the only request whose body is JSON-RPC. Other bodies
    /// (a DELETE's, a GET's) are never parsed nor routed.
    reads_body: bool,
    routed: Option<Routed>,
    /// Rewrites the answer of a routed request the router watches.
    body: Option<BodyRewriter>,
}

/// How the answer to a routed request must change for the client (metadata `rewrite`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    /// It carries task ids (a task-augmented `tools/call`, `tasks/get|result|cancel`).
    Task,
    /// It carries resource URIs (`resources/read`).
    Read,
}

impl Rewrite {
    fn of(kind: Addressed, method: &str, msg: &Message<'_>) -> Option<Self> {
        match kind {
            Addressed::Task => Some(Self::Task),
            Addressed::Tool if msg.param_raw(&["task"]).is_some() => Some(Self::Task),
            Addressed::Resource if method == "resources/read" => Some(Self::Read),
            _ => None,
        }
    }

    fn as_str(this: Option<Self>) -> &'static str {
        match this {
            Some(Self::Task) => "task",
            Some(Self::Read) => "read",
            None => "",
        }
    }

    fn parse(s: Option<&str>) -> Option<Self> {
        match s? {
            "task" => Some(Self::Task),
            "read" => Some(Self::Read),
            _ => None,
        }
    }
}

/// A request sent to a backend: what the response phase needs, read from the `mcp` dynamic
/// metadata the router set (Envoy shows responses on the response filter's own stream).
struct Routed {
    server: String,
    gateway_session: String,
    request_id: Option<String>,
    /// The answer names backend ids or URIs.
    rewrite: Option<Rewrite>,
}

impl Routed {
    fn from_metadata(meta: Option<&Metadata>) -> Option<Self> {
        let fields = metadata(meta, mutation::METADATA_NAMESPACE);
        Some(Self {
            server: fields.get("server")?.to_owned(),
            gateway_session: fields.get("gateway_session")?.to_owned(),
            // The id as the client wrote it; the typed one is a double.
            request_id: fields
                .get(mcp_gateway_protocol::handoff::REQUEST_ID_JSON_KEY)
                .filter(|id| *id != "null")
                .map(str::to_owned)
                .or_else(|| fields.request_id()),
            rewrite: Rewrite::parse(fields.get("rewrite")),
        })
    }
}

/// The fields of one dynamic metadata namespace.
struct MetadataFields<'a>(Option<&'a Struct>);

impl<'a> MetadataFields<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        match self.0?.fields.get(key)?.kind.as_ref()? {
            value::Kind::StringValue(s) => Some(s),
            _ => None,
        }
    }

    /// The request id as JSON text (numbers are stored as numbers).
    fn request_id(&self) -> Option<String> {
        match self.0?.fields.get("request_id")?.kind.as_ref()? {
            value::Kind::StringValue(s) => Some(serde_json::Value::String(s.clone()).to_string()),
            value::Kind::NumberValue(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                Some(format!("{}", *n as i64))
            }
            value::Kind::NumberValue(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

fn metadata<'a>(meta: Option<&'a Metadata>, namespace: &str) -> MetadataFields<'a> {
    MetadataFields(meta.and_then(|m| m.filter_metadata.get(namespace)))
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<ProcessingResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalProcessor for Router {
    type ProcessStream = ResponseStream;

    async fn process(
        &self,
        request: tonic::Request<Streaming<ProcessingRequest>>,
    ) -> Result<tonic::Response<Self::ProcessStream>, Status> {
        let inbound = request.into_inner();
        let state = self.0.clone();
        let stream = futures::stream::unfold(
            (inbound, RequestState::default(), state),
            |(mut inbound, mut req, state)| async move {
                match inbound.message().await {
                    Ok(Some(msg)) => {
                        let out = state.handle(&mut req, msg).await;
                        Some((Ok(out), (inbound, req, state)))
                    }
                    Ok(None) => None,
                    Err(status) => {
                        debug!(error = %status, "ext_proc stream ended with an error");
                        None
                    }
                }
            },
        );
        Ok(tonic::Response::new(Box::pin(stream)))
    }
}

impl RouterState {
    async fn handle(&self, req: &mut RequestState, msg: ProcessingRequest) -> ProcessingResponse {
        match msg.request {
            Some(Request::RequestHeaders(h)) => self.request_headers(req, &h).await,
            Some(Request::RequestBody(b)) => self.request_body(req, &b).await,
            Some(Request::ResponseHeaders(h)) => {
                // With the standalone bootstrap, responses arrive on the response filter's own
                // stream, and what the router decided travels there as the `mcp` metadata it
                // set; with one filter for both (the Kubernetes charts), on this stream.
                if let Some(routed) = Routed::from_metadata(msg.metadata_context.as_ref()) {
                    req.routed = Some(routed);
                }
                self.response_headers(req, &h).await
            }
            Some(Request::ResponseBody(b)) => match &mut req.body {
                Some(body) => mutation::response_body(body.chunk(&b.body, b.end_of_stream)),
                None => ProcessingResponse {
                    response: Some(Response::ResponseBody(BodyResponse::default())),
                    ..Default::default()
                },
            },
            Some(Request::RequestTrailers(_)) => ProcessingResponse {
                response: Some(Response::RequestTrailers(TrailersResponse::default())),
                ..Default::default()
            },
            Some(Request::ResponseTrailers(_)) => ProcessingResponse {
                response: Some(Response::ResponseTrailers(TrailersResponse::default())),
                ..Default::default()
            },
            None => mutation::reject(&RouteError::Internal("empty ext_proc message".into()), None),
        }
    }

    /// Request headers: strip client `x-mcp-*` headers, check the transport rules, remember
    /// the session.
    async fn request_headers(&self, req: &mut RequestState, h: &HttpHeaders) -> ProcessingResponse {
        if let Some(lost) = lost::SessionLost::from_headers(h) {
            return self.session_lost(lost).await;
        }
        // The headers backend routes match on go whether the client sent them or not, so the
        // answer always has a mutation and Envoy honours its route cache clearing.
        let mut remove = vec![ROUTED_HEADER.to_owned(), OBSERVE_HEADER.to_owned()];
        let mut head = Head::default();
        for (key, value) in headers(h.headers.as_ref()) {
            match key {
                ROUTED_HEADER | OBSERVE_HEADER => {}
                k if k.starts_with(transport::INTERNAL_PREFIX) => remove.push(key.to_owned()),
                _ => head.push(key, value),
            }
        }
        // The transport rules the broker applies too: path, method, single headers, Origin,
        // protocol version.
        let method = match transport::check(&head, &self.origins) {
            Ok(Endpoint::Mcp(method)) => method,
            Ok(Endpoint::OAuthMetadata | Endpoint::Health) => {
                return mutation::request_headers(remove);
            }
            Err(error) => return mutation::reject(&RouteError::Transport(error), None),
        };
        req.reads_body = method == transport::Method::Post;
        let session = head.session_id();
        if let Some(session) = session {
            if self.ids.verify(session, None).is_err() {
                return mutation::reject(&RouteError::UnknownSession, None);
            }
            req.session = Some(session.to_owned());
        }
        if method == transport::Method::Get
            && let (Some(gateway), Some(last)) = (session, head.last_event_id())
            && events::parse_event_id(last).is_none()
        {
            return match self.resume(req, gateway, last).await {
                Ok(Some(response)) => response,
                Ok(None) => mutation::request_headers(remove),
                Err(error) => mutation::reject(&error, None),
            };
        }
        mutation::request_headers(remove)
    }

    /// A GET that resumes a backend's stream (its `Last-Event-ID` is not the gateway's):
    /// sent to that backend, named in the id (`<server>~<id>`) or the session's only one.
    /// `None` when no backend can be told apart; the broker answers then.
    async fn resume(
        &self,
        req: &mut RequestState,
        gateway: &str,
        last: &str,
    ) -> Result<Option<ProcessingResponse>, RouteError> {
        let config = self.config.load();
        let (server, original) = match events::parse_backend_event_id(last) {
            Some((server, id)) => (server.to_owned(), id),
            None => {
                let open = self
                    .backends
                    .store()
                    .backends(gateway)
                    .await
                    .map_err(|e| RouteError::Internal(e.to_string()))?
                    .ok_or(RouteError::UnknownSession)?;
                let [(server, _)] = open.as_slice() else {
                    return Ok(None);
                };
                (server.clone(), last)
            }
        };
        let Some(server) = config.server(&server).filter(|s| s.enabled) else {
            return Ok(None);
        };
        let (_, backend) = self.open(gateway, server).await?;
        // Always watched: a resumed stream may carry server requests, task ids and event ids
        // to rewrite whatever the client declared, and resumes are rare.
        let (mut set, remove) = backend_headers(server, &backend, "GET", true);
        set.push(mutation::set(transport::LAST_EVENT_ID, original));
        let metadata = [
            ("method", "GET"),
            ("server", server.name.as_str()),
            ("gateway_session", gateway),
        ];
        req.routed = Some(Routed {
            server: server.name.clone(),
            gateway_session: gateway.to_owned(),
            request_id: None,
            rewrite: None,
        });
        Ok(Some(mutation::request_headers_routed(
            set, remove, &metadata,
        )))
    }

    async fn open(
        &self,
        gateway: &str,
        server: &Server,
    ) -> Result<(Arc<SessionRecord>, Arc<BackendSession>), RouteError> {
        self.backends
            .open_with_record(gateway, &server.name, &server.url)
            .await
            .map_err(|e| match e {
                OpenError::UnknownSession => RouteError::UnknownSession,
                OpenError::Unavailable(e) => RouteError::BackendUnavailable {
                    server: server.name.clone(),
                    reason: e.to_string(),
                },
                OpenError::Store(e) => RouteError::Internal(e.to_string()),
            })
    }

    async fn request_body(&self, req: &mut RequestState, b: &HttpBody) -> ProcessingResponse {
        let body = b.body.as_slice();
        if body.len() > self.max_request_bytes {
            let error = RouteError::TooLarge {
                size: body.len(),
                limit: self.max_request_bytes,
            };
            return mutation::reject(&error, None);
        }
        if body.is_empty() || !req.reads_body {
            return mutation::request_body_unchanged();
        }
        let msg = match Message::parse_with(body, self.json_limits) {
            Ok(msg) => msg,
            Err(e) => {
                let error = RouteError::BadRequest {
                    code: e.code(),
                    message: e.to_string(),
                };
                return mutation::reject(&error, None);
            }
        };
        let config = self.config.load();
        let catalog = self.catalog.load();
        match decide(&config, &catalog, &msg) {
            Decision::Broker => mutation::request_body_unchanged(),
            Decision::Reject(error) => mutation::reject(&error, msg.id_raw()),
            Decision::Backend(target) => match self.route(req, &msg, body, target).await {
                Ok(response) => response,
                Err(error) => mutation::reject(&error, msg.id_raw()),
            },
        }
    }

    async fn route(
        &self,
        req: &mut RequestState,
        msg: &Message<'_>,
        body: &[u8],
        target: Target<'_>,
    ) -> Result<ProcessingResponse, RouteError> {
        let gateway = req.session.as_deref().ok_or(RouteError::MissingSession)?;
        let server = target.server;
        let (record, backend) = self.open(gateway, server).await?;
        let new_body = target.rewrite.then(|| match target.kind {
            Addressed::Response => {
                mcp_gateway_protocol::splice_raw(body, target.range.clone(), &target.original)
            }
            _ => mcp_gateway_protocol::splice_str(body, target.range.clone(), &target.original),
        });
        let length = new_body.as_ref().map_or(body.len(), Vec::len);
        let method = msg.method().unwrap_or("response");
        let rewrite = Rewrite::of(target.kind, method, msg);
        let observe = record.client.may_be_asked() || rewrite.is_some();
        let (mut set, remove) = backend_headers(server, &backend, method, observe);
        set.push(mutation::set("content-length", length.to_string()));
        let addressed = match target.kind {
            Addressed::Tool => {
                set.push(mutation::set("x-mcp-toolname", target.original.as_bytes()));
                "tool"
            }
            Addressed::Prompt => "prompt",
            Addressed::Resource => "resource",
            Addressed::Task => "task",
            Addressed::Response => "request_id",
        };
        let metadata = [
            ("method", method),
            ("server", server.name.as_str()),
            (addressed, target.original.as_ref()),
            // The session id to map back, for the response filter's stream (it runs only on
            // the observed route, x-mcp-observe) and for Envoy's hand-off of a lost backend
            // session (`handoff`); and whether the answer, JSON or SSE, carries ids or URIs
            // to rewrite.
            ("gateway_session", gateway),
            ("rewrite", Rewrite::as_str(rewrite)),
        ];
        // For a response phase on this same stream (one ext_proc filter for both ways).
        req.routed = Some(Routed {
            server: server.name.clone(),
            gateway_session: gateway.to_owned(),
            request_id: msg.id_raw().map(str::to_owned),
            rewrite,
        });
        Ok(mutation::request_body_routed(
            set,
            remove,
            new_body,
            &metadata,
            msg.id_raw(),
        ))
    }

    async fn response_headers(
        &self,
        req: &mut RequestState,
        h: &HttpHeaders,
    ) -> ProcessingResponse {
        let Some(routed) = &req.routed else {
            return mutation::response_headers(Vec::new(), Vec::new());
        };
        let (mut status, mut has_session) = (0_u16, false);
        let (mut event_stream, mut json) = (false, false);
        for (key, value) in headers(h.headers.as_ref()) {
            if key == ":status" {
                status = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default();
            } else if key == SESSION_HEADER {
                has_session = true;
            } else if key == "content-type" {
                let value = value.to_ascii_lowercase();
                event_stream = value.starts_with(b"text/event-stream");
                json = value.starts_with(b"application/json");
            }
        }
        let lost_session = status == 404;
        if lost_session {
            // The backend no longer knows its session (restart or expiry): forget it so the
            // next request opens a new one, and tell the client to retry rather than ending
            // its gateway session.
            self.backends
                .forget(&routed.gateway_session, &routed.server)
                .await;
            let error = RouteError::BackendSessionLost {
                server: routed.server.clone(),
            };
            return mutation::reject(&error, routed.request_id.as_deref());
        }
        if status >= 400 && !json && !event_stream {
            // Not JSON-RPC (e.g. a plain-text 415): the client gets a JSON-RPC error instead.
            let error = RouteError::BackendFailed {
                server: routed.server.clone(),
                status,
            };
            return mutation::reject(&error, routed.request_id.as_deref());
        }
        let set = if has_session {
            vec![mutation::set(
                SESSION_HEADER,
                routed.gateway_session.as_bytes(),
            )]
        } else {
            Vec::new()
        };
        // The response filter runs only for calls of clients that can be asked or whose
        // answers need rewriting: SSE answers may carry server requests, JSON answers only
        // the ids or URIs `rewrite` names.
        let watched = routed.rewrite.is_some() || event_stream;
        if !watched {
            return mutation::response_headers(set, Vec::new());
        }
        let source = Source {
            server: routed.server.clone(),
            prefix: self
                .config
                .load()
                .server(&routed.server)
                .map(|s| s.tool_prefix.clone())
                .unwrap_or_default(),
            read_contents: routed.rewrite == Some(Rewrite::Read),
        };
        req.body = Some(BodyRewriter::new(source, event_stream));
        // The rewrite changes the length (backends send even short SSE answers with one).
        let mut response = mutation::response_headers(set, vec!["content-length".to_owned()]);
        response.mode_override = Some(mutation::stream_response_body());
        response
    }
}

/// The headers (set, removed) of every request the router sends to a backend: its hostname,
/// the routing headers Envoy's backend routes match, the backend's protocol version and
/// session id, and no client credentials. `observe` selects the route with the response
/// filter (see the xds crate).
fn backend_headers(
    server: &Server,
    backend: &BackendSession,
    method: &str,
    observe: bool,
) -> (Vec<HeaderValueOption>, Vec<String>) {
    let mut set = vec![
        mutation::set(":authority", server.hostname.as_bytes()),
        mutation::set("x-mcp-method", method),
        mutation::set(ROUTED_HEADER, server.name.as_bytes()),
        mutation::set(VERSION_HEADER, backend.protocol_version.as_bytes()),
    ];
    if observe {
        set.push(mutation::set(OBSERVE_HEADER, "1"));
    }
    // Client credentials are for the gateway, never passed through to backends.
    let mut remove = vec![transport::AUTHORIZATION.to_owned()];
    match &backend.session_id {
        Some(id) => set.push(mutation::set(SESSION_HEADER, id.as_bytes())),
        None => remove.push(SESSION_HEADER.to_owned()),
    }
    (set, remove)
}

/// (lower-case name, value) pairs; Envoy sends values in `raw_value`, older versions in `value`.
fn headers(map: Option<&HeaderMap>) -> impl Iterator<Item = (&str, &[u8])> {
    map.into_iter().flat_map(|m| m.headers.iter()).map(|h| {
        let value = if h.raw_value.is_empty() {
            h.value.as_bytes()
        } else {
            h.raw_value.as_slice()
        };
        (h.key.as_str(), value)
    })
}

mod lost;

#[cfg(test)]
mod tests;
