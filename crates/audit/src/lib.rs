//! The audit trail: one JSON line per routed call and per denial.
//!
//! The router builds a [`Record`] when it decides a call (allowed or denied) and hands it to
//! the [`Auditor`], which turns it into one line of JSON and queues it without waiting: a
//! bounded channel to a writer thread. The writer appends lines to the audit file
//! (`--audit-log <path>`) or, without one, emits each as an `info` event of the tracing target
//! [`TARGET`] (off in the default log filter). When the queue is full the line is dropped and
//! counted ([`Auditor::dropped`]); the writer reports the count as a `warn!` log line and as
//! a line of its own in the audit output, so no line is lost silently. The writer also keeps
//! the last [`RECENT`] lines for the web console's live feed ([`Auditor::recent`]).
//!
//! Gateway session ids are never written: a line carries the first 16 hex digits of the id's
//! SHA-256, enough to join lines of one session and useless to present to the gateway.

mod auditor;
mod record;
mod time;

pub use auditor::{Auditor, DEFAULT_CAPACITY, RECENT, Sink};
pub use record::{Decision, Record, hash_session};

/// The tracing target audit lines go to when no audit file is configured.
pub const TARGET: &str = "mcp_gateway_audit";
