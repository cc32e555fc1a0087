//! The module's filter: each phase runs the routing core (`mcp-gateway-routing`) and applies
//! its plan through Envoy's callbacks. No routing logic lives here.
//!
//! A phase whose core asks something only the sidecar knows (a session's validity, its
//! backend session on a server, the config and catalog before the first copy) stops the
//! request, asks the sidecar with an Envoy HTTP callout, and runs again from the start when
//! the answer arrives, which then comes from this request's [`Known`] answers or the shared
//! cache. The request resumes from the callout's completion, on its own worker.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mcp_gateway_config::Config;
use mcp_gateway_identity::{BearerToken, Caller, PAYLOAD_HEADER};
use mcp_gateway_protocol::codes;
use mcp_gateway_protocol::origin::OriginPolicy;
use mcp_gateway_protocol::transport;
use mcp_gateway_routing::{
    Authn, FieldValue, METADATA_NAMESPACE, Plan, Policy, Reject, RequestContext, RouteError,
};
use serde::Deserialize;

use crate::abi;
use crate::envoy::Host;
use crate::error::ModuleError;
use crate::sidecar::{Ask, Known, Lookup, Settings, Sidecar};

/// Largest request body the module reads (the router's default).
const MAX_REQUEST_BYTES: usize = 4 << 20;

/// The filter config with a sidecar (JSON): `{"sidecar": {"cluster": "..."}}`.
#[derive(Deserialize)]
struct Raw {
    sidecar: RawSidecar,
    #[serde(default)]
    max_request_bytes: Option<usize>,
}

#[derive(Deserialize)]
struct RawSidecar {
    cluster: String,
    #[serde(default = "default_refresh_ms")]
    refresh_ms: u64,
    #[serde(default = "default_cache_ttl_ms")]
    cache_ttl_ms: u64,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

fn default_refresh_ms() -> u64 {
    1_000
}

fn default_cache_ttl_ms() -> u64 {
    10_000
}

fn default_timeout_ms() -> u64 {
    60_000
}

/// One filter config (one `filter_config` in Envoy's bootstrap), shared by every worker.
pub(crate) struct FilterConfig {
    policy: Policy,
    sidecar: Sidecar,
}

impl FilterConfig {
    /// A config from the filter's `filter_config`: JSON naming the sidecar's cluster (the
    /// mode `envoy-config --mode module` renders), or else a fixed gateway config (YAML or
    /// JSON; empty means no servers) with no sessions.
    pub(crate) fn new(text: &[u8]) -> Result<Self, String> {
        let (sidecar, max_request_bytes) = match serde_json::from_slice::<Raw>(text) {
            Ok(raw) => {
                let settings = Settings {
                    cluster: raw.sidecar.cluster,
                    refresh: Duration::from_millis(raw.sidecar.refresh_ms),
                    ttl: Duration::from_millis(raw.sidecar.cache_ttl_ms),
                    timeout: Duration::from_millis(raw.sidecar.timeout_ms),
                };
                let limit = raw.max_request_bytes.unwrap_or(MAX_REQUEST_BYTES);
                (Sidecar::new(Some(settings), Config::empty()), limit)
            }
            Err(_) => {
                let text = std::str::from_utf8(text).map_err(|e| e.to_string())?;
                let text = if text.trim().is_empty() {
                    "servers: []"
                } else {
                    text
                };
                let config = Config::from_yaml(text).map_err(|e| e.to_string())?;
                (Sidecar::new(None, config), MAX_REQUEST_BYTES)
            }
        };
        let policy = Policy::new(
            sidecar.config.clone(),
            sidecar.catalog.clone(),
            max_request_bytes,
            OriginPolicy::default(),
        );
        Ok(Self { policy, sidecar })
    }
}

/// What `jwt_authn` verified, from the payload it forwards in a header (the module reads no
/// dynamic metadata), with the request's bearer token as the caller's. Without the header no
/// token was verified; why one failed is not forwarded, so the refusal names no reason (and
/// an issuer whose keys could not be fetched is a 401 here, not the router's 503).
fn authn(headers: &[(String, Vec<u8>)]) -> Authn {
    let find = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_slice())
    };
    let Some(payload) = find(PAYLOAD_HEADER) else {
        return Authn::Unverified { failure: None };
    };
    match Caller::from_payload_header(payload) {
        Ok(caller) => {
            let token = find(transport::AUTHORIZATION)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(BearerToken::from_authorization);
            Authn::Verified(match token {
                Some(token) => caller.with_token(token),
                None => caller,
            })
        }
        Err(error) => Authn::Unverified {
            failure: Some(error.to_string()),
        },
    }
}

