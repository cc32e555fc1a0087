//! Open loop: requests scheduled at fixed intervals whatever the server does, each one's
//! latency measured from its scheduled send time, so a stalled server is charged for every
//! request it delayed (no coordinated omission).
//!
//! A dedicated OS thread keeps the schedule (tokio's timer has millisecond granularity): it
//! sleeps until just before the next send time, spins the rest when the interval allows, and
//! hands the request to the runtime. How late requests actually left is recorded as the send lag.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::connection::Conn;
use super::job::{Job, Run};
use super::mcp::{Call, Session};
use super::recorder::Recorder;
use super::target::Target;
use crate::BenchError;

/// The scheduler sleeps until this long before a send time and spins the rest...
const SPIN_WINDOW: Duration = Duration::from_micros(60);
/// ...when requests are at least this far apart (below, spinning would burn a core).
const SPIN_MIN_INTERVAL: Duration = Duration::from_micros(400);
/// Connections opened before the first request.
const PREOPENED: usize = 4;

/// An open-loop run.
#[derive(Debug, Clone, Copy)]
pub struct OpenLoop {
    /// Requests per second.
    pub rate: f64,
    /// How long requests are scheduled.
    pub duration: Duration,
    /// Per-request timeout, counted from the scheduled time.
    pub timeout: Duration,
    /// Most connections open at once; requests beyond wait (and their wait counts).
    pub max_connections: usize,
}

struct Shared {
    job: Job,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    recorder: Mutex<Recorder>,
}

impl Shared {
    async fn attempt(&self) -> (Instant, Result<(), BenchError>) {
        let Ok(_permit) = self.permits.acquire().await else {
            return (
                Instant::now(),
                Err(BenchError::Protocol("pool closed".into())),
            );
        };
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .filter(|c| !c.is_closed());
        let mut conn = match idle {
            Some(conn) => conn,
            None => match Conn::open(self.job.target.addr()).await {
                Ok(conn) => conn,
                Err(e) => return (Instant::now(), Err(e)),
            },
        };
        let (done, result) = self.job.send(&mut conn).await;
        if result
            .as_ref()
            .map_or_else(BenchError::keeps_connection, |()| true)
        {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
        (done, result)
    }
}

/// Runs `call` at `spec.rate` over `sessions` (round-robin).
pub async fn run_open(
    target: &Target,
    sessions: Arc<[Session]>,
    call: &Call,
    spec: OpenLoop,
) -> Result<Run, BenchError> {
    if !(spec.rate.is_finite() && spec.rate > 0.0) {
        return Err(BenchError::Protocol(format!("invalid rate {}", spec.rate)));
    }
    let total = (spec.rate * spec.duration.as_secs_f64()).round() as u64;
    let max_connections = spec.max_connections.max(1);
    let mut idle = Vec::new();
    for _ in 0..PREOPENED.min(max_connections) {
        idle.push(Conn::open(target.addr()).await?);
    }
    let shared = Arc::new(Shared {
        job: Job::new(target, sessions, call, spec.timeout)?,
        idle: Mutex::new(idle),
        permits: Semaphore::new(max_connections),
        recorder: Mutex::new(Recorder::new()),
    });
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let handle = tokio::runtime::Handle::current();
    let start = Instant::now() + Duration::from_millis(2);
    let schedule = Schedule {
        start,
        rate: spec.rate,
        spin: Duration::from_secs_f64(1.0 / spec.rate) >= SPIN_MIN_INTERVAL,
    };
    let timeout = spec.timeout;
    let scheduled = shared.clone();
    std::thread::Builder::new()
        .name("mcp-loadgen-schedule".into())
        .spawn(move || {
            for i in 0..total {
                let at = schedule.send_time(i);
                schedule.wait_until(at);
                handle.spawn(fire(scheduled.clone(), at, timeout, done_tx.clone()));
            }
        })?;
    // Every sender (the thread's and each request's) is gone once all requests are done.
    done_rx.recv().await;
    let elapsed = start.elapsed();
    let recorder = shared
        .recorder
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(Run {
        recorder,
        elapsed,
        offered: Some(spec.rate),
    })
}

async fn fire(shared: Arc<Shared>, at: Instant, timeout: Duration, _done: mpsc::Sender<()>) {
    let lag = Instant::now().saturating_duration_since(at);
    let deadline = tokio::time::Instant::from_std(at + timeout);
    let outcome = tokio::time::timeout_at(deadline, shared.attempt()).await;
    let mut recorder = shared
        .recorder
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    recorder.lag(lag);
    match outcome {
        Ok((done, Ok(()))) => recorder.ok(done.saturating_duration_since(at)),
        Ok((_, Err(e))) => recorder.error(&e),
        Err(_) => recorder.error(&BenchError::Timeout(timeout)),
    }
}

/// Send times `start + i / rate`.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    start: Instant,
    rate: f64,
    spin: bool,
}

impl Schedule {
    fn send_time(&self, i: u64) -> Instant {
        self.start + Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// Blocks the scheduler thread until `at` (returns at once when it is past).
    fn wait_until(&self, at: Instant) {
        let now = Instant::now();
        if at <= now {
            return;
        }
        let left = at - now;
        if !self.spin {
            std::thread::sleep(left);
            return;
        }
        if left > SPIN_WINDOW {
            std::thread::sleep(left - SPIN_WINDOW);
        }
        while Instant::now() < at {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_times_are_evenly_spaced() {
        let start = Instant::now();
        let schedule = Schedule {
            start,
            rate: 1_000.0,
            spin: true,
        };
        assert_eq!(schedule.send_time(0), start);
        assert_eq!(schedule.send_time(1) - start, Duration::from_millis(1));
        assert_eq!(
            schedule.send_time(2_500) - start,
            Duration::from_millis(2_500)
        );
    }

    #[test]
    fn waiting_never_returns_early() {
        let schedule = Schedule {
            start: Instant::now(),
            rate: 1_000.0,
            spin: true,
        };
        for _ in 0..5 {
            let at = Instant::now() + Duration::from_micros(300);
            schedule.wait_until(at);
            assert!(Instant::now() >= at);
        }
    }
}
