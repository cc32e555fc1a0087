//! The whole deployment of one test: backend servers, the gateway binary and Envoy,
//! each in its own process, sharing one temporary directory for config and logs.

use std::{collections::BTreeSet, net::SocketAddr, path::PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use futures::future::try_join_all;
use tempfile::TempDir;
use tokio::process::Command;

use crate::{
    backend::{self, Backend, ServerKind},
    client::{self, McpClient},
    envoy::{Envoy, EnvoySettings},
    process::{ChildProcess, eventually, workspace_binary, write_atomically},
    raw::{RawClient, http_client},
};

/// How often the gateway checks its config file.
const CONFIG_POLL_INTERVAL: &str = "100ms";
/// How often the gateway refreshes a healthy backend's tools.
const DISCOVERY_INTERVAL: &str = "500ms";

/// A server the test runs itself (e.g. a [`crate::LiveServer`]) for the gateway to
/// aggregate, with the harness's naming: prefix `<name>_`, hostname `<name>.mcp.local`.
#[derive(Debug, Clone, Copy)]
pub struct ExternalServer<'a> {
    /// Its name in the gateway config.
    pub name: &'a str,
    /// The URL of its MCP endpoint.
    pub url: &'a str,
}

/// What to start.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatewayOptions<'a> {
    /// Example servers to start and configure.
    pub servers: &'a [ServerKind],
    /// Names of conformance fixture servers to start and configure, e.g. `["a", "b"]`
    /// for prefixes `a_` and `b_`.
    pub conformance: &'a [&'a str],
    /// Servers the test runs itself, configured but not started by the harness.
    pub external: &'a [ExternalServer<'a>],
    /// Names of echo servers (`mcp-echo-server`, see [`Backend::bump`]) to start and
    /// configure, e.g. `["echo"]` for prefix `echo_`.
    pub echo: &'a [&'a str],
    /// Names of configured servers (of any of the above) written with `enabled: false`:
    /// started, but not expected in `tools/list`.
    pub disabled: &'a [&'a str],
    /// `--discovery-interval` (how often healthy backends are re-listed); the
    /// harness's 500ms when `None`.
    pub discovery_interval: Option<&'a str>,
    /// `--max-request-bytes` for both the gateway and Envoy; their default when `None`.
    pub max_request_bytes: Option<usize>,
    /// Extra `mcp-broker-router` arguments, e.g. `["--list-page-size", "2"]`.
    pub gateway_args: &'a [&'a str],
    /// Environment variables set for `mcp-broker-router`, e.g.
    /// `[("OAUTH_RESOURCE", "https://gw.example/mcp")]`; `OAUTH_*` variables of the
    /// test process are never passed on.
    pub gateway_env: &'a [(&'a str, &'a str)],
    /// Extra arguments for every example server, e.g. `["--page-size", "1"]`.
    pub server_args: &'a [&'a str],
    /// Changes Envoy's rendered bootstrap before Envoy starts (see
    /// [`crate::EnvoySettings::edit_bootstrap`]).
    pub edit_bootstrap: Option<fn(String) -> String>,
    /// Extra `envoy-config` arguments (see [`crate::EnvoySettings::envoy_config_args`]).
    pub envoy_config_args: &'a [&'a str],
    /// Where the routing core runs: the ext_proc router (default) or the Envoy module.
    pub mode: Mode,
    /// `traffic:` policies by server name, as YAML flow mappings, e.g.
    /// `[("text", "{timeout: 2s}")]`.
    pub traffic: &'a [(&'a str, &'a str)],
}

/// Where the routing core runs (`envoy-config --mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// The ext_proc router in the gateway process.
    #[default]
    ExtProc,
    /// The dynamic module inside Envoy, asking the gateway's module API.
    Module,
}

/// Envoy in front of `mcp-broker-router` in front of backend servers. Every process
/// is killed on drop, which also prints the end of each log (libtest shows it only
/// when the test fails).
#[derive(Debug)]
pub struct Gateway {
    backends: Vec<Backend>,
    /// (name, url) of the configured servers the harness does not run.
    external: Vec<(String, String)>,
    server_args: Vec<String>,
    gateway: ChildProcess,
    envoy: Envoy,
    broker: SocketAddr,
    /// The gateway's admin address (`/metrics`).
    metrics: SocketAddr,
    config_path: PathBuf,
    // Last: removed only after every process is gone.
    dir: TempDir,
}

