//! Counters served at `GET /stats`.
//!
//! The e2e tests read them to prove that the gateway opens exactly one backend
//! session per (client session, backend), routes each request once, and forwards
//! what only the backend can observe: the log level, cancellations and
//! resource subscriptions.

use std::sync::{
    Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Live counters of one server process, shared by all of its MCP sessions.
#[derive(Debug)]
pub struct Stats {
    server: &'static str,
    initialize: AtomicU64,
    tool_calls: AtomicU64,
    subscribes: AtomicU64,
    unsubscribes: AtomicU64,
    cancellations: AtomicU64,
    sessions_ended: AtomicU64,
    last: Mutex<Last>,
}

/// The most recent values, whichever session set them.
#[derive(Debug, Default)]
struct Last {
    log_level: Option<String>,
    cancelled_request: Option<Value>,
}

/// A point-in-time copy of [`Stats`], in the JSON shape of `GET /stats`:
/// `{"server":"calc","initialize":1,"tool_calls":3,"log_level":"debug",...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Server name (`calc` or `text`).
    pub server: String,
    /// `initialize` requests answered.
    pub initialize: u64,
    /// `tools/call` requests received, failed ones included.
    pub tool_calls: u64,
    /// The level of the last `logging/setLevel` of any session; null until one arrives.
    pub log_level: Option<String>,
    /// `resources/subscribe` requests accepted.
    pub subscribes: u64,
    /// `resources/unsubscribe` requests accepted.
    pub unsubscribes: u64,
    /// `notifications/cancelled` received, for any request id, known or not.
    pub cancellations: u64,
    /// `requestId` of the last `notifications/cancelled`; null until one arrives.
    pub last_cancelled_request: Option<Value>,
    /// Sessions ended by their client (`DELETE` answered with success).
    pub sessions_ended: u64,
}

impl Stats {
    /// Zeroed counters for the server called `server`.
    pub fn new(server: &'static str) -> Self {
        Self {
            server,
            initialize: AtomicU64::new(0),
            tool_calls: AtomicU64::new(0),
            subscribes: AtomicU64::new(0),
            unsubscribes: AtomicU64::new(0),
            cancellations: AtomicU64::new(0),
            sessions_ended: AtomicU64::new(0),
            last: Mutex::new(Last::default()),
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

    /// Remembers the level of a `logging/setLevel` request (`"debug"`, …).
    pub fn record_log_level(&self, level: &str) {
        self.last().log_level = Some(level.to_owned());
    }

    /// Counts one accepted `resources/subscribe`.
    pub fn record_subscribe(&self) {
        self.subscribes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one accepted `resources/unsubscribe`.
    pub fn record_unsubscribe(&self) {
        self.unsubscribes.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one `notifications/cancelled` and remembers the request id it named.
    pub fn record_cancellation(&self, request_id: Option<Value>) {
        self.cancellations.fetch_add(1, Ordering::Relaxed);
        self.last().cancelled_request = request_id;
    }

    /// Counts one session its client ended (`DELETE`).
    pub fn record_session_end(&self) {
        self.sessions_ended.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        let last = self.last();
        StatsSnapshot {
            server: self.server.to_owned(),
            initialize: self.initialize.load(Ordering::Relaxed),
            tool_calls: self.tool_calls.load(Ordering::Relaxed),
            log_level: last.log_level.clone(),
            subscribes: self.subscribes.load(Ordering::Relaxed),
            unsubscribes: self.unsubscribes.load(Ordering::Relaxed),
            cancellations: self.cancellations.load(Ordering::Relaxed),
            last_cancelled_request: last.cancelled_request.clone(),
            sessions_ended: self.sessions_ended.load(Ordering::Relaxed),
        }
    }

    fn last(&self) -> std::sync::MutexGuard<'_, Last> {
        // The values stay consistent even if a holder panicked: plain assignments.
        self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_serializes() {
        let stats = Stats::new("calc");
        let zero = serde_json::to_value(stats.snapshot()).expect("serializes");
        assert_eq!(
            zero,
            serde_json::json!({
                "server": "calc",
                "initialize": 0,
                "tool_calls": 0,
                "log_level": null,
                "subscribes": 0,
                "unsubscribes": 0,
                "cancellations": 0,
                "last_cancelled_request": null,
                "sessions_ended": 0,
            })
        );

        stats.record_initialize();
        stats.record_tool_call();
        stats.record_tool_call();
        stats.record_log_level("info");
        stats.record_log_level("debug");
        stats.record_subscribe();
        stats.record_unsubscribe();
        stats.record_cancellation(Some(7.into()));
        stats.record_cancellation(Some("req-8".into()));
        stats.record_session_end();
        let json = serde_json::to_value(stats.snapshot()).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "server": "calc",
                "initialize": 1,
                "tool_calls": 2,
                "log_level": "debug",
                "subscribes": 1,
                "unsubscribes": 1,
                "cancellations": 2,
                "last_cancelled_request": "req-8",
                "sessions_ended": 1,
            })
        );
    }
}
