//! Counters served at `GET /stats`.
//!
//! The e2e tests read them to prove that the gateway opens exactly one backend
//! session per (client session, backend) and routes each tool call once.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Live counters of one server process, shared by all of its MCP sessions.
#[derive(Debug)]
pub struct Stats {
    server: &'static str,
    initialize: AtomicU64,
    tool_calls: AtomicU64,
}

/// A point-in-time copy of [`Stats`], in the JSON shape of `GET /stats`:
/// `{"server":"calc","initialize":1,"tool_calls":3}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Server name (`calc` or `text`).
    pub server: String,
    /// `initialize` requests answered.
    pub initialize: u64,
    /// `tools/call` requests received, failed ones included.
    pub tool_calls: u64,
}

impl Stats {
    /// Zeroed counters for the server called `server`.
    pub fn new(server: &'static str) -> Self {
        Self {
            server,
            initialize: AtomicU64::new(0),
            tool_calls: AtomicU64::new(0),
        }
    }

    /// Counts one answered `initialize` request.
    pub fn record_initialize(&self) {
        self.initialize.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one `tools/call` request.
    pub fn record_tool_call(&self) {
        self.tool_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            server: self.server.to_owned(),
            initialize: self.initialize.load(Ordering::Relaxed),
            tool_calls: self.tool_calls.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_serializes() {
        let stats = Stats::new("calc");
        stats.record_initialize();
        stats.record_tool_call();
        stats.record_tool_call();
        let json = serde_json::to_value(stats.snapshot()).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"server": "calc", "initialize": 1, "tool_calls": 2})
        );
    }
}
