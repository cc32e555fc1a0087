//! The official TypeScript MCP SDK in the tests: `e2e/node/tasks-server.mjs`, a stateful
//! server with MCP Tasks the test runs as an [`ExternalServer`], and
//! `e2e/node/client.mjs`, a scripted client whose observations come back as JSON.
//! Both run on the machine's `node` with the packages pinned in `e2e/node/package.json`.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tempfile::TempDir;
use tokio::process::Command;

use crate::{
    gateway::ExternalServer,
    process::{ChildProcess, workspace_dir},
};

/// Longest a client scenario may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// `e2e/node`, after checking that its packages are installed.
pub(crate) fn node_dir() -> Result<PathBuf> {
    let dir = workspace_dir().join("e2e").join("node");
    let sdk = dir.join("node_modules/@modelcontextprotocol/sdk/package.json");
    if !sdk.is_file() {
        bail!(
            "the TypeScript MCP SDK is not installed in {}: run `npm ci --prefix e2e/node` \
             (`make test` and `make e2e` do)",
            dir.display()
        );
    }
    Ok(dir)
}

/// A `node` command running `script` of `e2e/node`.
pub(crate) fn node(dir: &Path, script: &str) -> Command {
    let mut command = Command::new("node");
    command.arg(dir.join(script)).current_dir(dir);
    command
}

/// `tasks-server.mjs` running on a free loopback port; killed on drop, which also
/// prints the end of its log (libtest shows it only when the test fails).
#[derive(Debug)]
pub struct TasksServer {
    name: String,
    url: String,
    process: ChildProcess,
    // Last: removed only after the process is gone.
    _dir: TempDir,
}

impl TasksServer {
    /// Starts an instance called `name`: its texts name it, and the harness configures
    /// it with prefix `<name>_`.
    pub async fn start(name: &str) -> Result<Self> {
        Self::spawn(name, "tasks-server.mjs", &[name, "0"]).await
    }

    /// `e2e/node/modern-server.mjs` called `name`: a backend on the TypeScript SDK 2.x server
    /// that speaks only MCP 2026-07-28 (no `initialize`, no session), with tools that ask the
    /// client through `input_required` and one that shows its own request's bytes.
    pub async fn modern_only(name: &str) -> Result<Self> {
        Self::spawn(name, "modern-server.mjs", &[name]).await
    }

    /// The official "everything" server (`@modelcontextprotocol/server-everything`, run by
    /// `e2e/node/everything-server.mjs`) called `name`: a published server nobody here
    /// wrote, with tools it offers only to clients declaring sampling, elicitation or roots.
    pub async fn everything(name: &str) -> Result<Self> {
        Self::spawn(name, "everything-server.mjs", &[]).await
    }

    /// `e2e/node/server2.mjs` called `name`: a backend on the TypeScript SDK 2.x server that
    /// speaks MCP 2026-07-28 and, unless `modern_only`, 2025 `initialize` too.
    pub async fn sdk2(name: &str, modern_only: bool) -> Result<Self> {
        let args: &[&str] = if modern_only {
            &[name, "--modern-only"]
        } else {
            &[name]
        };
        Self::spawn(name, "server2.mjs", args).await
    }

    async fn spawn(name: &str, script: &str, args: &[&str]) -> Result<Self> {
        let node_dir = node_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("mcp-gateway-e2e-node-")
            .tempdir()
            .context("creating the server's log directory")?;
        let mut command = node(&node_dir, script);
        command.args(args);
        let log = dir.path().join(format!("{name}.log"));
        let (process, line) = ChildProcess::spawn_announced(name, command, &log).await?;
        let url = line
            .strip_prefix("listening on ")
            .filter(|url| url.starts_with("http://127.0.0.1:"))
            .with_context(|| format!("unexpected announcement from {name}: {line:?}"))?
            .to_owned();
        Ok(Self {
            name: name.to_owned(),
            url,
            process,
            _dir: dir,
        })
    }

    /// The URL of its MCP endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How to hand it to [`crate::Gateway::start`].
    pub fn external(&self) -> ExternalServer<'_> {
        ExternalServer {
            name: &self.name,
            url: &self.url,
        }
    }
}

impl Drop for TasksServer {
    fn drop(&mut self) {
        eprintln!("{}", self.process.log_tail());
    }
}

/// Runs `client.mjs <url> <scenario> <args>...` and returns the JSON it printed; fails
/// with its stderr when it exits non-zero.
pub async fn run_client(url: &str, scenario: &str, args: &[&str]) -> Result<Value> {
    run_script("client.mjs", url, scenario, args).await
}

/// Runs `client2.mjs <url> <mode> <args>...` (the TypeScript SDK 2.x client, `mode` `modern`
/// or `legacy`) and returns the JSON it printed.
pub async fn run_client2(url: &str, mode: &str, args: &[&str]) -> Result<Value> {
    run_script("client2.mjs", url, mode, args).await
}

/// Runs `mrtr-client.mjs <url> <mode> <tool> <arguments>` (the TypeScript SDK 2.x client
/// declaring sampling, elicitation and roots, `mode` `modern` or `legacy`) and returns the
/// JSON it printed.
pub async fn run_mrtr_client(url: &str, mode: &str, tool: &str, arguments: &str) -> Result<Value> {
    run_script("mrtr-client.mjs", url, mode, &[tool, arguments]).await
}

async fn run_script(script: &str, url: &str, scenario: &str, args: &[&str]) -> Result<Value> {
    let dir = node_dir()?;
    let mut command = node(&dir, script);
    command
        .arg(url)
        .arg(scenario)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(CLIENT_TIMEOUT, command.output())
        .await
        .with_context(|| format!("{script} {scenario} ran longer than {CLIENT_TIMEOUT:?}"))?
        .with_context(|| format!("running node {script} (is Node.js installed?)"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "{script} {scenario} against {url} failed ({}):\n{stderr}{stdout}",
            output.status
        );
    }
    if !stderr.trim().is_empty() {
        // Shown only when the test fails.
        eprintln!("{script} {scenario} stderr:\n{stderr}");
    }
    serde_json::from_str(stdout.trim())
        .with_context(|| format!("{script} {scenario} printed no JSON object:\n{stdout}\n{stderr}"))
}
