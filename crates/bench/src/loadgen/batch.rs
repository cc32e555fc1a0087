//! Fixed amounts of work instead of timed runs: opening many sessions, one request per
//! (session, call) pair over a bounded set of connections, or all of them at once (a storm).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::connection::Conn;
use super::job::Run;
use super::mcp::{Call, Session, exchange, initialize};
use super::recorder::Recorder;
use super::target::Target;
use crate::BenchError;

/// How a batch is sent.
#[derive(Debug, Clone, Copy)]
pub struct Batch {
    /// Connections; ignored when `together`.
    pub concurrency: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// One connection per request, all opened first, then every request released at the
    /// same instant.
    pub together: bool,
    /// With `together`: send a `tools/list` on each connection in its session before the
    /// release, so the connection is accepted and warm (it opens no backend session on the
    /// gateway).
    pub prime: bool,
}

/// Sessions opened by [`open_sessions`], and the run that opened them.
#[derive(Debug)]
pub struct Opened {
    /// The sessions that opened.
    pub sessions: Vec<Session>,
    /// Latency of `initialize` + `notifications/initialized`, and failures.
    pub run: Run,
}

/// Opens `count` sessions over `concurrency` connections.
pub async fn open_sessions(
    target: &Target,
    count: usize,
    concurrency: usize,
    timeout: Duration,
) -> Opened {
    let next = Arc::new(AtomicUsize::new(0));
    let sessions = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (target, next, sessions) = (target.clone(), next.clone(), sessions.clone());
        workers.spawn(async move {
            let mut recorder = Recorder::new();
            let mut conn: Option<Conn> = None;
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let mut open = match connection(conn.take(), &target).await {
                    Ok(open) => open,
                    Err(e) => {
                        recorder.error(&e);
                        continue;
                    }
                };
                let started = Instant::now();
                match initialize(&mut open, &target, timeout).await {
                    Ok(session) => {
                        recorder.ok(started.elapsed());
                        sessions
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(session);
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
        });
    }
    let recorder = join(workers).await;
    let sessions = std::mem::take(&mut *sessions.lock().unwrap_or_else(PoisonError::into_inner));
    Opened {
        sessions,
        run: Run {
            recorder,
            elapsed: start.elapsed(),
            offered: None,
        },
    }
}

/// Sends one request per `(session, call)` pair.
pub async fn run_batch(target: &Target, work: Vec<(Session, Call)>, spec: Batch) -> Run {
    let work: Arc<[(Session, Call)]> = work.into();
    let start = Instant::now();
    let recorder = if spec.together {
        together(target, &work, spec.timeout, spec.prime).await
    } else {
        bounded(target, &work, spec).await
    };
    Run {
        recorder,
        elapsed: start.elapsed(),
        offered: None,
    }
}

async fn bounded(target: &Target, work: &Arc<[(Session, Call)]>, spec: Batch) -> Recorder {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..spec.concurrency.clamp(1, work.len().max(1)) {
        let (target, work, next) = (target.clone(), work.clone(), next.clone());
        workers.spawn(async move {
            let mut recorder = Recorder::new();
            let mut conn: Option<Conn> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((session, call)) = work.get(i) else {
                    break;
                };
                let mut open = match connection(conn.take(), &target).await {
                    Ok(open) => open,
                    Err(e) => {
                        recorder.error(&e);
                        continue;
                    }
                };
                let id = i as u64 + 1;
                let started = Instant::now();
                let (done, result) =
                    exchange(&mut open, &target, session, call, id, spec.timeout).await;
                conn = record(&mut recorder, open, done - started, result);
            }
            recorder
        });
    }
    join(workers).await
}

async fn together(
    target: &Target,
    work: &Arc<[(Session, Call)]>,
    timeout: Duration,
    prime: bool,
) -> Recorder {
    let barrier = Arc::new(Barrier::new(work.len()));
    let mut workers = JoinSet::new();
    for i in 0..work.len() {
        let (target, work, barrier) = (target.clone(), work.clone(), barrier.clone());
        workers.spawn(async move {
            let mut recorder = Recorder::new();
            let (session, call) = &work[i];
            let id = i as u64 + 1;
            // Connect (and prime) before the release, so the storm is of requests, not of TCP
            // handshakes.
            let primed = match Conn::open(target.addr()).await {
                Ok(mut conn) if prime => {
                    let (_, listed) =
                        exchange(&mut conn, &target, session, &Call::List, id, timeout).await;
                    listed.map(|()| conn)
                }
                other => other,
            };
            barrier.wait().await;
            // A server may close a connection after the priming answer (Envoy's mcp_router
            // does under load): the request then goes on a new one.
            let ready = match primed {
                Ok(conn) if conn.is_closed() => Conn::open(target.addr()).await,
                other => other,
            };
            match ready {
                Ok(mut conn) => {
                    let started = Instant::now();
                    let (done, result) =
                        exchange(&mut conn, &target, session, call, id, timeout).await;
                    record(&mut recorder, conn, done - started, result);
                }
                Err(e) => recorder.error(&e),
            }
            recorder
        });
    }
    join(workers).await
}

/// Records one outcome; returns the connection when it can be reused.
fn record(
    recorder: &mut Recorder,
    conn: Conn,
    latency: Duration,
    result: Result<(), BenchError>,
) -> Option<Conn> {
    match result {
        Ok(()) => {
            recorder.ok(latency);
            Some(conn)
        }
        Err(e) => {
            recorder.error(&e);
            e.keeps_connection().then_some(conn)
        }
    }
}

async fn connection(conn: Option<Conn>, target: &Target) -> Result<Conn, BenchError> {
    match conn.filter(|c| !c.is_closed()) {
        Some(conn) => Ok(conn),
        None => Conn::open(target.addr()).await,
    }
}

async fn join(mut workers: JoinSet<Recorder>) -> Recorder {
    let mut recorder = Recorder::new();
    while let Some(done) = workers.join_next().await {
        if let Ok(worker) = done {
            recorder.merge(&worker);
        }
    }
    recorder
}
