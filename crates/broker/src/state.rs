use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::{ConfigStore, Server};
use mcp_gateway_credentials::{BackendCredentials, Credential, CredentialError};
use mcp_gateway_identity::Caller;
use mcp_gateway_session::{BackendSessions, ClientLimits, SessionIds, SessionStore};
use mcp_gateway_upstream::{UpstreamClient, UpstreamError};

use crate::OAuthMetadata;

/// Everything the broker shares with the router and its upstream managers.
pub struct BrokerState {
    /// The hot-reloaded gateway config.
    pub config: Arc<ConfigStore>,
    /// What the backends offer, as discovered.
    pub catalog: Arc<CatalogStore>,
    /// Gateway sessions and the backend sessions opened for them (shared with the router).
    pub backends: Arc<BackendSessions>,
    /// Mints and verifies session ids.
    pub ids: SessionIds,
    /// How long a new session lives.
    pub session_lifetime: Duration,
    /// What a session may keep of its client's `initialize`.
    pub client_limits: ClientLimits,
    /// Served at `/.well-known/oauth-protected-resource`.
    pub oauth: OAuthMetadata,
    /// Largest request body accepted (Envoy enforces the same limit first).
    pub max_request_bytes: usize,
    /// Items per page of aggregated lists; 0 serves every item in one page.
    pub list_page_size: usize,
    /// Clients' GET streams.
    pub streams: crate::Streams,
    /// Limits on request bodies beyond their size (nesting depth), as the router's.
    pub json_limits: mcp_gateway_protocol::Limits,
    /// Origins browser clients may call from (checked here for GET and DELETE, which the
    /// router never sees; POSTs are checked by the router too).
    pub origins: mcp_gateway_protocol::origin::OriginPolicy,
    /// What backends are given to authenticate the gateway (shared with the router).
    pub credentials: BackendCredentials,
    /// Calls of 2026-07-28 clients waiting for their input (multi-round-trip requests).
    pub mrtr: crate::Parked,
    /// The gateway's questions to 2025 clients on behalf of 2026-07-28 backends, waiting for
    /// answers (see `legacy_client`).
    pub input_asks: Arc<crate::InputAsks>,
}

impl BrokerState {
    /// The session store.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        self.backends.store()
    }

    /// The client for backends.
    pub fn upstream(&self) -> &UpstreamClient {
        self.backends.upstream()
    }

    /// The client for requests the gateway makes to `server` for itself (discovery, change
    /// notifications, ending its own session): carrying the server's credential for the
    /// gateway (see `mcp_gateway_credentials`), if it has one.
    pub async fn own_upstream(&self, server: &Server) -> Result<UpstreamClient, UpstreamError> {
        let config = self.config.load();
        let credential = self
            .credentials
            .for_gateway(server, config.token_client())
            .await;
        self.carrying(credential)
    }

    /// The client for requests the broker makes to `server` on `caller`'s behalf (the
    /// `logging/setLevel` fan-out, `tasks/list`, forwarded notifications, the backend GET
    /// streams of the caller's session, ending its backend sessions): carrying the credential
    /// a routed call of the same caller gets (`BackendCredentials::for_caller`), if any.
    /// `caller` is `None` with auth off.
    pub async fn caller_upstream(
        &self,
        server: &Server,
        caller: Option<&Caller>,
    ) -> Result<UpstreamClient, UpstreamError> {
        let config = self.config.load();
        let credential = self
            .credentials
            .for_caller(server, config.token_client(), caller)
            .await;
        self.carrying(credential)
    }

    fn carrying(
        &self,
        credential: Result<Option<Credential>, CredentialError>,
    ) -> Result<UpstreamClient, UpstreamError> {
        let credential = credential.map_err(|e| UpstreamError::Credential(e.to_string()))?;
        Ok(self
            .upstream()
            .with_credential(credential.map(|c| (c.name().clone(), c.value().clone()))))
    }
}

/// Ready once every enabled backend has had its first discovery attempt (so the first
/// `tools/list` is complete), whether or not the backend answered, and while the session
/// store answers (a replica cut off from Redis should get no new requests).
pub(crate) async fn readyz(State(state): State<Arc<BrokerState>>) -> (StatusCode, String) {
    if let Err(e) = state.sessions().ready().await {
        return (StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    let config = state.config.load();
    let catalog = state.catalog.load();
    let pending: Vec<&str> = config
        .enabled_servers()
        .filter(|s| !catalog.server(&s.name).is_some_and(|st| st.attempted))
        .map(|s| s.name.as_str())
        .collect();
    if pending.is_empty() {
        (StatusCode::OK, "ready".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("discovering: {}", pending.join(", ")),
        )
    }
}
