use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

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
    /// When the session was last used, in milliseconds of the store's clock. Written at most
    /// once per [`MemoryStore::touch_every`], so busy sessions do not bounce its cache line.
    last_used: AtomicU64,
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

/// Limits of a [`MemoryStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most sessions held at once; [`SessionStore::insert`] refuses more.
    pub max_sessions: usize,
    /// A session not used for this long ends (within [`MemoryStore::touch_every`]).
    pub idle_timeout: Duration,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            idle_timeout: Duration::from_secs(3600),
        }
    }
}

/// The default store: lock-free concurrent maps in this process, at most
/// [`StoreLimits::max_sessions`] sessions, each ending after [`StoreLimits::idle_timeout`]
/// unused.
pub struct MemoryStore {
    sessions: papaya::HashMap<String, Arc<Entry>>,
    limits: StoreLimits,
    /// Sessions held (ended ones until swept): a slot is taken before an insert, so the
    /// limit holds under concurrent inserts.
    held: AtomicUsize,
    /// Origin of the store's clock (`last_used`).
    epoch: Instant,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_limits(StoreLimits::default())
    }
}

impl MemoryStore {
    /// An empty store with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with these limits.
    pub fn with_limits(limits: StoreLimits) -> Self {
        Self {
            sessions: papaya::HashMap::new(),
            limits,
            held: AtomicUsize::new(0),
            epoch: Instant::now(),
        }
    }

    /// How stale a session's last use may be recorded: a second, or a quarter of the idle
    /// timeout when that is shorter. A session ends after the idle timeout plus at most this.
    pub fn touch_every(&self) -> Duration {
        (self.limits.idle_timeout / 4).min(Duration::from_secs(1))
    }

    /// Takes out every session whose lifetime or idle time is over.
    pub fn sweep_ended(&self) -> Vec<(String, RemovedSession)> {
        let now = self.now();
        let sessions = self.sessions.pin();
        let ended: Vec<String> = sessions
            .iter()
            .filter(|(_, entry)| self.ended(entry, now))
            .map(|(id, _)| id.clone())
            .collect();
        ended
            .into_iter()
            .filter_map(|id| {
                let entry = sessions.remove(&id)?;
                self.held.fetch_sub(1, Ordering::AcqRel);
                Some((id, removed(entry)))
            })
            .collect()
    }

    /// Milliseconds since the store was made.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the session's lifetime or idle time is over at `now`.
    fn ended(&self, entry: &Entry, now: u64) -> bool {
        let idle = now.saturating_sub(entry.last_used.load(Ordering::Relaxed));
        let allowed = self.limits.idle_timeout + self.touch_every();
        u128::from(idle) > allowed.as_millis() || entry.record.expires <= SystemTime::now()
    }

    /// The session's entry if it has not ended, marked as used now.
    fn live(&self, entry: Option<&Arc<Entry>>) -> Option<Arc<Entry>> {
        let entry = entry?;
        let now = self.now();
        if self.ended(entry, now) {
            return None;
        }
        let every = u64::try_from(self.touch_every().as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(entry.last_used.load(Ordering::Relaxed)) >= every {
            entry.last_used.store(now, Ordering::Relaxed);
        }
        Some(entry.clone())
    }
}

fn removed(entry: &Entry) -> RemovedSession {
    RemovedSession {
        record: entry.record.clone(),
        backends: entry.all_backends(),
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn insert(&self, id: &str, record: SessionRecord) -> Result<(), SessionError> {
        let max = self.limits.max_sessions;
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < max).then_some(held + 1)
            })
            .map_err(|_| SessionError::Full { max })?;
        let entry = Entry {
            record: Arc::new(record),
            backends: ArcSwap::from_pointee(Vec::new()),
            last_used: AtomicU64::new(self.now()),
        };
        if self
            .sessions
            .pin()
            .insert(id.to_owned(), Arc::new(entry))
            .is_some()
        {
            // The id was already held (ids are random: not expected); it holds one slot.
            self.held.fetch_sub(1, Ordering::AcqRel);
        }
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<Arc<SessionRecord>>, SessionError> {
        Ok(self
            .live(self.sessions.pin().get(id))
            .map(|e| e.record.clone()))
    }

    async fn touch(&self, id: &str) -> Result<bool, SessionError> {
        Ok(self.live(self.sessions.pin().get(id)).is_some())
    }

    async fn sweep(&self) -> Result<Vec<(String, RemovedSession)>, SessionError> {
        Ok(self.sweep_ended())
    }

    async fn lookup(
        &self,
        id: &str,
        server: &str,
    ) -> Result<Option<(Arc<SessionRecord>, Option<Arc<BackendSession>>)>, SessionError> {
        Ok(self
            .live(self.sessions.pin().get(id))
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
        let now = self.now();
        // An ended session is already gone for its client; the sweep ends its backends.
        let sessions = self.sessions.pin();
        let Ok(Some((_, entry))) = sessions.remove_if(id, |_, entry| !self.ended(entry, now))
        else {
            return Ok(None);
        };
        self.held.fetch_sub(1, Ordering::AcqRel);
        Ok(Some(removed(entry)))
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
        Ok(self.held.load(Ordering::Acquire))
    }

    async fn backends(
        &self,
        id: &str,
    ) -> Result<Option<Vec<(String, Arc<BackendSession>)>>, SessionError> {
        Ok(self
            .live(self.sessions.pin().get(id))
            .map(|entry| entry.all_backends()))
    }
}

#[cfg(test)]
mod tests;
