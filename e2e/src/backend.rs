//! The example MCP servers (`mcp-example-server`) the gateway aggregates.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tokio::process::Command;

use crate::process::{ChildProcess, eventually, tail, workspace_binary};

/// Which example server to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerKind {
    /// Arithmetic tools.
    Calc,
    /// String tools.
    Text,
}

impl ServerKind {
    /// The server's name: its `--server` value and its name in the gateway config.
    pub fn name(self) -> &'static str {
        match self {
            Self::Calc => "calc",
            Self::Text => "text",
        }
    }

    /// The `toolPrefix` the harness configures for it.
    pub fn tool_prefix(self) -> String {
        format!("{}_", self.name())
    }

    /// The virtual `hostname` the harness configures for it.
    pub fn hostname(self) -> String {
        format!("{}.mcp.local", self.name())
    }

    /// The tools the server itself offers.
    pub fn tools(self) -> &'static [&'static str] {
        match self {
            Self::Calc => &[
                "add", "subtract", "multiply", "divide", "sqrt", "sum", "whoami",
            ],
            Self::Text => &[
                "upper",
                "lower",
                "reverse",
                "word_count",
                "now",
                "echo",
                "whoami",
            ],
        }
    }

    /// The tools as the gateway exposes them: prefixed.
    pub fn exposed_tools(self) -> impl Iterator<Item = String> {
        let prefix = self.tool_prefix();
        self.tools()
            .iter()
            .map(move |tool| format!("{prefix}{tool}"))
    }

    /// The prompts the server itself offers.
    pub fn prompts(self) -> &'static [&'static str] {
        match self {
            Self::Calc => &["explain"],
            Self::Text => &["summarize", "translate"],
        }
    }

    /// The prompts as the gateway exposes them: prefixed.
    pub fn exposed_prompts(self) -> impl Iterator<Item = String> {
        let prefix = self.tool_prefix();
        self.prompts()
            .iter()
            .map(move |prompt| format!("{prefix}{prompt}"))
    }
}

/// Counters from a server's `GET /stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// `initialize` requests answered.
    pub initialize: u64,
    /// `tools/call` requests received.
    pub tool_calls: u64,
    /// Level of the last `logging/setLevel` of any session, if any.
    pub log_level: Option<String>,
    /// `resources/subscribe` requests accepted.
    pub subscribes: u64,
    /// `resources/unsubscribe` requests accepted.
    pub unsubscribes: u64,
    /// `notifications/cancelled` received.
    pub cancellations: u64,
    /// `requestId` of the last `notifications/cancelled`, if any.
    pub last_cancelled_request: Option<Value>,
}

/// A running example server; killed on drop, restartable on the same port.
#[derive(Debug)]
pub struct Backend {
    kind: ServerKind,
    addr: SocketAddr,
    args: Vec<String>,
    log: PathBuf,
    process: Mutex<Option<ChildProcess>>,
    http: reqwest::Client,
}

impl Backend {
    /// Starts a server of `kind` on a free loopback port, logging into `dir`.
    pub async fn start(kind: ServerKind, dir: &Path) -> Result<Self> {
        Self::start_with_args(kind, dir, &[]).await
    }

    /// [`Self::start`] with extra `mcp-example-server` arguments (e.g. `--page-size 1`),
    /// kept for restarts.
    pub async fn start_with_args(kind: ServerKind, dir: &Path, args: &[&str]) -> Result<Self> {
        let log = dir.join(format!("{}.log", kind.name()));
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let (process, addr) = spawn(kind, "127.0.0.1:0", &args, &log).await?;
        Ok(Self {
            kind,
            addr,
            args,
            log,
            process: Mutex::new(Some(process)),
            http: crate::raw::http_client()?,
        })
    }

    /// Which server this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The URL of its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Its counters, from `GET /stats`.
    pub async fn stats(&self) -> Result<Stats> {
        let stats: Value = self
            .http
            .get(format!("http://{}/stats", self.addr))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .with_context(|| format!("decoding {}'s /stats", self.kind.name()))?;
        let counter = |name: &str| {
            stats
                .get(name)
                .and_then(Value::as_u64)
                .ok_or_else(|| anyhow!("no {name} counter in {stats}"))
        };
        let optional = |name: &str| match stats.get(name) {
            Some(Value::Null) => Ok(None),
            Some(value) => Ok(Some(value.clone())),
            None => Err(anyhow!("no {name} in {stats}")),
        };
        let log_level = match optional("log_level")? {
            None => None,
            Some(Value::String(level)) => Some(level),
            Some(other) => bail!("log_level is not a string in {other}"),
        };
        Ok(Stats {
            initialize: counter("initialize")?,
            tool_calls: counter("tool_calls")?,
            log_level,
            subscribes: counter("subscribes")?,
            unsubscribes: counter("unsubscribes")?,
            cancellations: counter("cancellations")?,
            last_cancelled_request: optional("last_cancelled_request")?,
        })
    }

    /// Kills the server and waits until it is gone.
    pub async fn kill(&self) -> Result<()> {
        let process = self.take_process()?;
        match process {
            Some(mut process) => process.kill().await,
            None => bail!("{} is not running", self.kind.name()),
        }
    }

    /// Starts the server again on the same port (a fresh process: no sessions, zeroed stats).
    pub async fn restart(&self) -> Result<()> {
        if self.take_process()?.is_some() {
            bail!("{} is still running; kill it first", self.kind.name());
        }
        let listen = self.addr.to_string();
        let what = format!("{} to listen on {listen} again", self.kind.name());
        let (process, _) =
            eventually(&what, || spawn(self.kind, &listen, &self.args, &self.log)).await?;
        *self
            .process
            .lock()
            .map_err(|_| anyhow!("backend lock poisoned"))? = Some(process);
        Ok(())
    }

    /// The end of its log.
    pub fn log_tail(&self) -> String {
        format!(
            "--- {} ({}) ---\n{}",
            self.kind.name(),
            self.log.display(),
            tail(&self.log)
        )
    }

    fn take_process(&self) -> Result<Option<ChildProcess>> {
        Ok(self
            .process
            .lock()
            .map_err(|_| anyhow!("backend lock poisoned"))?
            .take())
    }
}

/// Runs `mcp-example-server` with `args` and reads the address it announces.
async fn spawn(
    kind: ServerKind,
    listen: &str,
    args: &[String],
    log: &Path,
) -> Result<(ChildProcess, SocketAddr)> {
    let mut command = Command::new(workspace_binary("mcp-example-server")?);
    command.args(["--server", kind.name(), "--listen", listen]);
    command.args(args);
    let (process, line) = ChildProcess::spawn_announced(kind.name(), command, log).await?;
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .with_context(|| format!("unexpected announcement from {}: {line:?}", kind.name()))?;
    Ok((process, addr))
}
