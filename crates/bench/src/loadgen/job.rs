//! What every request of a run shares: target, sessions (round-robin), call and ids.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::connection::Conn;
use super::mcp::{Call, Session, exchange};
use super::recorder::{Recorder, Summary};
use super::target::Target;
use crate::BenchError;

/// The requests of one run.
#[derive(Debug)]
pub(crate) struct Job {
    pub target: Target,
    sessions: Arc<[Session]>,
    call: Call,
    pub timeout: Duration,
    next: AtomicU64,
}

impl Job {
    pub fn new(
        target: &Target,
        sessions: Arc<[Session]>,
        call: &Call,
        timeout: Duration,
    ) -> Result<Self, BenchError> {
        if sessions.is_empty() {
            return Err(BenchError::Protocol(
                "no session to send requests in".into(),
            ));
        }
        Ok(Self {
            target: target.clone(),
            sessions,
            call: call.clone(),
            timeout,
            next: AtomicU64::new(0),
        })
    }

    /// Sends the next request (next session, next id) on `conn`.
    pub async fn send(&self, conn: &mut Conn) -> (Instant, Result<(), BenchError>) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let index = usize::try_from(n % self.sessions.len() as u64).unwrap_or(0);
        let session = &self.sessions[index];
        exchange(conn, &self.target, session, &self.call, n + 1, self.timeout).await
    }
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Latencies and errors.
    pub recorder: Recorder,
    /// From the first scheduled request to the last completion.
    pub elapsed: Duration,
    /// The open loop's scheduled rate.
    pub offered: Option<f64>,
}

impl Run {
    /// The JSON summary.
    pub fn summary(&self) -> Summary {
        self.recorder.summary(self.elapsed, self.offered)
    }
}
