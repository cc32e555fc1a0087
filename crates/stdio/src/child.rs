//! One child process: the stdio server of one session.
//!
//! Messages are newline-delimited JSON on the child's stdin and stdout (the MCP stdio
//! transport); stderr is only logged. A response from the child goes to the request
//! waiting for its id; other messages (notifications, requests to the client) go to the
//! most recent request still waiting, or are dropped (logged) when none is.

use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::BridgeState;

/// A running (or exited) child and what waits on it.
#[derive(Debug)]
pub(crate) struct Child {
    server: String,
    session: String,
    stdin: tokio::sync::Mutex<ChildStdin>,
    /// Requests waiting for an answer, by their id as JSON text, oldest first.
    pending: Mutex<Vec<(String, mpsc::UnboundedSender<Value>)>>,
    /// Cancelled when the process has exited.
    exited: CancellationToken,
    /// Cancelled to kill the process.
    kill: CancellationToken,
    last_active: Mutex<Instant>,
}

impl Child {
    /// Starts the bridge's command for the new session `session`.
    pub(crate) fn spawn(state: &Arc<BridgeState>, session: &str) -> std::io::Result<Arc<Self>> {
        let spec = &state.command;
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .envs(&spec.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &spec.working_dir {
            command.current_dir(dir);
        }
        let mut process = command.spawn()?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            process.stdin.take(),
            process.stdout.take(),
            process.stderr.take(),
        ) else {
            return Err(std::io::Error::other("the child's pipes are missing"));
        };
        let child = Arc::new(Self {
            server: state.server.clone(),
            session: session.to_owned(),
            stdin: tokio::sync::Mutex::new(stdin),
            pending: Mutex::new(Vec::new()),
            exited: CancellationToken::new(),
            kill: CancellationToken::new(),
            last_active: Mutex::new(Instant::now()),
        });
        debug!(server = %child.server, session, pid = ?process.id(), "stdio server started");
        tokio::spawn(log_stderr(child.clone(), stderr));
        tokio::spawn(read_stdout(child.clone(), stdout));
        let watched = child.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let status = tokio::select! {
                status = process.wait() => status,
                () = watched.kill.cancelled() => {
                    // kill() also reaps the process.
                    let killed = process.kill().await;
                    debug!(server = %watched.server, session = %watched.session, ?killed, "stdio server killed");
                    killed.map(|()| std::process::ExitStatus::default())
                }
            };
            if !watched.kill.is_cancelled() {
                warn!(server = %watched.server, session = %watched.session, ?status, "stdio server exited; its session is gone");
            }
            state.remove(&watched.session);
            watched.exited.cancel();
            // Waiting requests see their channel close.
            watched.pending().clear();
        });
        Ok(child)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<(String, mpsc::UnboundedSender<Value>)>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(&self) {
        *self
            .last_active
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// How long nothing was sent to or received from the child.
    pub(crate) fn idle_for(&self) -> Duration {
        self.last_active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }

    /// Whether the process has exited.
    pub(crate) fn has_exited(&self) -> bool {
        self.exited.is_cancelled()
    }

    /// Asks for the process to be killed (the session then ends).
    pub(crate) fn kill(&self) {
        self.kill.cancel();
    }

    /// Expects an answer to the request with this id: every message meant for it arrives
    /// on the receiver, the response last; it closes early if the child exits.
    pub(crate) fn expect(&self, id: &Value) -> mpsc::UnboundedReceiver<Value> {
        let (sender, receiver) = mpsc::unbounded_channel();
        if !self.has_exited() {
            let key = id.to_string();
            let mut pending = self.pending();
            pending.retain(|(waiting, _)| *waiting != key);
            pending.push((key, sender));
        }
        receiver
    }

    /// Stops waiting for an answer to `id` (its HTTP exchange is over).
    pub(crate) fn forget(&self, id: &Value) {
        let key = id.to_string();
        self.pending().retain(|(waiting, _)| *waiting != key);
    }

    /// Writes one message to the child's stdin.
    pub(crate) async fn send(&self, message: &Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.touch();
        let mut stdin = self.stdin.lock().await;
        stdin.write_all(&line).await?;
        stdin.flush().await
    }

    fn deliver(&self, message: Value) {
        self.touch();
        let response = message.get("method").is_none()
            && (message.get("result").is_some() || message.get("error").is_some());
        let mut pending = self.pending();
        if response {
            let key = message.get("id").map(Value::to_string).unwrap_or_default();
            if let Some(index) = pending.iter().position(|(waiting, _)| *waiting == key) {
                let (_, sender) = pending.remove(index);
                let _ = sender.send(message);
            } else {
                debug!(server = %self.server, session = %self.session, id = %key, "stdio server answered no waiting request");
            }
        } else if let Some((_, sender)) = pending.last() {
            let _ = sender.send(message);
        } else {
            debug!(server = %self.server, session = %self.session, "stdio server message outside a request dropped (no GET stream)");
        }
    }
}

/// The longest line (one JSON-RPC message) a stdio server may write: a longer one ends the
/// child, so a faulty server cannot grow the bridge's memory without bound.
const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

async fn read_stdout(child: Arc<Child>, stdout: impl AsyncRead + Unpin) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) => break,
            Ok(_) if line.len() as u64 > MAX_LINE_BYTES => {
                warn!(server = %child.server, session = %child.session, limit = MAX_LINE_BYTES, "stdio server wrote a line over the limit; stopping it");
                child.kill();
                break;
            }
            Ok(_) if line.trim_ascii().is_empty() => {}
            Ok(_) => match serde_json::from_slice::<Value>(&line) {
                Ok(message) if message.is_object() => child.deliver(message),
                _ => {
                    warn!(server = %child.server, session = %child.session, "stdio server wrote a line that is not a JSON-RPC message; ignored");
                }
            },
            Err(error) => {
                warn!(server = %child.server, session = %child.session, %error, "reading the stdio server's stdout");
                break;
            }
        }
    }
    debug!(server = %child.server, session = %child.session, "stdio server closed stdout");
}

async fn log_stderr(child: Arc<Child>, stderr: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        debug!(server = %child.server, session = %child.session, stderr = %line, "stdio server");
    }
}
