//! One echo backend: its sessions, tools and counters.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;

use super::tools::ToolPages;

/// What a backend has served, for `GET /stats`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub initialize: AtomicU64,
    pub tools_list: AtomicU64,
    pub tools_call: AtomicU64,
    pub ping: AtomicU64,
    pub notifications: AtomicU64,
    pub deletes: AtomicU64,
    pub rejected: AtomicU64,
}

/// A snapshot of one backend's counters.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BackendStats {
    /// `initialize` requests answered (= sessions opened).
    pub initialize: u64,
    /// `tools/list` requests answered.
    pub tools_list: u64,
    /// `tools/call` requests answered.
    pub tools_call: u64,
    /// `ping` requests answered.
    pub ping: u64,
    /// Notifications and client responses accepted.
    pub notifications: u64,
    /// Sessions ended by `DELETE`.
    pub deletes: u64,
    /// Requests refused for a missing or unknown session.
    pub rejected: u64,
    /// Sessions currently open.
    pub sessions: u64,
    /// Tool-list generation (bumped by `POST /admin/bump`).
    pub generation: u64,
    /// Number of tools.
    pub tools: u64,
}

/// One backend's state, shared by all connections.
#[derive(Debug)]
pub(crate) struct Backend {
    tool_count: usize,
    page_size: usize,
    tools: RwLock<Arc<ToolPages>>,
    generation: AtomicU64,
    sessions: RwLock<HashSet<String>>,
    pub counters: Counters,
}

impl Backend {
    pub fn new(tool_count: usize, page_size: usize) -> Self {
        Self {
            tool_count,
            page_size,
            tools: RwLock::new(Arc::new(ToolPages::new(tool_count, page_size, 0))),
            generation: AtomicU64::new(0),
            sessions: RwLock::new(HashSet::new()),
            counters: Counters::default(),
        }
    }

    /// Opens a session with a new random id.
    pub fn open_session(&self) -> String {
        let id = format!("{:032x}", rand::random::<u128>());
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.clone());
        self.counters.initialize.fetch_add(1, Ordering::Relaxed);
        id
    }

    pub fn has_session(&self, id: &str) -> bool {
        self.sessions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(id)
    }

    pub fn end_session(&self, id: &str) -> bool {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }

    pub fn tools(&self) -> Arc<ToolPages> {
        self.tools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the tool list (a new generation adds `bumped_<generation>`); returns the generation.
    pub fn bump(&self) -> u64 {
        let mut tools = self.tools.write().unwrap_or_else(PoisonError::into_inner);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *tools = Arc::new(ToolPages::new(self.tool_count, self.page_size, generation));
        generation
    }

    pub fn stats(&self) -> BackendStats {
        let c = &self.counters;
        BackendStats {
            initialize: c.initialize.load(Ordering::Relaxed),
            tools_list: c.tools_list.load(Ordering::Relaxed),
            tools_call: c.tools_call.load(Ordering::Relaxed),
            ping: c.ping.load(Ordering::Relaxed),
            notifications: c.notifications.load(Ordering::Relaxed),
            deletes: c.deletes.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            sessions: self
                .sessions
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .len() as u64,
            generation: self.generation.load(Ordering::Relaxed),
            tools: self.tools().len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_end_and_count() {
        let backend = Backend::new(2, 0);
        let id = backend.open_session();
        assert_eq!(id.len(), 32);
        assert!(backend.has_session(&id));
        assert_ne!(backend.open_session(), id);
        assert!(backend.end_session(&id));
        assert!(!backend.has_session(&id));
        assert!(!backend.end_session(&id));
        let stats = backend.stats();
        assert_eq!((stats.initialize, stats.sessions), (2, 1));
    }

    #[test]
    fn bump_changes_the_tools() {
        let backend = Backend::new(2, 0);
        assert!(!backend.tools().contains("bumped_1"));
        assert_eq!(backend.bump(), 1);
        assert!(backend.tools().contains("bumped_1"));
        assert_eq!(backend.stats().tools, 3);
    }
}
