//! The per-request state the routing core keeps between a request's phases.

use mcp_gateway_identity::Caller;

use crate::RouteError;
use crate::answer::BodyRewriter;
use crate::authn::Authn;
use crate::metadata::RouteMetadata;

/// One request's state, alive from its headers to the end of its answer.
#[derive(Default)]
pub struct RequestContext {
    /// The virtual server whose endpoint the request came in on (`/v/<name>/mcp`); `None`
    /// on `/mcp`.
    pub(crate) virtual_server: Option<String>,
    /// The gateway session the client named (verified).
    pub(crate) session: Option<String>,
    /// Envoy's `x-request-id`, kept for the audit line (only while auditing).
    pub(crate) request_id: Option<String>,
    /// A POST to the MCP endpoint: the only request whose body is JSON-RPC. Other bodies
    /// (a DELETE's, a GET's) are never parsed nor routed.
    pub(crate) reads_body: bool,
    /// Where the request went, for its response phase.
    pub(crate) routed: Option<RouteMetadata>,
    /// Rewrites the answer of a routed request the core watches.
    pub(crate) body: Option<BodyRewriter>,
    /// What Envoy's `jwt_authn` found, until the headers phase takes it.
    pub(crate) authn: Authn,
    /// The verified caller (auth on).
    pub(crate) caller: Option<Caller>,
    /// A refusal decided in the headers phase and answered with the body's request id.
    pub(crate) denied: Option<RouteError>,
    /// The body's method as a metric label (`method::label`), once the body is parsed.
    pub(crate) method: Option<&'static str>,
    /// Envoy moves the backend session into `Mcp-Session-Id` per upstream request and replays
    /// a call whose backend session was refused (`handoff::UPSTREAM_SESSIONS_METADATA`).
    pub(crate) upstream_sessions: bool,
    /// This request replays a call on this server (its backend session was refused; see
    /// `crate::replay`).
    pub(crate) replay: Option<String>,
    /// The headers a 2026-07-28 request mirrors its body in; kept only for requests without
    /// a session (the only ones that can be 2026-07-28 requests).
    pub(crate) mirrored: Option<Mirrored>,
}

/// Owned copies of [`mcp_gateway_protocol::modern::Mirrored`], from the headers phase to the
/// body phase.
#[derive(Debug, Default)]
pub(crate) struct Mirrored {
    pub(crate) version: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) name: Option<String>,
}

impl Mirrored {
    pub(crate) fn of(head: &mcp_gateway_protocol::transport::Head<'_>) -> Self {
        let m = head.mirrored();
        Self {
            version: m.version.map(str::to_owned),
            method: m.method.map(str::to_owned),
            name: m.name.map(str::to_owned),
        }
    }

    pub(crate) fn view(&self) -> mcp_gateway_protocol::modern::Mirrored<'_> {
        mcp_gateway_protocol::modern::Mirrored {
            version: self.version.as_deref(),
            method: self.method.as_deref(),
            name: self.name.as_deref(),
        }
    }
}

impl RequestContext {
    /// Hands the core what Envoy's `jwt_authn` filter found, before the headers phase. A data
    /// plane that never calls this has every request refused while auth is on.
    pub fn set_authn(&mut self, authn: Authn) {
        self.authn = authn;
    }

    /// Tells the core that Envoy's backend clusters set `Mcp-Session-Id` from the internal
    /// backend session header and replay refused calls (the standalone bootstrap's), so the
    /// client's own session id stays on its request. Before the headers phase.
    pub fn set_upstream_sessions(&mut self, on: bool) {
        self.upstream_sessions = on;
    }

    /// The verified caller, once the headers phase accepted it (auth on).
    pub fn caller(&self) -> Option<&Caller> {
        self.caller.as_ref()
    }

    /// The body's method as a bounded metric label, once the body phase parsed it.
    pub fn method_label(&self) -> Option<&'static str> {
        self.method
    }

    /// The gateway session the client named, once its headers were checked.
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// Where the request went (set by the request phase, or from the metadata a response
    /// filter's own stream carries).
    pub fn routed(&self) -> Option<&RouteMetadata> {
        self.routed.as_ref()
    }

    /// Takes where the request went from its metadata, for a response phase that runs apart
    /// from the request phase (the response filter's own ext_proc stream).
    pub fn set_routed(&mut self, routed: RouteMetadata) {
        self.routed = Some(routed);
    }

    /// The bytes to send for one chunk of a watched answer; `None` when the answer is not
    /// watched (the chunk passes as it is).
    pub fn response_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Option<Vec<u8>> {
        Some(self.body.as_mut()?.chunk(chunk, end_of_stream))
    }
}