/// Which phase waits for the sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    RequestHeaders,
    RequestBody,
    ResponseHeaders,
}

/// A phase stopped on a callout.
struct Waiting {
    phase: Phase,
    ask: Ask,
    callout: u64,
}

/// What a phase came to.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Go on.
    Go,
    /// Answered (a local reply was sent).
    Answered,
    /// Waiting for the sidecar.
    Wait,
}

/// One request's filter.
pub(crate) struct Filter {
    config: Arc<FilterConfig>,
    ctx: RequestContext,
    known: Known,
    waiting: Option<Waiting>,
    /// The request has no body (its headers ended the stream).
    headers_only: bool,
    /// The request body ended while a phase waited.
    body_ended: bool,
    /// The whole request body, once read.
    body: Vec<u8>,
    /// The response body goes through the core.
    watching: bool,
    /// The copy of the sidecar's state was refreshed for this request's refusal.
    refreshed: bool,
}

impl Filter {
    pub(crate) fn new(config: Arc<FilterConfig>) -> Self {
        Self {
            config,
            ctx: RequestContext::default(),
            known: Known::default(),
            waiting: None,
            headers_only: false,
            body_ended: false,
            body: Vec::new(),
            watching: false,
            refreshed: false,
        }
    }

    /// Request headers: the core's checks and header plan. A request whose body the core
    /// reads is held until that body has arrived whole.
    pub(crate) fn request_headers(&mut self, stream: &impl Host, end_of_stream: bool) -> u32 {
        self.headers_only = end_of_stream;
        match self.run_request_headers(stream) {
            Step::Go if end_of_stream => abi::CONTINUE,
            _ => abi::STOP,
        }
    }

    /// Request body: buffered to its end, then the core's decision and plan.
    pub(crate) fn request_body(&mut self, stream: &impl Host, end_of_stream: bool) -> u32 {
        if !end_of_stream {
            return abi::STOP;
        }
        if self.waiting.is_some() {
            self.body_ended = true;
            return abi::STOP;
        }
        self.body = stream.request_body();
        match self.run_request_body(stream) {
            Step::Go => abi::CONTINUE,
            Step::Answered | Step::Wait => abi::STOP,
        }
    }

    /// Response headers of a routed request: the core's response plan.
    pub(crate) fn response_headers(&mut self, stream: &impl Host) -> u32 {
        if self.ctx.routed().is_none() {
            return abi::CONTINUE;
        }
        match self.run_response_headers(stream) {
            Step::Go => abi::CONTINUE,
            Step::Answered | Step::Wait => abi::STOP,
        }
    }

    /// A response body chunk: rewritten by the core when it watches the body.
    pub(crate) fn response_body(&mut self, stream: &impl Host, end_of_stream: bool) -> u32 {
        if self.waiting.is_some() {
            return abi::STOP;
        }
        if self.watching {
            let chunk = stream.response_chunk();
            if let Some(out) = self.ctx.response_body(&chunk, end_of_stream) {
                stream.replace_response_chunk(&out);
            }
        }
        abi::CONTINUE
    }

