use std::sync::Arc;
use std::time::SystemTime;

use crate::{ClientDeclaration, SessionError, SharedListings, SharedOutbox};
use async_trait::async_trait;
use mcp_gateway_upstream::BackendSession;

/// What the gateway remembers about a client's session.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// The protocol version negotiated with the client.
    pub protocol_version: String,
    /// What the client declared in `initialize` (bounded); backend sessions are opened with it.
    pub client: ClientDeclaration,
    /// What the session id is bound to: the authenticated subject (auth on) and the virtual
    /// server it was opened on (`mcp_gateway_config::session_binding`); `None` on `/mcp` with
    /// auth off.
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
///
/// A session ends when it is removed, when its lifetime is over, or when it has not been
/// used for the store's idle timeout; [`SessionStore::get`], [`SessionStore::lookup`],
/// [`SessionStore::backends`] and [`SessionStore::touch`] count as use, and find nothing
/// once it ended, whether or not [`SessionStore::sweep`] has run since.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Records a new session; [`SessionError::Full`] when the store is at its session limit
    /// (no live session is evicted to make room).
    async fn insert(&self, id: &str, record: SessionRecord) -> Result<(), SessionError>;
    /// The session's record, or `None` when it does not exist (never created, ended or expired).
    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, SessionError>;
    /// Marks the session as used now (e.g. it has a GET stream open); false when it is gone.
    async fn touch(&self, id: &str) -> Result<bool, SessionError>;
    /// Takes out every session whose lifetime or idle time is over, so that the caller ends
    /// their backend sessions. A store whose entries expire by themselves may return none.
    async fn sweep(&self) -> Result<Vec<(String, RemovedSession)>, SessionError>;
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
    /// Whether the store can serve requests now (a shared store answers); the memory store
    /// always can.
    async fn ready(&self) -> Result<(), SessionError> {
        Ok(())
    }
    /// The GET-stream outbox shared by replicas, for a store that replicas share; `None`
    /// (the default) keeps outboxes in the broker's process.
    fn shared_outbox(&self) -> Option<Arc<dyn SharedOutbox>> {
        None
    }
    /// Backend listings shared by replicas, for a store that replicas share; `None` (the
    /// default): this process lists every backend itself.
    fn shared_listings(&self) -> Option<Arc<dyn SharedListings>> {
        None
    }
}
