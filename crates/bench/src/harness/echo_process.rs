//! `mcp-echo-server` processes.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::process::Command;

use super::http::{fetch_json, post_empty};
use super::process::Child;
use super::procfs::ProcSample;
use super::render::Backend;
use crate::echo::{EchoOptions, EchoStats, endpoint_url};

/// How long the echo server may take to bind.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running echo server (one or more backends on one port).
#[derive(Debug)]
pub struct EchoProcess {
    child: Child,
    addr: SocketAddr,
    multi: bool,
}

impl EchoProcess {
    /// Starts `binary` with `options` and `threads` workers (0: one per CPU).
    pub async fn start(
        binary: &Path,
        dir: &Path,
        name: &str,
        options: EchoOptions,
        threads: usize,
    ) -> Result<Self> {
        let mut command = Command::new(binary);
        command
            .args(["--listen", "127.0.0.1:0", "--tools"])
            .arg(options.tools.to_string())
            .arg("--page-size")
            .arg(options.page_size.to_string())
            .arg("--backends")
            .arg(options.backends.to_string())
            .arg("--threads")
            .arg(threads.to_string());
        let log = dir.join(format!("{name}.log"));
        let (child, line) = Child::spawn_announced(name, command, &log, START_TIMEOUT).await?;
        let addr = announced_addr(&line).with_context(|| format!("{name} announced {line:?}"))?;
        Ok(Self {
            child,
            addr,
            multi: options.backends > 1,
        })
    }

    /// Backend `index` under the server name `name`.
    pub fn backend(&self, index: usize, name: &str) -> Backend {
        let url = endpoint_url(self.addr, self.multi, index);
        let path = url
            .split_once(&self.addr.to_string())
            .map(|(_, path)| path.to_owned())
            .unwrap_or_else(|| "/mcp".to_owned());
        Backend {
            name: name.to_owned(),
            addr: self.addr,
            path,
        }
    }

    /// Its counters.
    pub async fn stats(&self) -> Result<EchoStats> {
        fetch_json(&format!("http://{}/stats", self.addr)).await
    }

    /// Changes the tool list of backend `index` (of every backend with `None`); returns the
    /// new generation (the highest one when several changed).
    pub async fn bump(&self, index: Option<usize>) -> Result<u64> {
        let path = match index {
            Some(i) if self.multi => format!("/b/{i}/admin/bump"),
            _ => "/admin/bump".to_owned(),
        };
        let body = post_empty(&format!("http://{}{path}", self.addr)).await?;
        let bumped: Bumped = serde_json::from_slice(&body).context("bump answer")?;
        bumped
            .generations
            .into_iter()
            .max()
            .context("no backend was bumped")
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

#[derive(Debug, serde::Deserialize)]
struct Bumped {
    generations: Vec<u64>,
}

/// The address in `listening on http://<addr>/...`.
fn announced_addr(line: &str) -> Result<SocketAddr> {
    let rest = line
        .split_once("http://")
        .map(|(_, rest)| rest)
        .context("no http:// in the line")?;
    let addr = rest.split('/').next().unwrap_or(rest);
    addr.parse()
        .with_context(|| format!("{addr:?} is not an address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_announced_addresses() {
        let addr = announced_addr("listening on http://127.0.0.1:4100/mcp").expect("parsed");
        assert_eq!(addr.port(), 4100);
        let multi = announced_addr("listening on http://127.0.0.1:4101/b/{0..99}/mcp").expect("ok");
        assert_eq!(multi.port(), 4101);
        assert!(announced_addr("listening").is_err());
    }
}
