use std::sync::Arc;

use mcp_gateway_upstream::{BackendSession, InitOptions, UpstreamClient, UpstreamError};
use tokio::sync::broadcast;
use tracing::{Instrument, debug};
use url::Url;

use crate::{SessionError, SessionRecord, SessionStore, Signal, SingleFlight};

/// Why a backend session could not be had.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The gateway session does not exist (never created, ended or expired).
    #[error("session not found")]
    UnknownSession,
    /// The backend did not answer or refused to initialise.
    #[error("{0}")]
    Unavailable(UpstreamError),
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] SessionError),
}

/// Backend sessions of gateway sessions: found in the store, or opened lazily and exactly once
/// per (gateway session, backend) with the client's own capabilities and protocol version.
/// Shared by the router (routed requests) and the broker (fan-out such as `logging/setLevel`).
pub struct BackendSessions {
    store: Arc<dyn SessionStore>,
    upstream: UpstreamClient,
    flights: SingleFlight<(String, String), Arc<BackendSession>>,
    /// Records of held sessions being made (see [`BackendSessions::hold`]).
    holds: SingleFlight<String, ()>,
    opened: broadcast::Sender<Opened>,
}

/// A backend session that was just opened: (gateway session id, server name).
pub type Opened = (Arc<str>, Arc<str>);

impl BackendSessions {
    /// Backend sessions kept in `store`, opened with `upstream`.
    pub fn new(store: Arc<dyn SessionStore>, upstream: UpstreamClient) -> Self {
        Self {
            store,
            upstream,
            flights: SingleFlight::new(),
            holds: SingleFlight::new(),
            opened: broadcast::channel(1024).0,
        }
    }

    /// Announces every backend session opened from now on (the broker attaches the new
    /// session's server-to-client stream to the client's GET stream).
    pub fn subscribe_opened(&self) -> broadcast::Receiver<Opened> {
        self.opened.subscribe()
    }

    /// Tells this process's subscribers ([`BackendSessions::subscribe_opened`]) that a backend
    /// session of `gateway` on `server` was opened (here, or by another replica).
    pub fn announce_opened(&self, gateway: &str, server: &str) {
        // Nobody listening is fine.
        let _ = self.opened.send((Arc::from(gateway), Arc::from(server)));
    }

    /// The session store.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// The client used to reach backends.
    pub fn upstream(&self) -> &UpstreamClient {
        &self.upstream
    }

    /// The backend session of `gateway` on `server` (at `url`), opening it if needed with
    /// `upstream`: [`BackendSessions::upstream`], or a handle of it that carries the server's
    /// credential for this session's caller
    /// ([`UpstreamClient::with_credential`]).
    pub async fn open(
        &self,
        gateway: &str,
        server: &str,
        url: &Url,
        upstream: &UpstreamClient,
    ) -> Result<Arc<BackendSession>, OpenError> {
        self.open_with_record(gateway, server, url, upstream)
            .await
            .map(|(_, backend)| backend)
    }

    /// Like [`BackendSessions::open`], also returning the gateway session's record (one
    /// store look-up for both).
    pub async fn open_with_record(
        &self,
        gateway: &str,
        server: &str,
        url: &Url,
        upstream: &UpstreamClient,
    ) -> Result<(Arc<SessionRecord>, Arc<BackendSession>), OpenError> {
        let (record, existing) = self.lookup(gateway, server).await?;
        if let Some(backend) = existing {
            return Ok((record, backend));
        }
        let key = (gateway.to_owned(), server.to_owned());
        let opening = record.clone();
        let backend = self
            .flights
            .run(key, || async {
                let record = opening;
                // Another flight may have finished between our look-up and this one.
                if let (_, Some(backend)) = self.lookup(gateway, server).await? {
                    return Ok::<_, OpenError>(backend);
                }
                let opts = InitOptions {
                    protocol_version: record.protocol_version.clone(),
                    capabilities: to_value(record.client.capabilities()),
                    client_info: to_value(record.client.info()),
                };
                let metrics = mcp_gateway_metrics::global();
                let span = mcp_gateway_telemetry::child_span!(
                    "backend session open",
                    mcp_gateway.server = server,
                    otel.status_code = tracing::field::Empty,
                );
                let opened = upstream
                    .initialize(url, &opts)
                    .instrument(span.clone())
                    .await;
                if opened.is_err() {
                    span.record("otel.status_code", "ERROR");
                }
                let backend = opened.map_err(|e| {
                    metrics.backend_failures.inc(server, "");
                    OpenError::Unavailable(e)
                })?;
                metrics.backend_opens.inc(server, "");
                debug!(%server, "opened backend session");
                let backend = Arc::new(backend);
                self.store
                    .set_backend(gateway, server, backend.clone())
                    .await?;
                self.announce_opened(gateway, server);
                if let Some(shared) = self.store.shared_outbox() {
                    // The replica serving the client's GET stream may be another one; the
                    // call does not wait for the signal.
                    let signal = Signal::Opened {
                        session: Arc::from(gateway),
                        server: Arc::from(server),
                        replica: Arc::from(shared.replica()),
                    };
                    tokio::spawn(async move {
                        if let Err(e) = shared.signal(signal).await {
                            debug!(error = %e, "announcing a backend session to other replicas");
                        }
                    });
                }
                Ok(backend)
            })
            .await?;
        Ok((record, backend))
    }

    /// Records `record()` under `key` unless a record is there already: the session a gateway
    /// holds for clients without one of their own (MCP 2026-07-28), made once even under
    /// concurrent first requests, so no backend session of it is dropped by a second record.
    pub async fn hold(
        &self,
        key: &str,
        record: impl FnOnce() -> SessionRecord,
    ) -> Result<(), OpenError> {
        self.holds
            .run(key.to_owned(), || async {
                if self.store.get(key).await?.is_none() {
                    self.store.insert(key, record()).await?;
                }
                Ok::<_, OpenError>(())
            })
            .await
    }

    /// Forgets the backend session of `gateway` on `server` (the backend lost it).
    pub async fn forget(&self, gateway: &str, server: &str) {
        mcp_gateway_metrics::global().backend_heals.inc(server, "");
        if let Err(e) = self.store.remove_backend(gateway, server).await {
            debug!(%server, error = %e, "could not forget backend session");
        }
    }

    async fn lookup(
        &self,
        gateway: &str,
        server: &str,
    ) -> Result<(Arc<SessionRecord>, Option<Arc<BackendSession>>), OpenError> {
        self.store
            .lookup(gateway, server)
            .await?
            .ok_or(OpenError::UnknownSession)
    }
}

/// The kept JSON text as a value (once per backend session opened; the text is valid JSON).
fn to_value(raw: &serde_json::value::RawValue) -> serde_json::Value {
    serde_json::from_str(raw.get()).unwrap_or_default()
}
