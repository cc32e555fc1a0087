//! Child processes of a benchmark run: started with their output in a log file, readable in
//! `/proc`, killed on drop.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use super::procfs::{self, ProcSample};

/// How often readiness is polled.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// A running child process. Killed when dropped.
#[derive(Debug)]
pub struct Child {
    name: String,
    process: tokio::process::Child,
    pid: u32,
    log: PathBuf,
}

impl Child {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Self> {
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        Self::start(name, command, log)
    }

    /// Starts `command` and waits (up to `timeout`) for the first line on its stdout, which it
    /// returns; the rest of stdout and all of stderr go to `log`.
    pub async fn spawn_announced(
        name: &str,
        mut command: Command,
        log: &Path,
        timeout: Duration,
    ) -> Result<(Self, String)> {
        let err =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let mut child = Self::start(name, command, log)?;
        let stdout = child
            .process
            .stdout
            .take()
            .ok_or_else(|| anyhow!("{name}: no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(timeout, lines.next_line()).await;
        let line = match first {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => bail!(
                "{name} exited before announcing itself:\n{}",
                child.log_tail()
            ),
            Ok(Err(e)) => bail!("{name}: reading stdout: {e}"),
            Err(_) => bail!(
                "{name} printed nothing within {timeout:?}:\n{}",
                child.log_tail()
            ),
        };
        let log = log.to_owned();
        tokio::spawn(async move {
            let Ok(mut file) = tokio::fs::OpenOptions::new().append(true).open(&log).await else {
                return;
            };
            while let Ok(Some(line)) = lines.next_line().await {
                if file
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        child.ensure_running()?;
        Ok((child, line))
    }

    fn start(name: &str, mut command: Command, log: &Path) -> Result<Self> {
        let process = command
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        let pid = process
            .id()
            .ok_or_else(|| anyhow!("{name} exited at once"))?;
        Ok(Self {
            name: name.to_owned(),
            process,
            pid,
            log: log.to_owned(),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its CPU time and memory now; fails when it has exited.
    pub fn sample(&self) -> Result<ProcSample> {
        procfs::sample(self.pid).with_context(|| {
            format!(
                "{} (pid {}); log {}:\n{}",
                self.name,
                self.pid,
                self.log.display(),
                self.log_tail()
            )
        })
    }

    /// Fails when the process has exited.
    pub fn ensure_running(&mut self) -> Result<()> {
        match self.process.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!(
                "{} exited ({status}); log {}:\n{}",
                self.name,
                self.log.display(),
                self.log_tail()
            ),
            Err(e) => bail!("{}: {e}", self.name),
        }
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Kills it and waits for it to exit.
    pub async fn stop(mut self) {
        self.process.kill().await.ok();
    }
}

/// Polls `attempt` until it succeeds or `timeout` passes; the error names `what` and the last
/// failure.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() >= deadline => {
                return Err(e.context(format!("waiting {timeout:?} for {what}")));
            }
            Err(_) => tokio::time::sleep(POLL_EVERY).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_retries_then_gives_up() {
        let mut calls = 0;
        let value = eventually("the third call", Duration::from_secs(5), || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    bail!("not yet");
                }
                Ok(n)
            }
        })
        .await
        .expect("succeeds");
        assert_eq!(value, 3);
        let failed: Result<()> = eventually("never", Duration::from_millis(120), || async {
            bail!("no")
        })
        .await;
        let message = format!("{:#}", failed.expect_err("times out"));
        assert!(
            message.contains("never") && message.contains("no"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn announced_child_reports_its_first_line() {
        let dir = std::env::temp_dir().join(format!("mcp-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut command = Command::new("sh");
        command.args(["-c", "echo ready at 1; echo more; sleep 5"]);
        let (child, line) =
            Child::spawn_announced("sh", command, &dir.join("sh.log"), Duration::from_secs(5))
                .await
                .expect("starts");
        assert_eq!(line, "ready at 1");
        assert!(child.sample().expect("proc").rss_kib > 0);
        child.stop().await;
        std::fs::remove_dir_all(&dir).ok();
    }
}
