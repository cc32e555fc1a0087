//! The gRPC side: one ext_proc stream per HTTP request, with the state that request needs.
//! The routing core decides; this module only reads Envoy's messages, answers the core's
//! questions about backend sessions from the session store, and writes plans back as
//! ext_proc messages (`mutation`).

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use envoy_types::pb::envoy::config::core::v3::{HeaderMap, Metadata};
use envoy_types::pb::envoy::service::ext_proc::v3::external_processor_server::{
    ExternalProcessor, ExternalProcessorServer,
};
use envoy_types::pb::envoy::service::ext_proc::v3::processing_request::Request;
use envoy_types::pb::envoy::service::ext_proc::v3::processing_response::Response as ProcessingResponseKind;
use envoy_types::pb::envoy::service::ext_proc::v3::{ProcessingRequest, ProcessingResponse};
use envoy_types::pb::google::protobuf::value;
use futures::Stream;
use http::{HeaderName, HeaderValue};
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::{ConfigStore, Server};
use mcp_gateway_credentials::BackendCredentials;
use mcp_gateway_identity::Caller;
use mcp_gateway_protocol::Limits;
use mcp_gateway_protocol::versions;
use mcp_gateway_protocol::{handoff, transport};
use mcp_gateway_routing::held::{self, Held};
use mcp_gateway_routing::{
    Backends, CredentialHeader, FieldValue, METADATA_NAMESPACE, Opened, Plan, Policy,
    RequestContext, RouteMetadata, SessionClient,
};
use mcp_gateway_session::{
    BackendSessions, ClientDeclaration, ClientLimits, OpenError, SessionIds, SessionRecord,
};
use tonic::{Status, Streaming};
use tracing::{Instrument, debug};

use crate::authn::authn;
use crate::mutation::{self, Phase};
use crate::observe;
use crate::{OriginPolicy, RouteError};

/// How long a held session's record lives at most (its idle timeout ends it sooner, and the
/// next request makes it again).
const HELD_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// Room for headers and framing in an ext_proc message beyond the body itself.
const MESSAGE_OVERHEAD: usize = 1 << 20;

/// What the router shares across streams.
pub struct RouterState {
    policy: Policy,
    /// For the metrics' tool labels (the policy holds its own handle).
    catalog: Arc<CatalogStore>,
    pub(crate) sessions: Sessions,
}

/// The session machinery the routing core asks about backend sessions (and the Envoy
/// module, through `module_api`).
pub(crate) struct Sessions {
    ids: SessionIds,
    backends: Arc<BackendSessions>,
    /// For the token client of the config in force.
    config: Arc<ConfigStore>,
    /// What backends are given; `None` until [`Router::with_credentials`] (then every server
    /// configured with credentials is refused rather than reached without them).
    credentials: Option<BackendCredentials>,
}

/// The ext_proc service.
#[derive(Clone)]
pub struct Router(pub(crate) Arc<RouterState>);

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
            policy: Policy::new(config.clone(), catalog.clone(), max_request_bytes, origins),
            catalog,
            sessions: Sessions {
                ids,
                backends,
                config,
                credentials: None,
            },
        }))
    }

    /// The same router with these limits on request bodies (before it is shared).
    pub fn with_json_limits(mut self, limits: Limits) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.0) {
            state.policy.set_json_limits(limits);
        }
        self
    }

    /// The same router sending backends the credentials they are configured with (before it
    /// is shared; share `credentials` with the broker so both use one token cache).
    pub fn with_credentials(mut self, credentials: BackendCredentials) -> Self {
        if let Some(state) = Arc::get_mut(&mut self.0) {
            state.sessions.credentials = Some(credentials);
        }
        self
    }

    /// The tonic service to add to a gRPC server. Its message limit leaves room for a body of
    /// `max_request_bytes` plus headers (tonic's default of 4 MiB would not).
    pub fn into_service(self) -> ExternalProcessorServer<Router> {
        let limit = self
            .0
            .policy
            .max_request_bytes()
            .saturating_add(MESSAGE_OVERHEAD);
        ExternalProcessorServer::new(self).max_decoding_message_size(limit)
    }
}