    /// The sidecar answered (or failed to answer, `None`) the callout `id`: the waiting
    /// phase runs again, and the request or response resumes when it goes on.
    pub(crate) fn callout_done(&mut self, stream: &impl Host, id: u64, answer: Option<&[u8]>) {
        let Some(waiting) = self.waiting.take_if(|w| w.callout == id) else {
            return;
        };
        let sidecar = &self.config.sidecar;
        if let Err(error) = sidecar.record(&mut self.known, waiting.ask, answer) {
            send(stream, &error.reject());
            return;
        }
        match waiting.phase {
            Phase::RequestHeaders => {
                if self.run_request_headers(stream) != Step::Go {
                    return;
                }
                if self.headers_only {
                    stream.continue_decoding();
                } else if self.body_ended {
                    self.body = stream.buffered_request_body();
                    if self.run_request_body(stream) == Step::Go {
                        stream.continue_decoding();
                    }
                }
                // Otherwise the body is still arriving; its last chunk goes on.
            }
            Phase::RequestBody => {
                if self.run_request_body(stream) == Step::Go {
                    stream.continue_decoding();
                }
            }
            Phase::ResponseHeaders => {
                if self.run_response_headers(stream) == Step::Go {
                    stream.continue_encoding();
                }
            }
        }
    }

    fn run_request_headers(&mut self, stream: &impl Host) -> Step {
        if let Some(ask) = self.config.sidecar.state_due() {
            return self.ask(stream, Phase::RequestHeaders, ask);
        }
        // From the start every time: a phase that waited left nothing behind.
        self.ctx = RequestContext::default();
        let headers = stream.request_headers();
        // Only with auth on is the caller read, as in the ext_proc router.
        if self.config.sidecar.config.load().auth().is_some() {
            self.ctx.set_authn(authn(&headers));
        }
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        let lookup = Lookup::new(&self.config.sidecar, &self.known);
        let plan = ready(
            self.config
                .policy
                .request_headers(&lookup, &mut self.ctx, pairs),
        );
        if let Some(ask) = lookup.into_ask() {
            return self.ask(stream, Phase::RequestHeaders, ask);
        }
        let is_delete = headers
            .iter()
            .any(|(k, v)| k == ":method" && v.as_slice() == b"DELETE");
        if is_delete
            && !matches!(plan, Plan::Reject(_))
            && let Some(session) = self.ctx.session()
        {
            // The broker ends the session; what this Envoy cached about it goes now.
            self.config.sidecar.evict(session);
        }
        apply(stream, plan)
    }

    fn run_request_body(&mut self, stream: &impl Host) -> Step {
        let lookup = Lookup::new(&self.config.sidecar, &self.known);
        let plan = ready(
            self.config
                .policy
                .request_body(&lookup, &mut self.ctx, &self.body),
        );
        if let Some(ask) = lookup.into_ask() {
            return self.ask(stream, Phase::RequestBody, ask);
        }
        // A name the copy does not know (-32602) may be one the sidecar's catalog learned
        // since the last copy (a client that just listed it): once per request, the copy is
        // refreshed and the body decided again.
        if let Plan::Reject(reject) = &plan
            && reject.code == codes::INVALID_PARAMS
            && !self.refreshed
            && let Some(ask) = self.config.sidecar.refresh_now()
        {
            self.refreshed = true;
            return self.ask(stream, Phase::RequestBody, ask);
        }
        apply(stream, plan)
    }

