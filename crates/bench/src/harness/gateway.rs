//! The system under test: `mcp-broker-router` and the Envoy it configures.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use super::access::Access;
use super::envoy::{Envoy, EnvoyLaunch};
use super::http::fetch;
use super::process::{Child, eventually};
use super::procfs::ProcSample;
use super::render::{Backend, gateway_config};
use crate::echo::ECHO_TOOL;

/// How long the gateway may take to start and discover its backends.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How the gateway is started.
#[derive(Debug, Clone)]
pub struct GatewayLaunch {
    /// The `mcp-broker-router` binary.
    pub binary: PathBuf,
    /// `--discovery-interval`: how often backends' tools are refreshed.
    pub discovery_interval: Duration,
}

/// `mcp-broker-router` (one process, or several replicas) with its Envoy in front.
#[derive(Debug)]
pub struct Gateway {
    children: Vec<Child>,
    envoy: Envoy,
}

/// Several `mcp-broker-router` replicas sharing sessions, behind one Envoy.
#[derive(Debug, Clone, Copy)]
pub struct Replication<'a> {
    /// How many replicas.
    pub replicas: usize,
    /// `--session-store` for every replica (a Redis URL), or `None` for memory.
    pub store: Option<&'a str>,
}

/// The key replicas share to verify each other's session ids.
const SESSION_KEY: &str = "mcp-bench-replicas";

impl Gateway {
    /// Writes the config for `backends`, starts the gateway, waits for `/readyz`, renders the
    /// Envoy bootstrap with `mcp-broker-router envoy-config`, starts that Envoy and waits until
    /// a call reaches the first backend through it.
    pub async fn start(
        launch: &GatewayLaunch,
        envoy: &EnvoyLaunch,
        dir: &Path,
        name: &str,
        backends: &[Backend],
    ) -> Result<Self> {
        Self::start_with(launch, envoy, dir, name, backends, None).await
    }

    /// As [`Gateway::start`], with `access` (auth and policy) in the config when given; the
    /// readiness call then carries its token.
    pub async fn start_with(
        launch: &GatewayLaunch,
        envoy: &EnvoyLaunch,
        dir: &Path,
        name: &str,
        backends: &[Backend],
        access: Option<&Access>,
    ) -> Result<Self> {
        let one = Replication {
            replicas: 1,
            store: None,
        };
        Self::start_replicated(launch, envoy, dir, name, backends, access, one).await
    }

    /// As [`Gateway::start_with`], with `replication.replicas` processes on
    /// `replication.store`, Envoy balancing over them round robin.
    pub async fn start_replicated(
        launch: &GatewayLaunch,
        envoy: &EnvoyLaunch,
        dir: &Path,
        name: &str,
        backends: &[Backend],
        access: Option<&Access>,
        replication: Replication<'_>,
    ) -> Result<Self> {
        let config = dir.join(format!("{name}-config.yaml"));
        let mut yaml = gateway_config(backends);
        if let Some(access) = access {
            yaml.push_str(&access.config);
        }
        std::fs::write(&config, yaml).with_context(|| format!("writing {}", config.display()))?;
        let mut children = Vec::new();
        let mut addresses = Vec::new();
        for replica in 1..=replication.replicas.max(1) {
            let name = if replication.replicas > 1 {
                format!("{name}-{replica}")
            } else {
                name.to_owned()
            };
            let (child, router, broker) =
                start_one(launch, &config, dir, &name, access, replication.store).await?;
            children.push(child);
            addresses.push((router, broker));
        }
        let mut render = Command::new(&launch.binary);
        render.args([
            "envoy-config",
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "127.0.0.1:0",
        ]);
        for (router, broker) in &addresses {
            render
                .arg("--router")
                .arg(router.to_string())
                .arg("--broker")
                .arg(broker.to_string());
        }
        let bootstrap = render
            .output()
            .await
            .context("running mcp-broker-router envoy-config")?;
        if !bootstrap.status.success() {
            bail!(
                "envoy-config failed: {}",
                String::from_utf8_lossy(&bootstrap.stderr)
            );
        }
        let bootstrap = String::from_utf8(bootstrap.stdout).context("bootstrap is not UTF-8")?;
        let envoy = Envoy::start(envoy, dir, &format!("{name}-envoy"), &bootstrap, "mcp").await?;
        let gateway = Self { children, envoy };
        // Envoy learns the backends' routes over ADS: ready once the first backend's echo
        // tool can be called through it.
        if let Some(first) = backends.first() {
            let (url, tool) = (gateway.url(), first.gateway_tool(ECHO_TOOL));
            let bearer = access.map(|a| a.bearer.as_str());
            eventually(&format!("a call through {name}"), START_TIMEOUT, || {
                super::probe::call_once(&url, &tool, bearer)
            })
            .await?;
            if access.is_some() {
                let status = super::probe::anonymous_status(&url).await?;
                if status != hyper::StatusCode::UNAUTHORIZED {
                    bail!("{name}: a request without a token got {status}, not 401");
                }
            }
        }
        Ok(gateway)
    }