/// Per-request state, alive for one ext_proc stream.
#[derive(Default)]
struct RequestState {
    ctx: RequestContext,
    /// The span of Envoy's ext_proc call, when traced: parent of the decision's span.
    trace: Option<mcp_gateway_telemetry::Parent>,
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<ProcessingResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ExternalProcessor for Router {
    type ProcessStream = ResponseStream;

    async fn process(
        &self,
        request: tonic::Request<Streaming<ProcessingRequest>>,
    ) -> Result<tonic::Response<Self::ProcessStream>, Status> {
        // Set by the standalone bootstrap's ext_proc filter, whose backend clusters move
        // the backend session upstream and replay refused calls.
        let upstream_sessions = request
            .metadata()
            .get(handoff::UPSTREAM_SESSIONS_METADATA)
            .is_some_and(|v| v.as_bytes() == b"1");
        let phases = Phases::from_metadata(
            request
                .metadata()
                .get(handoff::PHASES_METADATA)
                .map(|v| v.as_bytes()),
        );
        let trace = crate::trace::parent(request.metadata());
        let inbound = request.into_inner();
        mcp_gateway_metrics::global().ext_proc_streams.inc();
        let state = self.0.clone();
        let mut req = RequestState {
            trace,
            ..RequestState::default()
        };
        req.ctx.set_upstream_sessions(upstream_sessions);
        let stream = futures::stream::unfold(
            (inbound, req, state, false),
            move |(mut inbound, mut req, state, done)| async move {
                // The last phase was answered: end the stream (status OK), so that Envoy
                // goes on without it and a replica stopping later fails nothing.
                if done {
                    return None;
                }
                match inbound.message().await {
                    Ok(Some(msg)) => {
                        let seen = Seen::of(&msg);
                        let out = state.handle(&mut req, msg).await;
                        let done = phases.done_after(seen, &out);
                        Some((Ok(out), (inbound, req, state, done)))
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

/// Which phases of a request reach one ext_proc stream, as its filter's gRPC initial
/// metadata says (`handoff::PHASES_METADATA`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phases {
    /// Not said (an older bootstrap or a hand-written one): Envoy ends the stream.
    Unknown,
    Request,
    Response,
    Both,
}

/// What a message was, as far as ending the stream goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    /// The request's last message (its body, or headers without one).
    RequestEnd,
    /// Response headers with a body to follow (which reaches the stream only if the router
    /// asks for it).
    ResponseHeaders,
    /// The response's last message the stream sees.
    ResponseEnd,
    Other,
}

impl Seen {
    fn of(msg: &ProcessingRequest) -> Self {
        match &msg.request {
            Some(Request::RequestHeaders(h)) if h.end_of_stream => Self::RequestEnd,
            Some(Request::RequestBody(b)) if b.end_of_stream => Self::RequestEnd,
            Some(Request::ResponseHeaders(h)) if h.end_of_stream => Self::ResponseEnd,
            Some(Request::ResponseHeaders(_)) => Self::ResponseHeaders,
            Some(Request::ResponseBody(b)) if b.end_of_stream => Self::ResponseEnd,
            _ => Self::Other,
        }
    }
}

impl Phases {
    fn from_metadata(value: Option<&[u8]>) -> Self {
        match value {
            Some(v) if v == handoff::PHASES_REQUEST.as_bytes() => Self::Request,
            Some(v) if v == handoff::PHASES_RESPONSE.as_bytes() => Self::Response,
            Some(v) if v == handoff::PHASES_BOTH.as_bytes() => Self::Both,
            _ => Self::Unknown,
        }
    }

    /// Whether nothing more reaches the stream once a message that was `seen` is answered
    /// with `out`.
    fn done_after(self, seen: Seen, out: &ProcessingResponse) -> bool {
        if self == Self::Unknown {
            return false;
        }
        if matches!(
            out.response,
            Some(ProcessingResponseKind::ImmediateResponse(_))
        ) {
            return true;
        }
        match (self, seen) {
            (Self::Request, Seen::RequestEnd) => true,
            (Self::Response | Self::Both, Seen::ResponseEnd) => true,
            // The body follows only if the router asked for it.
            (Self::Response | Self::Both, Seen::ResponseHeaders) => out.mode_override.is_none(),
            _ => false,
        }
    }
}

impl RouterState {
    async fn handle(&self, req: &mut RequestState, msg: ProcessingRequest) -> ProcessingResponse {
        let (policy, sessions, ctx) = (&self.policy, &self.sessions, &mut req.ctx);
        mcp_gateway_metrics::global().ext_proc_messages.inc();
        match msg.request {
            Some(Request::RequestHeaders(h)) => {
                // Only with auth on is the caller read: a payload Envoy verified for some other
                // filter (e.g. a Gateway's own JWT policy) is not the gateway's business, and
                // turning it into a caller costs a deep copy of every claim.
                if sessions.config.load().auth().is_some() {
                    let authorization = headers(h.headers.as_ref())
                        .find(|(key, _)| *key == transport::AUTHORIZATION)
                        .map(|(_, value)| value);
                    ctx.set_authn(authn(msg.metadata_context.as_ref(), authorization));
                }
                let plan = policy
                    .request_headers(sessions, ctx, headers(h.headers.as_ref()))
                    .await;
                mutation::translate(Phase::RequestHeaders, plan)
            }
            Some(Request::RequestBody(b)) => {
                let started = Instant::now();
                let span = crate::trace::decision(req.trace.take());
                let plan = policy
                    .request_body(sessions, ctx, &b.body)
                    .instrument(span.clone())
                    .await;
                let (config, catalog) = (&sessions.config, &self.catalog);
                observe::request_body(config, catalog, ctx, &plan, started.elapsed());
                crate::trace::record(&span, ctx, &plan);
                mutation::translate(Phase::RequestBody, plan)
            }
            Some(Request::ResponseHeaders(h)) => {
                // With the standalone bootstrap, responses arrive on the response filter's own
                // stream, and what the router decided travels there as the `mcp` metadata it
                // set; with one filter for both (the Kubernetes charts), on this stream.
                if let Some(routed) = routed(msg.metadata_context.as_ref()) {
                    ctx.set_routed(routed);
                }
                let plan = policy
                    .response_headers(sessions, ctx, headers(h.headers.as_ref()))
                    .await;
                mutation::translate(Phase::ResponseHeaders, plan)
            }
            Some(Request::ResponseBody(b)) => {
                mutation::response_body(ctx.response_body(&b.body, b.end_of_stream))
            }
            Some(Request::RequestTrailers(_)) => {
                mutation::translate(Phase::RequestTrailers, Plan::Continue)
            }
            Some(Request::ResponseTrailers(_)) => {
                mutation::translate(Phase::ResponseTrailers, Plan::Continue)
            }
            None => mutation::translate(
                Phase::RequestHeaders,
                Plan::reject(&RouteError::Internal("empty ext_proc message".into()), None),
            ),
        }
    }
}

impl Backends for Sessions {
    fn session_valid(&self, gateway: &str) -> bool {
        self.ids.verify(gateway, None).is_ok()
    }

    fn session_valid_for(&self, gateway: &str, subject: Option<&str>) -> bool {
        self.ids.verify(gateway, subject).is_ok()
    }

    async fn bound_subject_if_current(
        &self,
        gateway: &str,
        server: &str,
        backend: &str,
    ) -> Option<Option<String>> {
        let (record, current) = self.backends.store().lookup(gateway, server).await.ok()??;
        (current?.session_id.as_deref() == Some(backend)).then(|| record.subject.clone())
    }

    async fn credential(
        &self,
        server: &Server,
        caller: Option<&Caller>,
    ) -> Result<Option<CredentialHeader>, RouteError> {
        if server.credentials.is_none() {
            return Ok(None);
        }
        let unavailable = |reason: String| RouteError::CredentialUnavailable {
            server: server.name.clone(),
            reason,
        };
        let Some(credentials) = &self.credentials else {
            return Err(unavailable(format!(
                "MCP server '{}' needs backend credentials, and the router has none",
                server.name
            )));
        };
        let config = self.config.load();
        let credential = credentials
            .for_caller(server, config.token_client(), caller)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        Ok(credential.map(|c| CredentialHeader::new(c.name().as_str(), c.value().as_bytes())))
    }

    async fn open(&self, gateway: &str, server: &Server) -> Result<Opened, RouteError> {
        self.open_with(gateway, server, None).await
    }

    async fn open_with(
        &self,
        gateway: &str,
        server: &Server,
        credential: Option<&CredentialHeader>,
    ) -> Result<Opened, RouteError> {
        // The backend's initialize, if the session is opened now, carries the credential too.
        let keyed;
        let upstream = match credential {
            None => self.backends.upstream(),
            Some(credential) => {
                let header = HeaderName::from_bytes(credential.name().as_bytes())
                    .ok()
                    .zip(HeaderValue::from_bytes(credential.value()).ok())
                    .ok_or_else(|| RouteError::CredentialUnavailable {
                        server: server.name.clone(),
                        reason: format!(
                            "the credential of MCP server '{}' is not a valid header",
                            server.name
                        ),
                    })?;
                keyed = self.backends.upstream().with_credential(Some(header));
                &keyed
            }
        };
        let (record, backend) = self
            .backends
            .open_with_record(gateway, &server.name, &server.url, upstream)
            .await
            .map_err(|e| match e {
                OpenError::UnknownSession => RouteError::UnknownSession,
                OpenError::Unavailable(e) => RouteError::BackendUnavailable {
                    server: server.name.clone(),
                    reason: e.to_string(),
                },
                OpenError::Store(e) => RouteError::StoreUnavailable(e.to_string()),
            })?;
        Ok(Opened {
            session_id: backend.session_id.clone(),
            protocol_version: backend.protocol_version.clone(),
            client_may_be_asked: record.client.may_be_asked(),
        })
    }

    async fn open_held(
        &self,
        held: &Held,
        server: &Server,
        credential: Option<&CredentialHeader>,
    ) -> Result<Opened, RouteError> {
        match self.open_with(&held.key, server, credential).await {
            Err(RouteError::UnknownSession) => {}
            opened => return opened,
        }
        // Not held yet (or swept after idling): the record the backend session is opened
        // with. The backend speaks 2025: the newest of those, and the class's capabilities.
        // The gateway's own `clientInfo` (backends require one), not a client's: the session
        // may serve every caller of its key (all anonymous clients of the class with auth
        // off), so none of them picks what the backend is told.
        let info = serde_json::value::RawValue::from_string(format!(
            r#"{{"name":"mcp-gateway","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        ));
        let client =
            serde_json::value::RawValue::from_string(held.class.capabilities().to_string())
                .ok()
                .zip(info.ok())
                .and_then(|(caps, info)| {
                    ClientDeclaration::new(Some(&caps), Some(&info), &ClientLimits::default()).ok()
                })
                .ok_or_else(|| RouteError::Internal("cannot declare a held session".to_owned()))?;
        let subject = held::subject_of(&held.key);
        self.backends
            .hold(&held.key, || SessionRecord {
                protocol_version: versions::SUPPORTED[0].to_owned(),
                client,
                subject,
                expires: SystemTime::now() + HELD_LIFETIME,
            })
            .await
            .map_err(|e| RouteError::StoreUnavailable(e.to_string()))?;
        self.open_with(&held.key, server, credential).await
    }

    async fn session_client(
        &self,
        gateway: &str,
        server: &Server,
    ) -> Result<SessionClient, RouteError> {
        // The same look-up as a routed call's (liveness and use recorded); no backend session.
        let (record, _) = self
            .backends
            .store()
            .lookup(gateway, &server.name)
            .await
            .map_err(|e| RouteError::StoreUnavailable(e.to_string()))?
            .ok_or(RouteError::UnknownSession)?;
        let info = record.client.info().get();
        Ok(SessionClient {
            capabilities: record.client.capabilities().get().to_owned(),
            info: (info.starts_with('{') && info != "{}").then(|| info.to_owned()),
            may_be_asked: record.client.may_be_asked(),
        })
    }

    async fn open_servers(&self, gateway: &str) -> Result<Vec<String>, RouteError> {
        let open = self
            .backends
            .store()
            .backends(gateway)
            .await
            .map_err(|e| RouteError::StoreUnavailable(e.to_string()))?
            .ok_or(RouteError::UnknownSession)?;
        Ok(open.into_iter().map(|(server, _)| server).collect())
    }

    async fn forget(&self, gateway: &str, server: &str) {
        self.backends.forget(gateway, server).await;
    }

    async fn forget_if_current(&self, gateway: &str, server: &str, backend: &str) {
        let current = self.backends.store().lookup(gateway, server).await;
        if let Ok(Some((_, Some(current)))) = current
            && current.session_id.as_deref() == Some(backend)
        {
            self.backends.forget(gateway, server).await;
        }
    }
}

/// What the request phase decided, from the `mcp` metadata Envoy forwards to the response
/// filter's stream.
fn routed(meta: Option<&Metadata>) -> Option<RouteMetadata> {
    let fields = meta?.filter_metadata.get(METADATA_NAMESPACE)?;
    RouteMetadata::from_fields(|key| match fields.fields.get(key)?.kind.as_ref()? {
        value::Kind::StringValue(s) => Some(FieldValue::Str(s.as_str().into())),
        value::Kind::NumberValue(n) => Some(FieldValue::Number(*n)),
        _ => None,
    })
}

/// (lower-case name, value) pairs; Envoy sends values in `raw_value`, older versions in `value`.
fn headers(map: Option<&HeaderMap>) -> impl Iterator<Item = (&str, &[u8])> + Clone {
    map.into_iter().flat_map(|m| m.headers.iter()).map(|h| {
        let value = if h.raw_value.is_empty() {
            h.value.as_bytes()
        } else {
            h.raw_value.as_slice()
        };
        (h.key.as_str(), value)
    })
}

#[cfg(test)]
mod tests;
