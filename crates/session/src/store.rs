use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use mcp_gateway_upstream::BackendSession;
use serde_json::Value;

use crate::SessionError;

/// What the gateway remembers about a client's session.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// The protocol version negotiated with the client.
    pub protocol_version: String,
    /// The capabilities the client declared in `initialize`; backend sessions are opened with them.
    pub client_capabilities: Value,
    /// The client's `clientInfo`.
    pub client_info: Value,
    /// The authenticated subject the session is bound to, when auth is on.
    pub subject: Option<String>,
    /// When the session id stops being valid.
    pub expires: SystemTime,
}

/// A session taken out of the store, with the backend sessions that must now be ended.
#[derive(Debug)]
pub struct RemovedSession {
    /// The session's record.
    pub record: Arc<SessionRecord>,
    /// (server name, backend session) for every backend the session had reached.
    pub backends: Vec<(String, Arc<BackendSession>)>,
}

/// Gateway session id -> [`SessionRecord`] and per-backend sessions.
///
/// The in-memory [`crate::MemoryStore`] serves one replica; a shared store (e.g. Redis) implements
/// the same trait for several replicas.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Records a new session.
    async fn insert(&self, id: &str, record: SessionRecord) -> Result<(), SessionError>;
    /// The session's record, or `None` when it does not exist (never created, ended or expired).
    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, SessionError>;
    /// One look-up for the hot path: the record, and the backend session for `server` if open.
    async fn lookup(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<(Arc<SessionRecord>, Option<Arc<BackendSession>>)>, SessionError>;
    /// Remembers the backend session opened for (`id`, `server`). Ignored when `id` is gone.
    async fn set_backend(
        &self,
        id: &str,
        server: &str,
        backend: Arc<BackendSession>,
    ) -> Result<(), SessionError>;
    /// Forgets the backend session of (`id`, `server`), e.g. after the backend lost it.
    async fn remove_backend(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<Arc<BackendSession>>, SessionError>;
    /// Ends a session; later look-ups of `id` find nothing.
    async fn remove(&self, id: &str) -> Result<Option<RemovedSession>, SessionError>;
    /// Forgets every backend session opened on `server` (it restarted and lost them all),
    /// so the next request of each client opens a new one. Returns how many were forgotten.
    async fn forget_server(&self, server: &str) -> Result<usize, SessionError>;
    /// Number of live sessions (for metrics and tests).
    async fn count(&self) -> Result<usize, SessionError>;
    /// The backend sessions `id` has open, by server name; `None` when `id` does not exist.
    async fn backends(
        &self,
        id: &str,
    ) -> Result<Option<Vec<(String, Arc<BackendSession>)>>, SessionError>;
}
