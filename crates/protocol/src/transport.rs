//! The streamable-HTTP transport rules, applied to a request's head (method, path and the
//! headers the gateway acts on) before any body is read. The router (over Envoy's header
//! pairs) and the broker (over an `http::HeaderMap`) both build a [`Head`] and call
//! [`check`], so the two can never drift apart; the header names are defined here once.
//!
//! - MCP is served on [`MCP_PATH`] and on each virtual server's `/v/<name>/mcp` (any query
//!   string is fine; whether `<name>` is configured is the caller's check); the OAuth
//!   protected-resource metadata on [`OAUTH_METADATA_PATH`] and below, and the liveness
//!   probe [`HEALTH_PATH`], and the read-only web console on [`CONSOLE_PATH`] and below
//!   (its API on [`CONSOLE_API_PATH`]), with GET; anything else is 404.
//! - On the MCP path only POST (JSON-RPC), GET (the session's stream) and DELETE (the end of
//!   the session) are allowed; anything else is 405 with an `Allow` header.
//! - A header the gateway acts on appears at most once, with one value: proxies and
//!   servers disagree on which copy of a repeated header counts (one may check the last,
//!   another act on the first).

use crate::error::TransportError;
use crate::origin::OriginPolicy;
use crate::{modern, versions};

/// The session header (`Mcp-Session-Id`).
pub const SESSION_ID: &str = "mcp-session-id";
/// The negotiated protocol version (`MCP-Protocol-Version`).
pub const PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// A browser page's origin, checked against the [`OriginPolicy`].
pub const ORIGIN: &str = "origin";
/// The client's credentials: for the gateway, never passed to a backend.
pub const AUTHORIZATION: &str = "authorization";
/// The last event a client saw on a stream it resumes.
pub const LAST_EVENT_ID: &str = "last-event-id";
/// Prefix of the headers only the gateway sets; clients' copies are removed.
pub const INTERNAL_PREFIX: &str = "x-mcp-";
/// The server the router chose (an internal header): backend routes match only with it.
pub const ROUTED_SERVER: &str = "x-mcp-servername";
/// Set (to `1`) by the router on a routed request whose response it must see (internal).
pub const OBSERVE: &str = "x-mcp-observe";
/// The JSON-RPC method of a routed request (internal; for Envoy's RBAC, limits and logs).
pub const ROUTED_METHOD: &str = "x-mcp-method";
/// The tool a routed `tools/call` calls, by its name at the server (internal).
pub const ROUTED_TOOL: &str = "x-mcp-toolname";
/// The verified caller of a routed request, issuer and subject (internal; the per-caller
/// rate limit's key).
pub const ROUTED_CALLER: &str = "x-mcp-caller-key";
/// The server whose backend the broker calls for a 2026-07-28 client that may be asked for
/// input (internal; set by the router instead of routing the request to the backend).
pub const MRTR_SERVER: &str = "x-mcp-mrtr-server";
/// The held backend session such a call runs on (internal; with [`MRTR_SERVER`]).
pub const MRTR_HELD: &str = "x-mcp-mrtr-held";
/// Set (to `1`) by a broker replica that forwards a retry to the replica holding its call
/// (internal; never forwarded again).
pub const MRTR_FORWARDED: &str = "x-mcp-mrtr-forwarded";
/// The server a 2025 client's request is for when the router hands it to the broker to carry
/// (internal): a backend that speaks only MCP 2026-07-28 may answer it `input_required`,
/// which the broker turns into server requests on the client's stream (broker
/// `legacy_client`).
pub const RELAYED_SERVER: &str = "x-mcp-relay-server";
/// Set (to `1`) with [`RELAYED_SERVER`] on a `resources/read` by an exposed URI: the answer's
/// contents get the exposed URIs back (internal).
pub const RELAYED_READ: &str = "x-mcp-relay-read";
/// The id Envoy gives each request (and logs in its access log); audit lines carry it.
pub const REQUEST_ID: &str = "x-request-id";
/// The response header listing the methods a path allows.
pub const ALLOW: &str = "allow";
/// The response header of a 401/403 naming how to authenticate (RFC 6750, RFC 9728).
pub const WWW_AUTHENTICATE: &str = "www-authenticate";
/// The path MCP is served on.
pub const MCP_PATH: &str = "/mcp";
/// Virtual servers are served on `/v/<name>/mcp`.
pub const VIRTUAL_PATH_PREFIX: &str = "/v/";
/// The OAuth protected-resource metadata (RFC 9728); also served with a resource path
/// appended (`/.well-known/oauth-protected-resource/mcp`).
pub const OAUTH_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";
/// The methods of [`MCP_PATH`], as sent in `Allow`.
pub const MCP_METHODS: &str = "GET, POST, DELETE";
/// The broker's liveness probe, also reachable through Envoy (it says only "ok").
pub const HEALTH_PATH: &str = "/healthz";
/// The read-only web console's page and script, served by the broker. They hold no data:
/// public, like the OAuth metadata.
pub const CONSOLE_PATH: &str = "/console";
/// The console's JSON API, which the page polls: behind the same authentication as
/// [`MCP_PATH`] when auth is on.
pub const CONSOLE_API_PATH: &str = "/console/api";
/// The methods of [`OAUTH_METADATA_PATH`], [`HEALTH_PATH`] and [`CONSOLE_PATH`], as sent in
/// `Allow`.
pub const PUBLIC_METHODS: &str = "GET";

