//! Child processes of a test: where their binaries are, starting them with logs in
//! files, reading their one-line readiness announcement, killing them on drop, and
//! polling for a condition with a deadline.

use std::{
    fs::OpenOptions,
    future::Future,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, Result, anyhow, bail};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    time::Instant,
};

/// Default deadline of every wait in the harness.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Pause between two attempts of a poll loop.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Lines of a log file shown when a test ends.
const TAIL_LINES: usize = 40;

/// The workspace root: the parent of this crate's directory.
pub fn workspace_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The path of a binary built by this workspace, in `$CARGO_TARGET_DIR/debug` or
/// `<workspace>/target/debug`; an error says how to build it when it is missing.
pub fn workspace_binary(name: &str) -> Result<PathBuf> {
    let workspace = workspace_dir();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| workspace.join(dir))
        .unwrap_or_else(|| workspace.join("target"));
    let path = target.join("debug").join(name);
    if !path.is_file() {
        bail!(
            "{name} not found at {}: run `cargo build --workspace --bins` first",
            path.display()
        );
    }
    Ok(path)
}

/// A running child process whose stderr goes to a log file. Killed on drop.
#[derive(Debug)]
pub struct ChildProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ChildProcess {
    /// Starts `command` with stdout discarded and stderr appended to `log`.
    pub fn spawn(name: &str, command: Command, log: &Path) -> Result<Self> {
        Self::start(name, command, log, Stdio::null())
    }

    /// Starts `command` with stderr appended to `log` and waits for the first line it
    /// prints on stdout, which is returned; later stdout output is discarded.
    pub async fn spawn_announced(
        name: &str,
        command: Command,
        log: &Path,
    ) -> Result<(Self, String)> {
        let mut process = Self::start(name, command, log, Stdio::piped())?;
        let stdout = process
            .child
            .stdout
            .take()
            .context("child stdout was not captured")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = match tokio::time::timeout(DEADLINE, lines.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => bail!(
                "{name} closed stdout before announcing itself\n{}",
                process.log_tail()
            ),
            Ok(Err(error)) => return Err(error).context(format!("reading {name}'s stdout")),
            Err(_) => bail!(
                "{name} printed nothing on stdout within {DEADLINE:?}\n{}",
                process.log_tail()
            ),
        };
        // Keep draining so that a chatty child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((process, line))
    }

    fn start(name: &str, mut command: Command, log: &Path, stdout: Stdio) -> Result<Self> {
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let child = command
            // Plain log files: no ANSI colours.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
        })
    }

    /// Fails, with the end of the log, when the process has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(anyhow!(
                "{} exited unexpectedly ({status})\n{}",
                self.name,
                self.log_tail()
            )),
            Err(error) => Err(error).context(format!("checking on {}", self.name)),
        }
    }

    /// Sends `signal` (a `kill` name such as `STOP` or `CONT`) to the process.
    pub fn signal(&self, signal: &str) -> Result<()> {
        let pid = self
            .child
            .id()
            .with_context(|| format!("{} has exited", self.name))?;
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .context("running kill")?;
        if !status.success() {
            bail!("kill -{signal} {pid} ({}) failed: {status}", self.name);
        }
        Ok(())
    }

    /// Kills the process and waits until it is gone.
    pub async fn kill(&mut self) -> Result<()> {
        self.child
            .kill()
            .await
            .with_context(|| format!("killing {}", self.name))
    }

    /// Everything the process has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of this process's log, headed by its name.
    pub fn log_tail(&self) -> String {
        format!(
            "--- {} ({}) ---\n{}",
            self.name,
            self.log.display(),
            tail(&self.log)
        )
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // `kill_on_drop` does the same; being explicit keeps it true if that changes.
        let _ = self.child.start_kill();
    }
}

/// The last [`TAIL_LINES`] lines of a file, or why it could not be read.
pub fn tail(path: &Path) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory,
/// then a rename, so a watcher never reads half a file.
pub fn write_atomically(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().context("the path has no parent directory")?;
    let mut temporary = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    temporary.write_all(contents.as_bytes())?;
    temporary.as_file().sync_all()?;
    temporary
        .persist(path)
        .with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Runs `attempt` until it succeeds or [`DEADLINE`] passes; the error then says what
/// was awaited and how the last attempt failed.
pub async fn eventually<T, F, Fut>(what: &str, attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    eventually_within(what, DEADLINE, attempt).await
}

/// [`eventually`] with an explicit deadline.
pub async fn eventually_within<T, F, Fut>(what: &str, within: Duration, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let deadline = Instant::now() + within;
    let mut previous: Option<anyhow::Error> = None;
    loop {
        let error = match tokio::time::timeout_at(deadline, attempt()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            // Often one started just before the deadline: the one before says more.
            Err(_) => match previous.take() {
                Some(previous) => previous.context("the last attempt was still running"),
                None => anyhow!("the last attempt was still running"),
            },
        };
        if Instant::now() >= deadline {
            bail!("timed out after {within:?} waiting for {what}; last error: {error:#}");
        }
        previous = Some(error);
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
