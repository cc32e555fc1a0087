//! The MCP servers the gateway aggregates, each a child process: the example servers
//! (`mcp-example-server`), the conformance suite's fixture (`mcp-conformance-server`) and
//! the benchmark's echo backend (`mcp-echo-server`), whose tools change on request
//! without any notification.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Mutex,
};

use anyhow::{Context, Result, anyhow, bail};
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
        tool_prefix(self.name())
    }

    /// The virtual `hostname` the harness configures for it.
    pub fn hostname(self) -> String {
        hostname(self.name())
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

/// The `toolPrefix` the harness configures for the server called `name`: `<name>_`.
pub fn tool_prefix(name: &str) -> String {
    format!("{name}_")
}

/// The virtual `hostname` the harness configures for the server called `name`.
pub fn hostname(name: &str) -> String {
    format!("{name}.mcp.local")
}

/// What a [`Backend`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `mcp-example-server --server <kind>`.
    Example(ServerKind),
    /// `mcp-conformance-server`: every tool, resource and prompt of the conformance
    /// suite, including tools that log, sample and elicit while they run.
    Conformance,
    /// `mcp-echo-server`: one tool, `echo`; [`Backend::bump`] changes its tools without
    /// announcing it (JSON responses only, no GET stream: it never notifies).
    Echo,
}

/// Counters from a server's `GET /stats`.
pub use mcp_gateway_example_servers::StatsSnapshot as Stats;

/// A running backend server; killed on drop, restartable on the same port.
#[derive(Debug)]
pub struct Backend {
    name: String,
    program: Program,
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
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        Self::launch(kind.name(), Program::Example(kind), args, dir).await
    }

    /// Starts a conformance fixture server called `name` (prefix `<name>_`) on a free
    /// loopback port, logging into `dir`.
    pub async fn start_conformance(name: &str, dir: &Path) -> Result<Self> {
        let args = vec!["--allowed-host".to_owned(), hostname(name)];
        Self::launch(name, Program::Conformance, args, dir).await
    }

    /// Starts an echo server called `name` (prefix `<name>_`) on a free loopback port,
    /// logging into `dir`.
    pub async fn start_echo(name: &str, dir: &Path) -> Result<Self> {
        let args = vec!["--threads".to_owned(), "1".to_owned()];
        Self::launch(name, Program::Echo, args, dir).await
    }

    async fn launch(name: &str, program: Program, args: Vec<String>, dir: &Path) -> Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let (process, addr) = spawn(program, name, "127.0.0.1:0", &args, &log).await?;
        Ok(Self {
            name: name.to_owned(),
            program,
            addr,
            args,
            log,
            process: Mutex::new(Some(process)),
            http: crate::raw::http_client()?,
        })
    }

    /// Its name in the gateway config.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it runs.
    pub fn program(&self) -> Program {
        self.program
    }

    /// Which example server this is; `None` for the others.
    pub fn kind(&self) -> Option<ServerKind> {
        match self.program {
            Program::Example(kind) => Some(kind),
            Program::Conformance | Program::Echo => None,
        }
    }

    /// The `toolPrefix` the harness configures for it.
    pub fn tool_prefix(&self) -> String {
        tool_prefix(&self.name)
    }

    /// The virtual `hostname` the harness configures for it.
    pub fn hostname(&self) -> String {
        hostname(&self.name)
    }

    /// The URL of its MCP endpoint.
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Its counters, from `GET /stats`.
    pub async fn stats(&self) -> Result<Stats> {
        self.http
            .get(format!("http://{}/stats", self.addr))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .with_context(|| format!("decoding {}'s /stats", self.name))
    }

    /// How many sessions an echo server opened (its `/stats` counts differently from the
    /// example servers').
    pub async fn echo_initialized(&self) -> Result<u64> {
        let stats: serde_json::Value = self
            .http
            .get(format!("http://{}/stats", self.addr))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        stats
            .pointer("/total/initialize")
            .and_then(serde_json::Value::as_u64)
            .with_context(|| format!("no initialize count in {}'s /stats: {stats}", self.name))
    }

    /// Changes an echo server's tools, silently: `echo` plus a new `bumped_<n>` (replacing
    /// the previous one). Returns the new tool's name at the server.
    pub async fn bump(&self) -> Result<String> {
        if self.program != Program::Echo {
            bail!("{} is not an echo server", self.name);
        }
        let answer: serde_json::Value = self
            .http
            .post(format!("http://{}/admin/bump", self.addr))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .with_context(|| format!("decoding {}'s /admin/bump answer", self.name))?;
        let generation = answer
            .pointer("/generations/0")
            .and_then(serde_json::Value::as_u64)
            .with_context(|| format!("no generation in {}'s answer {answer}", self.name))?;
        Ok(format!("bumped_{generation}"))
    }

    /// Kills the server and waits until it is gone.
    pub async fn kill(&self) -> Result<()> {
        let process = self.take_process()?;
        match process {
            Some(mut process) => process.kill().await,
            None => bail!("{} is not running", self.name),
        }
    }

    /// Sends `signal` (a `kill` name: `STOP` freezes the server with its connections open,
    /// `CONT` thaws it).
    pub fn signal(&self, signal: &str) -> Result<()> {
        let process = self
            .process
            .lock()
            .map_err(|_| anyhow!("backend lock poisoned"))?;
        match process.as_ref() {
            Some(process) => process.signal(signal),
            None => bail!("{} is not running", self.name),
        }
    }

    /// Starts the server again on the same port (a fresh process: no sessions, zeroed stats).
    pub async fn restart(&self) -> Result<()> {
        if self.take_process()?.is_some() {
            bail!("{} is still running; kill it first", self.name);
        }
        let listen = self.addr.to_string();
        let what = format!("{} to listen on {listen} again", self.name);
        let (process, _) = eventually(&what, || {
            spawn(self.program, &self.name, &listen, &self.args, &self.log)
        })
        .await?;
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
            self.name,
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

/// Runs `program` with `args` and reads the address it announces.
async fn spawn(
    program: Program,
    name: &str,
    listen: &str,
    args: &[String],
    log: &Path,
) -> Result<(ChildProcess, SocketAddr)> {
    let mut command = match program {
        Program::Example(kind) => {
            let mut command = Command::new(workspace_binary("mcp-example-server")?);
            command.args(["--server", kind.name()]);
            command
        }
        Program::Conformance => Command::new(workspace_binary("mcp-conformance-server")?),
        Program::Echo => Command::new(workspace_binary("mcp-echo-server")?),
    };
    command.args(["--listen", listen]);
    command.args(args);
    let (process, line) = ChildProcess::spawn_announced(name, command, log).await?;
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.parse().ok())
        .with_context(|| format!("unexpected announcement from {name}: {line:?}"))?;
    Ok((process, addr))
}
