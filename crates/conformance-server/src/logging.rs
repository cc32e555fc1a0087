//! The per-session log level set by `logging/setLevel`.
//!
//! rmcp marks logging deprecated for protocol 2026-07-28 (SEP-2577); the
//! 2025-06-18 and 2025-11-25 revisions the suite tests still have it.
#![allow(deprecated)]

use std::sync::atomic::{AtomicU8, Ordering};

use rmcp::model::LoggingLevel;

/// Severity rank of `level`: `debug` is 0, `emergency` is 7 (RFC 5424 order).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// The minimum level a session wants to receive. Until the client sets one,
/// every message is sent.
#[derive(Debug, Default)]
pub struct LogFilter {
    minimum: AtomicU8,
}

impl LogFilter {
    /// Sends only messages at `level` or more severe from now on.
    pub fn set(&self, level: LoggingLevel) {
        self.minimum.store(rank(level), Ordering::Relaxed);
    }

    /// Whether a message at `level` should be sent.
    pub fn allows(&self, level: LoggingLevel) -> bool {
        rank(level) >= self.minimum.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_everything_until_a_level_is_set() {
        let filter = LogFilter::default();
        assert!(filter.allows(LoggingLevel::Debug));
        filter.set(LoggingLevel::Warning);
        assert!(!filter.allows(LoggingLevel::Info));
        assert!(filter.allows(LoggingLevel::Warning));
        assert!(filter.allows(LoggingLevel::Emergency));
        filter.set(LoggingLevel::Debug);
        assert!(filter.allows(LoggingLevel::Debug));
    }
}