    fn run_response_headers(&mut self, stream: &impl Host) -> Step {
        let headers = stream.response_headers();
        let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_slice()));
        let lookup = Lookup::new(&self.config.sidecar, &self.known);
        let plan = ready(
            self.config
                .policy
                .response_headers(&lookup, &mut self.ctx, pairs),
        );
        if let Some(ask) = lookup.into_ask() {
            return self.ask(stream, Phase::ResponseHeaders, ask);
        }
        match plan {
            Plan::Reject(reject) => {
                send(stream, &reject);
                Step::Answered
            }
            Plan::Respond(respond) => {
                for name in &respond.remove {
                    stream.remove_response_header(name);
                }
                for (name, value) in &respond.set {
                    stream.set_response_header(name, value);
                }
                self.watching = respond.watch_body;
                Step::Go
            }
            Plan::Continue | Plan::Route(_) => Step::Go,
        }
    }

    /// Asks the sidecar `ask` for `phase`; answers 503 when the callout cannot start.
    fn ask(&mut self, stream: &impl Host, phase: Phase, ask: Ask) -> Step {
        let sidecar = &self.config.sidecar;
        let Some(settings) = sidecar.settings() else {
            send(stream, &ModuleError::NoSidecar.reject());
            return Step::Answered;
        };
        let (method, path, body) = sidecar.request(&ask);
        let headers = [
            (":method", method),
            (":path", path.as_str()),
            ("host", "mcp-gateway-sidecar"),
            ("content-type", "application/json"),
        ];
        let timeout = u64::try_from(settings.timeout.as_millis()).unwrap_or(u64::MAX);
        match stream.callout(&settings.cluster, &headers, &body, timeout) {
            Ok(callout) => {
                self.waiting = Some(Waiting {
                    phase,
                    ask,
                    callout,
                });
                Step::Wait
            }
            Err(_) => {
                if ask == Ask::State {
                    sidecar.refresh_abandoned();
                    if sidecar.loaded() {
                        // Only stale: this request goes on with the copy there is.
                        return self.rerun(stream, phase);
                    }
                }
                send(stream, &ModuleError::SidecarUnavailable.reject());
                Step::Answered
            }
        }
    }

    fn rerun(&mut self, stream: &impl Host, phase: Phase) -> Step {
        match phase {
            Phase::RequestHeaders => self.run_request_headers(stream),
            Phase::RequestBody => self.run_request_body(stream),
            Phase::ResponseHeaders => self.run_response_headers(stream),
        }
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        // A request that went away while refreshing the copy lets another one refresh it.
        if let Some(Waiting {
            ask: Ask::State, ..
        }) = self.waiting
        {
            self.config.sidecar.refresh_abandoned();
        }
    }
}

/// Answers the client directly.
fn send(stream: &impl Host, reject: &Reject) {
    let headers: Vec<(&str, &str)> = reject
        .headers
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    stream.send_response(reject.status, &headers, &reject.body());
}

/// Applies a request-phase plan.
fn apply(stream: &impl Host, plan: Plan) -> Step {
    match plan {
        Plan::Continue | Plan::Respond(_) => Step::Go,
        Plan::Reject(reject) => {
            send(stream, &reject);
            Step::Answered
        }
        Plan::Route(route) => {
            for name in &route.remove {
                stream.remove_request_header(name);
            }
            for (name, value) in &route.set {
                stream.set_request_header(name, value);
            }
            if let Some(credential) = &route.credential {
                stream.set_request_header(credential.name(), credential.value());
            }
            if let Some(body) = &route.body {
                stream.replace_request_body(body);
            }
            if let Some(metadata) = &route.metadata {
                for (key, value) in metadata.to_fields() {
                    match value {
                        FieldValue::Str(s) => {
                            stream.set_metadata_string(METADATA_NAMESPACE, key, &s)
                        }
                        FieldValue::Number(n) => {
                            stream.set_metadata_number(METADATA_NAMESPACE, key, n)
                        }
                    }
                }
            }
            if route.clear_route {
                stream.clear_route_cache();
            }
            Step::Go
        }
    }
}

/// The plan of a phase: every step of the module's `Backends` is ready at once (an answer it
/// lacks is noted, and the phase runs again once the sidecar gave it).
fn ready(phase: impl Future<Output = Plan>) -> Plan {
    let mut phase = pin!(phase);
    match phase.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(plan) => plan,
        Poll::Pending => Plan::reject(
            &RouteError::Internal("a routing step would wait, which the module cannot".into()),
            None,
        ),
    }
}