    /// The MCP endpoint clients use (Envoy's listener).
    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.envoy.listener())
    }

    /// The gateway process now (replicas: their CPU and memory summed).
    pub fn router_sample(&self) -> Result<ProcSample> {
        let mut total = ProcSample::default();
        for child in &self.children {
            let sample = child.sample()?;
            total.cpu_seconds += sample.cpu_seconds;
            total.rss_kib += sample.rss_kib;
            total.peak_rss_kib += sample.peak_rss_kib;
        }
        Ok(total)
    }

    /// Its Envoy now.
    pub fn envoy_sample(&self) -> Result<ProcSample> {
        self.envoy.sample()
    }

    /// Stops Envoy, then the gateway.
    pub async fn stop(self) {
        self.envoy.stop().await;
        for child in self.children {
            child.stop().await;
        }
    }
}

/// Starts one `mcp-broker-router` on `config` and waits for its `/readyz`; returns it with
/// its router and broker addresses.
async fn start_one(
    launch: &GatewayLaunch,
    config: &Path,
    dir: &Path,
    name: &str,
    access: Option<&Access>,
    store: Option<&str>,
) -> Result<(Child, SocketAddr, SocketAddr)> {
    let mut command = Command::new(&launch.binary);
    command
        .args(["--mcp-router-address", "127.0.0.1:0"])
        .args(["--mcp-broker-address", "127.0.0.1:0"])
        .args(["--mcp-metrics-address", "127.0.0.1:0"])
        .arg("--mcp-gateway-config")
        .arg(config)
        .arg("--discovery-interval")
        .arg(format!("{}ms", launch.discovery_interval.as_millis()))
        .env("RUST_LOG", "warn");
    if let Some(store) = store {
        command
            .args(["--session-store", store])
            .args(["--session-key", SESSION_KEY]);
    }
    if access.is_some() {
        // Every decision is audited, as a deployment with a policy would.
        command
            .arg("--audit-log")
            .arg(dir.join(format!("{name}-audit.log")));
    }
    let log = dir.join(format!("{name}.log"));
    let (mut child, line) = Child::spawn_announced(name, command, &log, START_TIMEOUT).await?;
    let (router, broker) = ready_line(&line)?;
    eventually(&format!("{name}'s /readyz"), START_TIMEOUT, || {
        let running = child.ensure_running();
        async move {
            running?;
            let (status, _) = fetch(&format!("http://{broker}/readyz")).await?;
            if !status.is_success() {
                bail!("/readyz: {status}");
            }
            Ok(())
        }
    })
    .await?;
    Ok((child, router, broker))
}

/// The addresses in `mcp-broker-router ready router=ADDR broker=ADDR`.
fn ready_line(line: &str) -> Result<(SocketAddr, SocketAddr)> {
    let field = |key: &str| -> Result<SocketAddr> {
        let value = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix(key))
            .with_context(|| format!("no {key} in {line:?}"))?;
        value
            .parse()
            .with_context(|| format!("{key}{value} is not an address"))
    };
    Ok((field("router=")?, field("broker=")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_ready_line() {
        let (router, broker) =
            ready_line("mcp-broker-router ready router=127.0.0.1:45263 broker=127.0.0.1:40619")
                .expect("parsed");
        assert_eq!((router.port(), broker.port()), (45263, 40619));
        assert!(ready_line("mcp-broker-router ready router=x broker=127.0.0.1:1").is_err());
        assert!(ready_line("something else").is_err());
    }
}
