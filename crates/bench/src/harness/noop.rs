//! The no-op ext_proc server (`mcp-noop-ext-proc`) of path 5.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::process::Command;

use super::process::Child;
use super::procfs::ProcSample;

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `mcp-noop-ext-proc`.
#[derive(Debug)]
pub struct NoopExtProc {
    child: Child,
    addr: SocketAddr,
}

impl NoopExtProc {
    /// Starts `binary` on a free loopback port.
    pub async fn start(binary: &Path, dir: &Path) -> Result<Self> {
        let name = "noop-ext-proc";
        let mut command = Command::new(binary);
        command.args(["--listen", "127.0.0.1:0"]);
        let log = dir.join(format!("{name}.log"));
        let (child, line) = Child::spawn_announced(name, command, &log, START_TIMEOUT).await?;
        let addr = line
            .strip_prefix("ready addr=")
            .and_then(|addr| addr.trim().parse().ok())
            .with_context(|| format!("{name} announced {line:?}"))?;
        Ok(Self { child, addr })
    }

    /// Where Envoy reaches it.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its CPU time and memory now.
    pub fn sample(&self) -> Result<ProcSample> {
        self.child.sample()
    }

    /// Stops it.
    pub async fn stop(self) {
        self.child.stop().await;
    }
}
