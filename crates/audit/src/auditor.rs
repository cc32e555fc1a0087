//! The queue between the hot path and the audit output.

use std::collections::VecDeque;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use crate::{Record, TARGET};

/// Lines queued at most before new ones are dropped (and counted).
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Lines the writer keeps for [`Auditor::recent`] (the console's live feed).
pub const RECENT: usize = 50;

/// How often the writer reports dropped lines (when any were dropped).
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Where audit lines go.
pub enum Sink {
    /// Events of the tracing target [`TARGET`], at `info`.
    Tracing,
    /// Any writer, e.g. the audit file opened for appending.
    Writer(Box<dyn Write + Send>),
}

impl Sink {
    /// The file at `path`, created if missing and appended to.
    pub fn file(path: &Path) -> io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self::Writer(Box::new(file)))
    }
}

/// Takes audit records from any thread without blocking; one writer thread writes them.
pub struct Auditor {
    queue: SyncSender<String>,
    dropped: Arc<AtomicU64>,
    recent: Arc<Recent>,
}

/// The last [`RECENT`] lines written. Only the writer thread and readers of
/// [`Auditor::recent`] take the lock; the request path never does.
#[derive(Default)]
struct Recent(Mutex<VecDeque<Arc<str>>>);

impl Recent {
    fn push(&self, line: &str) {
        let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == RECENT {
            lines.pop_front();
        }
        lines.push_back(Arc::from(line));
    }

    fn lines(&self) -> Vec<Arc<str>> {
        let lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        lines.iter().cloned().collect()
    }
}

impl Auditor {
    /// Starts the writer thread for `sink`, with room for `capacity` queued lines.
    pub fn start(sink: Sink, capacity: usize) -> io::Result<Self> {
        let (queue, lines) = mpsc::sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let recent = Arc::new(Recent::default());
        let counter = dropped.clone();
        let kept = recent.clone();
        thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_lines(sink, &lines, &counter, &kept))?;
        Ok(Self {
            queue,
            dropped,
            recent,
        })
    }

    /// Queues `record` as a line stamped now. Never waits: with the queue full the line is
    /// dropped and counted.
    pub fn record(&self, record: &Record<'_>) {
        let line = record.to_line(SystemTime::now());
        match self.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped so far because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The last lines written (at most [`RECENT`]), oldest first: JSON objects as in the
    /// audit output, kept by the writer thread off the request path.
    pub fn recent(&self) -> Vec<Arc<str>> {
        self.recent.lines()
    }
}

/// The process-wide auditor, set once by the binary; `None` until then (tests, tools).
static GLOBAL: OnceLock<Auditor> = OnceLock::new();

impl Auditor {
    /// Makes `self` the auditor [`Auditor::global`] returns; a second call is refused.
    pub fn install(self) -> Result<(), Self> {
        GLOBAL.set(self)
    }

    /// The installed auditor, if any.
    pub fn global() -> Option<&'static Auditor> {
        GLOBAL.get()
    }
}

fn write_lines(sink: Sink, lines: &Receiver<String>, dropped: &AtomicU64, recent: &Recent) {
    let mut out = match sink {
        Sink::Tracing => None,
        Sink::Writer(writer) => Some(BufWriter::new(writer)),
    };
    let mut reported = 0;
    loop {
        let line = match lines.recv_timeout(REPORT_EVERY) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let Some(line) = line {
            emit(&mut out, &line);
            recent.push(&line);
            // Write what is queued, then flush once: a line is on disk as soon as the
            // writer is idle.
            while let Ok(line) = lines.try_recv() {
                emit(&mut out, &line);
                recent.push(&line);
            }
        }
        let now = dropped.load(Ordering::Relaxed);
        if now > reported {
            warn!(
                dropped = now - reported,
                total = now,
                "audit lines dropped: the audit writer fell behind"
            );
            let report = format!(
                r#"{{"time":"{}","event":"audit_lines_dropped","count":{},"total":{now}}}"#,
                crate::time::rfc3339(SystemTime::now()),
                now - reported
            );
            emit(&mut out, &report);
            reported = now;
        }
        if let Some(out) = &mut out
            && let Err(error) = out.flush()
        {
            warn!(%error, "cannot write the audit log");
        }
    }
}

fn emit(out: &mut Option<BufWriter<Box<dyn Write + Send>>>, line: &str) {
    match out {
        None => info!(target: TARGET, "{line}"),
        Some(out) => {
            // A write error is reported at the next flush.
            let _ = out.write_all(line.as_bytes());
            let _ = out.write_all(b"\n");
        }
    }
}

#[cfg(test)]
mod tests;