/// The headers the gateway acts on; each may appear once.
const SINGLE: [&str; 7] = [
    SESSION_ID,
    PROTOCOL_VERSION,
    ORIGIN,
    AUTHORIZATION,
    LAST_EVENT_ID,
    modern::METHOD_HEADER,
    modern::NAME_HEADER,
];

/// Of [`SINGLE`], those whose valid values never hold a comma, so a comma means two values
/// joined by a proxy: Envoy passes repeated `Mcp-Session-Id`, `MCP-Protocol-Version` and
/// `Last-Event-ID` on as separate headers but joins repeated `Origin` and `Authorization`
/// into one comma-separated value (seen through Envoy in e2e/tests/transport.rs; the joined
/// `http://localhost:1,http://evil` would even pass the loopback origin policy).
/// Credentials of the schemes MCP uses (Bearer, Basic) are token68, without commas. Event
/// ids are opaque and may hold one.
/// (`Mcp-Name` may hold one: a resource URI or a tool name.)
const NO_COMMA: [&str; 5] = [
    SESSION_ID,
    PROTOCOL_VERSION,
    ORIGIN,
    AUTHORIZATION,
    modern::METHOD_HEADER,
];

/// The HTTP methods of the MCP endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One JSON-RPC message in the body.
    Post,
    /// Opens (or resumes) the session's stream; a body is ignored.
    Get,
    /// Ends the session; a body is ignored.
    Delete,
}

/// What a request that passed [`check`] addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The MCP endpoint, with its method.
    Mcp(Method),
    /// The OAuth protected-resource metadata (public: no MCP header rules apply).
    OAuthMetadata,
    /// The liveness probe (public too).
    Health,
    /// The web console's page or script (public: no data).
    Console,
    /// The web console's JSON API (authenticated like MCP when auth is on).
    ConsoleApi,
}

/// The parts of a request's head the transport rules read, borrowed from the request.
#[derive(Debug, Clone, Default)]
pub struct Head<'a> {
    method: &'a [u8],
    path: &'a [u8],
    /// `:authority` (HTTP/2, Envoy's ext_proc) or `host` (HTTP/1.1).
    authority: &'a [u8],
    values: [Option<&'a [u8]>; SINGLE.len()],
    repeated: Option<&'static str>,
}

impl<'a> Head<'a> {
    /// A head from (lower-case name, value) pairs, pseudo-headers `:method` and `:path`
    /// included (Envoy's ext_proc headers).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Self {
        let mut head = Self::default();
        for (name, value) in pairs {
            head.push(name, value);
        }
        head
    }

    /// Adds one header (lower-case name); `:method` and `:path` set those.
    pub fn push(&mut self, name: &str, value: &'a [u8]) {
        match name {
            ":method" => self.method = value,
            ":path" => self.path = value,
            ":authority" => self.authority = value,
            "host" if self.authority.is_empty() => self.authority = value,
            _ => {
                let Some(at) = SINGLE.iter().position(|single| *single == name) else {
                    return;
                };
                let Some(slot) = self.values.get_mut(at) else {
                    return;
                };
                if slot.replace(value).is_some() {
                    self.repeated.get_or_insert(SINGLE[at]);
                }
            }
        }
    }

    /// Sets the method (for callers whose headers do not carry `:method`).
    pub fn with_method(mut self, method: &'a str) -> Self {
        self.method = method.as_bytes();
        self
    }

    /// Sets the path, query string allowed (for callers whose headers do not carry `:path`).
    pub fn with_path(mut self, path: &'a str) -> Self {
        self.path = path.as_bytes();
        self
    }

    /// The virtual server the path names (`/v/<name>/mcp`); `None` for `/mcp` and others.
    pub fn virtual_server(&self) -> Option<&'a str> {
        virtual_server_name(std::str::from_utf8(self.path).ok()?)
    }

    /// The host the request was sent to (`:authority`, else `Host`), when sent as text.
    pub fn authority(&self) -> Option<&'a str> {
        std::str::from_utf8(self.authority)
            .ok()
            .filter(|a| !a.is_empty())
    }

    /// Whether the request is a POST (whose body carries a JSON-RPC id).
    pub fn is_post(&self) -> bool {
        self.method == b"POST"
    }

    /// `Mcp-Session-Id`, when sent as text.
    pub fn session_id(&self) -> Option<&'a str> {
        self.text(SESSION_ID)
    }

    /// `Last-Event-ID`, when sent as text.
    pub fn last_event_id(&self) -> Option<&'a str> {
        self.text(LAST_EVENT_ID)
    }

    /// `MCP-Protocol-Version`, when sent as text.
    pub fn protocol_version(&self) -> Option<&'a str> {
        self.text(PROTOCOL_VERSION)
    }

    /// Whether `MCP-Protocol-Version` names a 2026-era version: a request without session
    /// whose body must carry its envelope ([`modern::check`]).
    pub fn is_modern(&self) -> bool {
        self.protocol_version().is_some_and(versions::is_modern)
    }

    /// The headers a 2026-07-28 request mirrors its body in, for [`modern::check`].
    pub fn mirrored(&self) -> modern::Mirrored<'a> {
        modern::Mirrored {
            version: self.protocol_version(),
            method: self.text(modern::METHOD_HEADER),
            name: self.text(modern::NAME_HEADER),
        }
    }

    /// `Authorization`, when sent (whatever its scheme).
    pub fn authorization(&self) -> Option<&'a [u8]> {
        self.value(AUTHORIZATION)
    }

    fn value(&self, name: &str) -> Option<&'a [u8]> {
        let at = SINGLE.iter().position(|single| *single == name)?;
        self.values.get(at).copied().flatten()
    }

    fn text(&self, name: &str) -> Option<&'a str> {
        std::str::from_utf8(self.value(name)?).ok()
    }
}