impl Gateway {
    /// Starts everything and waits until a `tools/list` through Envoy shows every
    /// configured server's tools.
    pub async fn start(options: GatewayOptions<'_>) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("mcp-gateway-e2e-")
            .tempdir()
            .context("creating the test directory")?;
        let examples = try_join_all(
            options
                .servers
                .iter()
                .map(|kind| Backend::start_with_args(*kind, dir.path(), options.server_args)),
        );
        let fixtures = try_join_all(
            options
                .conformance
                .iter()
                .map(|name| Backend::start_conformance(name, dir.path())),
        );
        let echoes = try_join_all(
            options
                .echo
                .iter()
                .map(|name| Backend::start_echo(name, dir.path())),
        );
        let (mut backends, fixtures, echoes) = tokio::try_join!(examples, fixtures, echoes)?;
        backends.extend(fixtures);
        backends.extend(echoes);
        let external: Vec<(String, String)> = options
            .external
            .iter()
            .map(|server| (server.name.to_owned(), server.url.to_owned()))
            .collect();

        let enabled = |name: &str| !options.disabled.contains(&name);
        if let Some(unknown) = options.disabled.iter().find(|name| {
            !backends.iter().any(|backend| backend.name() == **name)
                && !external.iter().any(|(external, _)| external == *name)
        }) {
            bail!("disabled server {unknown} is not one of the configured servers");
        }

        // What tools/list must show once the gateway has discovered everything enabled.
        let mut expected = BTreeSet::new();
        for backend in backends.iter().filter(|backend| enabled(backend.name())) {
            match backend.kind() {
                Some(kind) => expected.extend(kind.exposed_tools()),
                None => expected.extend(exposed_tools_of(backend.name(), &backend.url()).await?),
            }
        }
        for (name, url) in external.iter().filter(|(name, _)| enabled(name)) {
            expected.extend(exposed_tools_of(name, url).await?);
        }

        let entries: Vec<Entry<'_>> = backends
            .iter()
            .map(|backend| (backend.name(), backend.url()))
            .chain(
                external
                    .iter()
                    .map(|(name, url)| (name.as_str(), url.clone())),
            )
            .map(|(name, url)| Entry {
                name,
                url,
                enabled: enabled(name),
            })
            .collect();
        let config_path = dir.path().join("config.yaml");
        let mut yaml = config_yaml(&entries);
        for (name, traffic) in options.traffic {
            let entry = format!("  - name: {name}\n");
            if !yaml.contains(&entry) {
                bail!("traffic for {name}, which is not a configured server");
            }
            yaml = yaml.replace(&entry, &format!("{entry}    traffic: {traffic}\n"));
        }
        write_atomically(&config_path, &yaml)?;

        let binary = workspace_binary("mcp-broker-router")?;
        let mut command = Command::new(&binary);
        command
            .args(["--mcp-router-address", "127.0.0.1:0"])
            .args(["--mcp-broker-address", "127.0.0.1:0"])
            .args(["--mcp-metrics-address", "127.0.0.1:0"])
            .arg("--mcp-gateway-config")
            .arg(&config_path)
            .args(["--config-poll-interval", CONFIG_POLL_INTERVAL])
            .args([
                "--discovery-interval",
                options.discovery_interval.unwrap_or(DISCOVERY_INTERVAL),
            ]);
        if let Some(bytes) = options.max_request_bytes {
            command.arg("--max-request-bytes").arg(bytes.to_string());
        }
        if options.mode == Mode::Module {
            command.args(["--module-api-address", "127.0.0.1:0"]);
        }
        command.args(options.gateway_args);
        // The OAuth metadata comes from OAUTH_* variables: a gateway gets only those of
        // `gateway_env`, never the test process's.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("OAUTH_") {
                command.env_remove(name);
            }
        }
        command.envs(options.gateway_env.iter().copied());
        let log = dir.path().join("gateway.log");
        let (mut gateway, line) =
            ChildProcess::spawn_announced("mcp-broker-router", command, &log).await?;
        let (router, broker) = parse_ready_line(&line)?;
        let metrics = ready_field(&line, "metrics=")?;
        let module_api = match options.mode {
            Mode::ExtProc => None,
            Mode::Module => Some(ready_field(&line, "module=")?),
        };

        let http = http_client()?;
        eventually("the broker's /readyz to answer 200", || {
            let running = gateway.ensure_running();
            let http = &http;
            async move {
                running?;
                let response = http.get(format!("http://{broker}/readyz")).send().await?;
                if !response.status().is_success() {
                    bail!("/readyz: {}", response.status());
                }
                Ok(())
            }
        })
        .await?;

        let settings = EnvoySettings {
            gateway_binary: &binary,
            routers: &[router],
            brokers: &[broker],
            max_request_bytes: options.max_request_bytes,
            edit_bootstrap: options.edit_bootstrap,
            module_api,
            envoy_config_args: options.envoy_config_args,
        };
        let envoy = Envoy::start(dir.path(), &settings).await?;
        let this = Self {
            backends,
            external,
            server_args: options
                .server_args
                .iter()
                .map(|arg| (*arg).to_owned())
                .collect(),
            gateway,
            envoy,
            broker,
            metrics,
            config_path,
            dir,
        };
        this.wait_for_tools("every configured tool", |names| *names == expected)
            .await?;
        Ok(this)
    }

    /// The URL of `path` (e.g. `/metrics`) on the gateway's admin address.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.metrics)
    }

    /// The URL of `path` (e.g. `/stats?format=json`) on Envoy's admin address.
    pub fn envoy_admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.envoy.admin())
    }

    /// The MCP endpoint clients use: Envoy's listener.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.envoy.listener())
    }

    /// The URL of `path` (e.g. `/.well-known/oauth-protected-resource`) on Envoy's listener.
    pub fn envoy_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.envoy.listener())
    }

    /// The address of Envoy's MCP listener, for requests written byte for byte.
    pub fn envoy_listener(&self) -> SocketAddr {
        self.envoy.listener()
    }

    /// The value of one of Envoy's counters (e.g.
    /// `cluster.mcp_server_calc.upstream_rq_total`); 0 while Envoy has not created it.
    pub async fn envoy_counter(&self, name: &str) -> Result<u64> {
        // The filter is a regex; `.` matching any character is fine, the exact name is
        // looked up below.
        let url = format!(
            "http://{}/stats?format=json&filter={name}",
            self.envoy.admin()
        );
        let stats: serde_json::Value = http_client()?
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
            .with_context(|| format!("decoding {url}"))?;
        let value = stats
            .get("stats")
            .and_then(serde_json::Value::as_array)
            .and_then(|stats| {
                stats
                    .iter()
                    .find(|stat| stat.get("name").and_then(serde_json::Value::as_str) == Some(name))
            })
            .and_then(|stat| stat.get("value"))
            .and_then(serde_json::Value::as_u64);
        Ok(value.unwrap_or(0))
    }

    /// The broker's base URL (health endpoints; bypasses Envoy).
    pub fn broker_url(&self) -> String {
        format!("http://{}", self.broker)
    }

    /// The backend server called `name`.
    pub fn backend(&self, name: &str) -> Result<&Backend> {
        self.backends
            .iter()
            .find(|backend| backend.name() == name)
            .ok_or_else(|| anyhow!("no backend named {name}"))
    }

    /// Starts another example server (with the options' `server_args`) without
    /// configuring it (see [`Self::config_yaml`]).
    pub async fn add_backend(&mut self, kind: ServerKind) -> Result<&Backend> {
        if self.backend(kind.name()).is_ok() {
            bail!("{} is already running", kind.name());
        }
        let args: Vec<&str> = self.server_args.iter().map(String::as_str).collect();
        let backend = Backend::start_with_args(kind, self.dir.path(), &args).await?;
        self.backends.push(backend);
        self.backend(kind.name())
    }

    /// The gateway config listing the running servers of the given kinds.
    pub fn config_yaml(&self, kinds: &[ServerKind]) -> Result<String> {
        let names: Vec<&str> = kinds.iter().map(|kind| kind.name()).collect();
        self.config_yaml_of(&names)
    }

    /// The gateway config listing the servers with these names, all enabled: backends
    /// the harness runs and external servers it was given.
    pub fn config_yaml_of(&self, names: &[&str]) -> Result<String> {
        let entries = names
            .iter()
            .map(|name| {
                let (name, url) = match self.backend(name) {
                    Ok(backend) => (backend.name(), backend.url()),
                    Err(_) => self
                        .external
                        .iter()
                        .find(|(external, _)| external == name)
                        .map(|(external, url)| (external.as_str(), url.clone()))
                        .ok_or_else(|| anyhow!("no server named {name}"))?,
                };
                Ok(Entry {
                    name,
                    url,
                    enabled: true,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(config_yaml(&entries))
    }

    /// Replaces the gateway's config file atomically (it hot-reloads it).
    pub fn write_config(&self, yaml: &str) -> Result<()> {
        write_atomically(&self.config_path, yaml)
    }

    /// A new MCP client session through Envoy.
    pub async fn client(&self) -> Result<McpClient> {
        client::connect(&self.mcp_url()).await
    }

    /// A raw JSON-RPC client for the MCP endpoint through Envoy.
    pub fn raw(&self) -> Result<RawClient> {
        RawClient::new(&self.mcp_url())
    }

    /// Polls `tools/list` through Envoy (a fresh raw session each time) until the
    /// tool names satisfy `done`; returns them.
    pub async fn wait_for_tools(
        &self,
        what: &str,
        done: impl Fn(&BTreeSet<String>) -> bool,
    ) -> Result<BTreeSet<String>> {
        let raw = self.raw()?;
        let done = &done;
        eventually(&format!("tools/list through Envoy to show {what}"), || {
            let raw = &raw;
            async move {
                let session = raw.initialize().await?;
                let names = raw.tool_names(&session).await?;
                if done(&names) {
                    Ok(names)
                } else {
                    bail!("tools/list showed {names:?}")
                }
            }
        })
        .await
    }

    /// Kills `mcp-broker-router` (router and broker alike) and waits until it is gone;
    /// Envoy and the backends keep running.
    pub async fn kill_gateway(&mut self) -> Result<()> {
        self.gateway.kill().await
    }

    /// Asks `mcp-broker-router` to shut down gracefully (`SIGTERM`); returns at once.
    pub fn stop_gateway(&self) -> Result<()> {
        self.gateway.signal("TERM")
    }

    /// Stops `mcp-broker-router` (`SIGSTOP`) when `paused`, continues it otherwise: a stalled
    /// router that keeps its connections open and answers nothing.
    pub fn pause_gateway(&self, paused: bool) -> Result<()> {
        self.gateway.signal(if paused { "STOP" } else { "CONT" })
    }

    /// Everything `mcp-broker-router` has logged so far.
    pub fn gateway_log(&self) -> String {
        self.gateway.log()
    }

    /// The end of every log: gateway, Envoy and example servers.
    pub fn log_tails(&self) -> String {
        let mut tails = vec![self.gateway.log_tail(), self.envoy.log_tail()];
        tails.extend(self.backends.iter().map(Backend::log_tail));
        tails.join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // Captured by libtest and shown only for a failing test.
        eprintln!("{}", self.log_tails());
    }
}

/// One server of a gateway config.
pub(crate) struct Entry<'a> {
    pub(crate) name: &'a str,
    pub(crate) url: String,
    pub(crate) enabled: bool,
}

/// The gateway config for these servers, with the harness's hostnames and prefixes.
pub(crate) fn config_yaml(servers: &[Entry<'_>]) -> String {
    let mut yaml = String::from("servers:\n");
    for Entry { name, url, enabled } in servers {
        yaml.push_str(&format!(
            "  - name: {name}\n    url: {url}\n    hostname: {}\n    enabled: {enabled}\n    toolPrefix: {}\n",
            backend::hostname(name),
            backend::tool_prefix(name),
        ));
    }
    if servers.is_empty() {
        yaml = String::from("servers: []\n");
    }
    yaml
}

/// The tools of the server at `url`, listed directly, as the gateway exposes them
/// for a server called `name`.
async fn exposed_tools_of(name: &str, url: &str) -> Result<BTreeSet<String>> {
    let raw = RawClient::new(url)?;
    let tools = eventually(&format!("{name} to list its tools directly"), || {
        let raw = &raw;
        async move {
            match raw.modern_tool_names().await {
                Ok(names) => Ok(names),
                // Not a 2026-07-28 server: list in a 2025 session.
                Err(_) => {
                    let session = raw.initialize().await?;
                    raw.tool_names(&session).await
                }
            }
        }
    })
    .await?;
    let prefix = backend::tool_prefix(name);
    Ok(tools
        .into_iter()
        .map(|tool| format!("{prefix}{tool}"))
        .collect())
}

/// `mcp-broker-router ready router=ADDR broker=ADDR` -> (router, broker).
pub(crate) fn parse_ready_line(line: &str) -> Result<(SocketAddr, SocketAddr)> {
    if !line.starts_with("mcp-broker-router ready") {
        bail!("unexpected first line from the gateway: {line:?}");
    }
    Ok((ready_field(line, "router=")?, ready_field(line, "broker=")?))
}

/// The address `name` (e.g. `module=`) of the gateway's ready line.
fn ready_field(line: &str, name: &str) -> Result<SocketAddr> {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(name))
        .and_then(|addr| addr.parse().ok())
        .with_context(|| format!("no {name}ADDR in the gateway's ready line {line:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ready_line() {
        let (router, broker) =
            parse_ready_line("mcp-broker-router ready router=127.0.0.1:1 broker=127.0.0.1:2")
                .expect("parses");
        assert_eq!(router.port(), 1);
        assert_eq!(broker.port(), 2);
        assert!(parse_ready_line("mcp-broker-router ready router=x").is_err());
        assert!(parse_ready_line("hello").is_err());
    }
}
