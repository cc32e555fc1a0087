use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use mcp_gateway_upstream::BackendSession;

use crate::{RemovedSession, SessionError, SessionRecord, SessionStore};

/// One session. Its backend sessions are a tiny copy-on-write list (a client reaches a
/// handful of backends): reads are one atomic load, and it costs a few dozen bytes, where a
/// concurrent map per session would cost kilobytes (10,000 sessions must fit in memory).
struct Entry {
    record: Arc<SessionRecord>,
    backends: ArcSwap<Vec<(Arc<str>, Arc<BackendSession>)>>,
}

impl Entry {
    fn backend(&self, server: &str) -> Option<Arc<BackendSession>> {
        self.backends
            .load()
            .iter()
            .find(|(s, _)| &**s == server)
            .map(|(_, b)| b.clone())
    }

    fn set_backend(&self, server: &str, backend: Arc<BackendSession>) {
        self.backends.rcu(|list| {
            let mut list: Vec<_> = list
                .iter()
                .filter(|(s, _)| &**s != server)
                .cloned()
                .collect();
            list.push((Arc::from(server), backend.clone()));
            list
        });
    }

    fn remove_backend(&self, server: &str) -> Option<Arc<BackendSession>> {
        // Most sessions have no session with a given server: no new list for them.
        if !self.backends.load().iter().any(|(s, _)| &**s == server) {
            return None;
        }
        let old = self.backends.rcu(|list| {
            list.iter()
                .filter(|(s, _)| &**s != server)
                .cloned()
                .collect::<Vec<_>>()
        });
        old.iter()
            .find(|(s, _)| &**s == server)
            .map(|(_, b)| b.clone())
    }

    fn all_backends(&self) -> Vec<(String, Arc<BackendSession>)> {
        self.backends
            .load()
            .iter()
            .map(|(s, b)| (s.to_string(), b.clone()))
            .collect()
    }
}

/// The default store: lock-free concurrent maps in this process.
#[derive(Default)]
pub struct MemoryStore {
    sessions: papaya::HashMap<String, Arc<Entry>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops sessions whose ids expired before `now`; returns how many were dropped.
    pub fn sweep(&self, now: SystemTime) -> usize {
        let sessions = self.sessions.pin();
        let before = sessions.len();
        sessions.retain(|_, entry| entry.record.expires > now);
        before - sessions.len()
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, id: &str, record: SessionRecord) -> Result<(), SessionError> {
        let entry = Entry {
            record: Arc::new(record),
            backends: ArcSwap::from_pointee(Vec::new()),
        };
        self.sessions.pin().insert(id.to_owned(), Arc::new(entry));
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, SessionError> {
        Ok(self.sessions.pin().get(id).map(|e| e.record.clone()))
    }

    async fn lookup(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<(Arc<SessionRecord>, Option<Arc<BackendSession>>)>, SessionError> {
        let sessions = self.sessions.pin();
        Ok(sessions
            .get(id)
            .map(|e| (e.record.clone(), e.backend(server))))
    }

    async fn set_backend(
        &self,
        id: &str,
        server: &str,
        backend: Arc<BackendSession>,
    ) -> Result<(), SessionError> {
        if let Some(entry) = self.sessions.pin().get(id) {
            entry.set_backend(server, backend);
        }
        Ok(())
    }

    async fn remove_backend(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<Arc<BackendSession>>, SessionError> {
        Ok(self
            .sessions
            .pin()
            .get(id)
            .and_then(|e| e.remove_backend(server)))
    }

    async fn remove(&self, id: &str) -> Result<Option<RemovedSession>, SessionError> {
        Ok(self.sessions.pin().remove(id).map(|entry| RemovedSession {
            record: entry.record.clone(),
            backends: entry.all_backends(),
        }))
    }

    async fn forget_server(&self, server: &str) -> Result<usize, SessionError> {
        let mut forgotten = 0;
        for (_, entry) in self.sessions.pin().iter() {
            if entry.remove_backend(server).is_some() {
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    async fn count(&self) -> Result<usize, SessionError> {
        Ok(self.sessions.pin().len())
    }

    async fn backends(
        &self,
        id: &str,
    ) -> Result<Option<Vec<(String, Arc<BackendSession>)>>, SessionError> {
        Ok(self
            .sessions
            .pin()
            .get(id)
            .map(|entry| entry.all_backends()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    fn record(expires: SystemTime) -> SessionRecord {
        SessionRecord {
            protocol_version: "2025-06-18".into(),
            client_capabilities: json!({}),
            client_info: json!({"name": "t"}),
            subject: None,
            expires,
        }
    }

    fn backend(id: &str) -> Arc<BackendSession> {
        Arc::new(BackendSession {
            session_id: Some(id.into()),
            protocol_version: "2025-06-18".into(),
            capabilities: json!({}),
            server_info: json!({}),
            instructions: None,
        })
    }

    #[tokio::test]
    async fn lifecycle() {
        let store = MemoryStore::new();
        let later = SystemTime::now() + Duration::from_secs(60);
        store.insert("g1", record(later)).await.unwrap();
        assert!(store.get("g1").await.unwrap().is_some());
        assert!(store.get("nope").await.unwrap().is_none());

        let (_, b) = store.lookup("g1", "calc").await.unwrap().unwrap();
        assert!(b.is_none());
        store
            .set_backend("g1", "calc", backend("b1"))
            .await
            .unwrap();
        let (_, b) = store.lookup("g1", "calc").await.unwrap().unwrap();
        assert_eq!(b.unwrap().session_id.as_deref(), Some("b1"));

        // setting a backend on a missing session does not resurrect it
        store
            .set_backend("gone", "calc", backend("x"))
            .await
            .unwrap();
        assert!(store.lookup("gone", "calc").await.unwrap().is_none());

        let open = store.backends("g1").await.unwrap().unwrap();
        assert_eq!(open.len(), 1);
        assert!(store.backends("nope").await.unwrap().is_none());
        let removed = store.remove("g1").await.unwrap().unwrap();
        assert_eq!(removed.backends.len(), 1);
        assert!(store.get("g1").await.unwrap().is_none());
        assert!(store.remove("g1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn forget_server_drops_only_that_server() {
        let store = MemoryStore::new();
        let later = SystemTime::now() + Duration::from_secs(60);
        for id in ["a", "b"] {
            store.insert(id, record(later)).await.unwrap();
            store.set_backend(id, "calc", backend("c")).await.unwrap();
            store.set_backend(id, "text", backend("t")).await.unwrap();
        }
        assert_eq!(store.forget_server("calc").await.unwrap(), 2);
        let (_, calc) = store.lookup("a", "calc").await.unwrap().unwrap();
        let (_, text) = store.lookup("a", "text").await.unwrap().unwrap();
        assert!(calc.is_none());
        assert!(text.is_some());
    }

    #[tokio::test]
    async fn sweep_drops_expired() {
        let store = MemoryStore::new();
        let now = SystemTime::now();
        store
            .insert("old", record(now - Duration::from_secs(1)))
            .await
            .unwrap();
        store
            .insert("new", record(now + Duration::from_secs(60)))
            .await
            .unwrap();
        assert_eq!(store.sweep(now), 1);
        assert_eq!(store.count().await.unwrap(), 1);
        assert!(store.get("new").await.unwrap().is_some());
    }
}
