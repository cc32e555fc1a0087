//! Backend sessions: found in the store, or opened lazily and exactly once per
//! (gateway session, backend), with the client's own capabilities and protocol version.

use std::sync::Arc;

use mcp_gateway_config::Server;
use mcp_gateway_session::{SessionRecord, SessionStore, SingleFlight};
use mcp_gateway_upstream::{BackendSession, InitOptions, UpstreamClient};
use tracing::debug;

use crate::RouteError;

/// Opens backend sessions on behalf of gateway sessions.
pub(crate) struct Backends {
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) upstream: UpstreamClient,
    flights: SingleFlight<(String, String), Arc<BackendSession>>,
}

impl Backends {
    pub(crate) fn new(sessions: Arc<dyn SessionStore>, upstream: UpstreamClient) -> Self {
        Self {
            sessions,
            upstream,
            flights: SingleFlight::new(),
        }
    }

    /// The backend session of `gateway` on `server`, opening it if needed.
    pub(crate) async fn session_for(
        &self,
        gateway: &str,
        server: &Server,
    ) -> Result<Arc<BackendSession>, RouteError> {
        let (record, existing) = self.lookup(gateway, server).await?;
        if let Some(backend) = existing {
            return Ok(backend);
        }
        let key = (gateway.to_owned(), server.name.clone());
        self.flights
            .run(key, || async {
                // Another flight may have finished between our look-up and this one.
                if let (_, Some(backend)) = self.lookup(gateway, server).await? {
                    return Ok(backend);
                }
                let opts = InitOptions {
                    protocol_version: record.protocol_version.clone(),
                    capabilities: record.client_capabilities.clone(),
                    client_info: record.client_info.clone(),
                };
                let backend = self
                    .upstream
                    .initialize(&server.url, &opts)
                    .await
                    .map_err(|e| RouteError::BackendUnavailable {
                        server: server.name.clone(),
                        reason: e.to_string(),
                    })?;
                debug!(server = %server.name, "opened backend session");
                let backend = Arc::new(backend);
                self.sessions
                    .set_backend(gateway, &server.name, backend.clone())
                    .await
                    .map_err(|e| RouteError::Internal(e.to_string()))?;
                Ok(backend)
            })
            .await
    }

    /// Forgets the backend session of `gateway` on `server` (the backend lost it).
    pub(crate) async fn forget(&self, gateway: &str, server: &str) {
        if let Err(e) = self.sessions.remove_backend(gateway, server).await {
            debug!(%server, error = %e, "could not forget backend session");
        }
    }

    async fn lookup(
        &self,
        gateway: &str,
        server: &Server,
    ) -> Result<(Arc<SessionRecord>, Option<Arc<BackendSession>>), RouteError> {
        self.sessions
            .lookup(gateway, &server.name)
            .await
            .map_err(|e| RouteError::Internal(e.to_string()))?
            .ok_or(RouteError::UnknownSession)
    }
}
