//! What the routing core needs from the gateway's session machinery: the steps that may wait
//! (opening a backend session once, forgetting one). The ext_proc router answers them from
//! the session store in its own process; the Envoy module from its cache and, on a miss, the
//! sidecar.

use std::future::Future;

use mcp_gateway_config::Server;
use mcp_gateway_identity::Caller;

use crate::RouteError;
use crate::credential::CredentialHeader;
use crate::held::Held;

/// The backend session a routed request uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The backend's `Mcp-Session-Id`; `None` when the server is stateless.
    pub session_id: Option<String>,
    /// The protocol version negotiated with the backend.
    pub protocol_version: String,
    /// The client declared `sampling`, `elicitation` or `roots`, so the backend may ask it
    /// things on the answer's stream (the router must then see that stream).
    pub client_may_be_asked: bool,
}

/// What a 2025 client declared on `initialize`, kept with its gateway session: a backend that
/// speaks only MCP 2026-07-28 is told it in every request's `_meta`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionClient {
    /// `capabilities` as declared (a JSON object's text).
    pub capabilities: String,
    /// `clientInfo` as kept (JSON text), when there is one.
    pub info: Option<String>,
    /// It declared `sampling`, `elicitation` or `roots`.
    pub may_be_asked: bool,
}

/// The gateway's sessions, as the routing core sees them.
pub trait Backends {
    /// Whether `gateway` is a session id this gateway issued and that has not expired (a
    /// check of the id itself, without a store lookup).
    fn session_valid(&self, gateway: &str) -> bool;

    /// Whether `gateway` is valid and was issued to `subject`: what the session is bound to,
    /// the verified caller (issuer and subject) and the virtual server it was opened on
    /// (`mcp_gateway_config::session_binding`; `None` on `/mcp` with auth off). A session id
    /// presented by another caller, or on another endpoint, is as unknown as a forged one.
    /// The default accepts only unbound ids.
    fn session_valid_for(&self, gateway: &str, subject: Option<&str>) -> bool {
        subject.is_none() && self.session_valid(gateway)
    }

    /// For Envoy's hand-off of a lost backend session, which reaches the router without the
    /// caller (Envoy replays the headers as they went to the backend, token removed): the
    /// subject `gateway`'s record is bound to (`Some(None)` when it is bound to none), but
    /// only when `backend` is the backend session on record for (`gateway`, `server`), which
    /// only the backend and the gateway know; `None` otherwise. The default knows no record.
    fn bound_subject_if_current(
        &self,
        gateway: &str,
        server: &str,
        backend: &str,
    ) -> impl Future<Output = Option<Option<String>>> + Send {
        let _ = (gateway, server, backend);
        std::future::ready(None)
    }

    /// The backend session of `gateway` on `server`, opened now if it is not yet (once, even
    /// under concurrent first calls).
    fn open(
        &self,
        gateway: &str,
        server: &Server,
    ) -> impl Future<Output = Result<Opened, RouteError>> + Send;

    /// The credential `server` is configured with for a request of `caller` (`None` with auth
    /// off): `Ok(None)` when it has none. Called once per routed request, before
    /// [`Backends::open_with`]; it may wait (a token endpoint) but must not hold up other
    /// requests. A data plane that cannot obtain credentials keeps the default, which refuses
    /// every server that has some rather than reaching it without them.
    fn credential(
        &self,
        server: &Server,
        caller: Option<&Caller>,
    ) -> impl Future<Output = Result<Option<CredentialHeader>, RouteError>> + Send {
        let _ = caller;
        let refused = server
            .credentials
            .is_some()
            .then(|| RouteError::CredentialUnavailable {
                server: server.name.clone(),
                reason: format!(
                    "MCP server '{}' needs backend credentials, which this data plane cannot send",
                    server.name
                ),
            });
        std::future::ready(refused.map_or(Ok(None), Err))
    }

    /// [`Backends::open`], with `credential` (from [`Backends::credential`]) sent on the
    /// backend's `initialize` when the session is opened now. The default ignores it: only a
    /// data plane whose `credential` can return one needs to override this.
    fn open_with(
        &self,
        gateway: &str,
        server: &Server,
        credential: Option<&CredentialHeader>,
    ) -> impl Future<Output = Result<Opened, RouteError>> + Send {
        let _ = credential;
        self.open(gateway, server)
    }

    /// The backend session on `server` the gateway holds for a 2026-07-28 client (see
    /// [`crate::held`]): opened now if it is not yet, once, with the client's capability class
    /// and the newest 2025 version, and `credential` on its `initialize`. A data plane that
    /// cannot hold sessions keeps the default, which refuses the request.
    fn open_held(
        &self,
        held: &Held,
        server: &Server,
        credential: Option<&CredentialHeader>,
    ) -> impl Future<Output = Result<Opened, RouteError>> + Send {
        let _ = (held, credential);
        std::future::ready(Err(RouteError::BackendUnavailable {
            server: server.name.clone(),
            reason: "this data plane does not hold backend sessions for MCP 2026-07-28 clients"
                .to_owned(),
        }))
    }

    /// What the client of `gateway` declared, for a request of it to `server`, a backend that
    /// speaks only MCP 2026-07-28 (no backend session is opened; the session's use is
    /// recorded as for a routed call). A data plane that cannot read session records keeps
    /// the default, which refuses the request.
    fn session_client(
        &self,
        gateway: &str,
        server: &Server,
    ) -> impl Future<Output = Result<SessionClient, RouteError>> + Send {
        let _ = gateway;
        std::future::ready(Err(RouteError::BackendUnavailable {
            server: server.name.clone(),
            reason: "this data plane cannot reach MCP 2026-07-28 backends for 2025 clients"
                .to_owned(),
        }))
    }

    /// The servers on which `gateway` has a backend session open.
    fn open_servers(
        &self,
        gateway: &str,
    ) -> impl Future<Output = Result<Vec<String>, RouteError>> + Send;

    /// Forgets the backend session of `gateway` on `server` (the backend lost it), so the
    /// next request opens a new one.
    fn forget(&self, gateway: &str, server: &str) -> impl Future<Output = ()> + Send;

    /// Like [`Backends::forget`], only if the backend session on record is `backend`.
    fn forget_if_current(
        &self,
        gateway: &str,
        server: &str,
        backend: &str,
    ) -> impl Future<Output = ()> + Send;
}