/// The transport rules, in order: the path (404), the method (405), headers the gateway
/// acts on sent more than once or not as text (400), the `Origin` (403; also for the
/// console API), the protocol version (400). Session ids are verified by the caller, which holds the key.
pub fn check(head: &Head<'_>, origins: &OriginPolicy) -> Result<Endpoint, TransportError> {
    let path = head.path.split(|b| *b == b'?').next().unwrap_or_default();
    let method = head.method;
    let get_only = if path == HEALTH_PATH.as_bytes() {
        Some(Endpoint::Health)
    } else if under(path, OAUTH_METADATA_PATH) {
        Some(Endpoint::OAuthMetadata)
    } else if under(path, CONSOLE_API_PATH) {
        Some(Endpoint::ConsoleApi)
    } else if under(path, CONSOLE_PATH) {
        Some(Endpoint::Console)
    } else {
        None
    };
    if let Some(endpoint) = get_only {
        if method != b"GET" {
            return Err(not_allowed(method, PUBLIC_METHODS));
        }
        // The console's data is refused to a page of another origin as `/mcp` is (a
        // DNS-rebinding page reaching a gateway on localhost with auth off).
        if endpoint == Endpoint::ConsoleApi
            && let Some(origin) = head.text(ORIGIN).filter(|o| !origins.allows(o))
        {
            return Err(TransportError::ForbiddenOrigin(shown(origin.as_bytes())));
        }
        return Ok(endpoint);
    }
    let virtual_path = std::str::from_utf8(path)
        .ok()
        .and_then(virtual_server_name)
        .is_some();
    if path != MCP_PATH.as_bytes() && !virtual_path {
        return Err(TransportError::NotFound(shown(head.path)));
    }
    let method = match method {
        b"POST" => Method::Post,
        b"GET" => Method::Get,
        b"DELETE" => Method::Delete,
        _ => return Err(not_allowed(method, MCP_METHODS)),
    };
    if let Some(name) = head.repeated {
        return Err(TransportError::Repeated(name));
    }
    for (name, value) in SINGLE.iter().zip(head.values) {
        let Some(value) = value else { continue };
        if std::str::from_utf8(value).is_err() {
            return Err(TransportError::NotText(name));
        }
        if NO_COMMA.contains(name) && value.contains(&b',') {
            return Err(TransportError::Repeated(name));
        }
    }
    if let Some(origin) = head.text(ORIGIN).filter(|o| !origins.allows(o)) {
        return Err(TransportError::ForbiddenOrigin(shown(origin.as_bytes())));
    }
    if let Some(version) = head
        .text(PROTOCOL_VERSION)
        .filter(|v| !versions::is_known(v))
    {
        return Err(TransportError::UnsupportedVersion(shown(
            version.as_bytes(),
        )));
    }
    Ok(Endpoint::Mcp(method))
}

/// The virtual server name of a request path `/v/<name>/mcp` (a query string allowed):
/// one non-empty segment; `None` for every other path. Not checked against the config here.
pub fn virtual_server_name(path: &str) -> Option<&str> {
    let path = path.split('?').next().unwrap_or_default();
    let name = path
        .strip_prefix(VIRTUAL_PATH_PREFIX)?
        .strip_suffix(MCP_PATH)?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// `path` is `base` or below it (`base/...`).
fn under(path: &[u8], base: &str) -> bool {
    path.strip_prefix(base.as_bytes())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
}

fn not_allowed(method: &[u8], allow: &'static str) -> TransportError {
    TransportError::MethodNotAllowed {
        method: shown(method),
        allow,
    }
}

/// Longest client text repeated in an error message.
const SHOWN_MAX: usize = 100;

/// Client text for an error message: lossy, cut to [`SHOWN_MAX`] bytes.
fn shown(text: &[u8]) -> String {
    let cut = text.get(..SHOWN_MAX).unwrap_or(text);
    let mut out = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < text.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests;
