//! Closed loop: a fixed number of connections, each sending its next request as soon as the
//! previous answer arrived. Measures throughput at fixed concurrency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::connection::Conn;
use super::job::{Job, Run};
use super::mcp::{Call, Session};
use super::recorder::Recorder;
use super::target::Target;
use crate::BenchError;

/// Pause before reconnecting after a failed connect, so a dead server is not hammered.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// A closed-loop run.
#[derive(Debug, Clone, Copy)]
pub struct ClosedLoop {
    /// Connections, each with one request in flight.
    pub concurrency: usize,
    /// How long requests are started.
    pub duration: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// Runs `call` in closed loop over `sessions` (round-robin).
pub async fn run_closed(
    target: &Target,
    sessions: Arc<[Session]>,
    call: &Call,
    spec: ClosedLoop,
) -> Result<Run, BenchError> {
    let job = Arc::new(Job::new(target, sessions, call, spec.timeout)?);
    let start = Instant::now();
    let deadline = start + spec.duration;
    let mut workers = JoinSet::new();
    for _ in 0..spec.concurrency.max(1) {
        workers.spawn(worker(job.clone(), deadline));
    }
    let mut recorder = Recorder::new();
    while let Some(done) = workers.join_next().await {
        if let Ok(worker) = done {
            recorder.merge(&worker);
        }
    }
    Ok(Run {
        recorder,
        elapsed: start.elapsed(),
        offered: None,
    })
}

async fn worker(job: Arc<Job>, deadline: Instant) -> Recorder {
    let mut recorder = Recorder::new();
    let mut conn: Option<Conn> = None;
    while Instant::now() < deadline {
        let mut open = match conn.take().filter(|c| !c.is_closed()) {
            Some(open) => open,
            None => match Conn::open(job.target.addr()).await {
                Ok(open) => open,
                Err(e) => {
                    recorder.error(&e);
                    tokio::time::sleep(RECONNECT_BACKOFF).await;
                    continue;
                }
            },
        };
        let started = Instant::now();
        let (done, result) = job.send(&mut open).await;
        match result {
            Ok(()) => {
                recorder.ok(done - started);
                conn = Some(open);
            }
            Err(e) => {
                if e.keeps_connection() {
                    conn = Some(open);
                }
                recorder.error(&e);
            }
        }
    }
    recorder
}
