//! Several `mcp-broker-router` replicas on one real Redis behind ONE Envoy that
//! round-robins ext_proc, ADS and broker traffic over them (`envoy-config` with `--router`
//! and `--broker` repeated), the way `make run-ha` runs them. Each replica keeps its ports
//! across restarts (Envoy's endpoints are static), so a test can kill, stop and restart
//! any of them while clients keep calling.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, Result, bail, ensure};
use futures::future::try_join_all;
use tempfile::TempDir;
use tokio::process::Command;

use crate::{
    backend::{Backend, ServerKind},
    client::{self, McpClient},
    envoy::{Envoy, EnvoySettings},
    gateway::{Entry, config_yaml, parse_ready_line},
    process::{ChildProcess, eventually, eventually_within, workspace_binary, write_atomically},
    raw::{RawClient, http_client},
    redis::RedisServer,
};

/// The key every replica signs and verifies session ids with.
const SESSION_KEY: &str = "e2e-replicas-behind-one-envoy";

/// How long a replica may take to exit after `SIGTERM` (its grace period is 10 s).
const STOP_DEADLINE: Duration = Duration::from_secs(15);

/// One replica: its fixed ports and, while it runs, its process.
#[derive(Debug)]
struct Replica {
    router: SocketAddr,
    broker: SocketAddr,
    log: PathBuf,
    process: Option<ChildProcess>,
}

/// Replicas of the gateway on one Redis, behind one Envoy, in front of example servers.
/// Every process is killed on drop.
#[derive(Debug)]
pub struct Replicas {
    replicas: Vec<Replica>,
    backends: Vec<Backend>,
    envoy: Envoy,
    redis: RedisServer,
    config_path: PathBuf,
    // Last: removed only after every process is gone.
    dir: TempDir,
}

impl Replicas {
    /// Starts Redis, the example servers of `servers`, `count` replicas and Envoy, and waits
    /// until Envoy sees every replica healthy and `tools/list` shows every server's tools.
    pub async fn start(count: usize, servers: &[ServerKind]) -> Result<Self> {
        ensure!(count > 0, "at least one replica");
        let dir = tempfile::Builder::new()
            .prefix("mcp-gateway-replicas-")
            .tempdir()
            .context("creating the test directory")?;
        let (redis, backends) = tokio::try_join!(
            RedisServer::start(),
            try_join_all(servers.iter().map(|kind| Backend::start(*kind, dir.path())))
        )?;
        let entries: Vec<Entry<'_>> = backends
            .iter()
            .map(|backend| Entry {
                name: backend.name(),
                url: backend.url(),
                enabled: true,
            })
            .collect();
        let config_path = dir.path().join("config.yaml");
        write_atomically(&config_path, &config_yaml(&entries))?;

        let mut replicas = Vec::with_capacity(count);
        for index in 1..=count {
            let mut replica = Replica {
                router: free_port()?,
                broker: free_port()?,
                log: dir.path().join(format!("replica-{index}.log")),
                process: None,
            };
            replica.launch(&config_path, &redis.url()).await?;
            replicas.push(replica);
        }
        let routers: Vec<SocketAddr> = replicas.iter().map(|r| r.router).collect();
        let brokers: Vec<SocketAddr> = replicas.iter().map(|r| r.broker).collect();
        let binary = workspace_binary("mcp-broker-router")?;
        let envoy = Envoy::start(
            dir.path(),
            &EnvoySettings {
                gateway_binary: &binary,
                routers: &routers,
                brokers: &brokers,
                max_request_bytes: None,
                edit_bootstrap: None,
                module_api: None,
                envoy_config_args: &[],
            },
        )
        .await?;
        let this = Self {
            replicas,
            backends,
            envoy,
            redis,
            config_path,
            dir,
        };
        this.wait_healthy(count).await?;
        let expected: usize = servers.iter().map(|kind| kind.tools().len()).sum();
        let raw = this.raw()?;
        eventually(
            "tools/list through Envoy to show every server's tools",
            || {
                let raw = &raw;
                async move {
                    let session = raw.initialize().await?;
                    let names = raw.tool_names(&session).await?;
                    ensure!(names.len() == expected, "tools/list showed {names:?}");
                    Ok(())
                }
            },
        )
        .await?;
        Ok(this)
    }

    /// The MCP endpoint clients use: Envoy's listener.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.envoy.listener())
    }

    /// A new rmcp client session through Envoy.
    pub async fn client(&self) -> Result<McpClient> {
        client::connect(&self.mcp_url()).await
    }

    /// A raw JSON-RPC client for the MCP endpoint through Envoy.
    pub fn raw(&self) -> Result<RawClient> {
        RawClient::new(&self.mcp_url())
    }

    /// The backend server called `name`.
    pub fn backend(&self, name: &str) -> Result<&Backend> {
        self.backends
            .iter()
            .find(|backend| backend.name() == name)
            .with_context(|| format!("no backend named {name}"))
    }

    /// The shared Redis.
    pub fn redis(&mut self) -> &mut RedisServer {
        &mut self.redis
    }

    /// The config file every replica reads.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// `kill -9` of replica `index` (0-based); waits until it is gone.
    pub async fn kill(&mut self, index: usize) -> Result<()> {
        let mut process = self.running(index)?;
        process.kill().await
    }

    /// `SIGTERM` to replica `index` (a graceful stop, as in a rollout); waits until it exits.
    pub async fn stop(&mut self, index: usize) -> Result<()> {
        let mut process = self.running(index)?;
        process.signal("TERM")?;
        eventually_within("a replica to exit after SIGTERM", STOP_DEADLINE, || {
            let running = process.ensure_running().is_ok();
            async move {
                ensure!(!running, "still running");
                Ok(())
            }
        })
        .await
    }

    /// Starts replica `index` again on its ports (after [`Self::kill`] or [`Self::stop`]);
    /// waits until it is ready and Envoy's health checks see it.
    pub async fn restart(&mut self, index: usize) -> Result<()> {
        let redis = self.redis.url();
        let replica = self.replicas.get_mut(index).context("no such replica")?;
        ensure!(replica.process.is_none(), "replica {index} is running");
        replica.launch(&self.config_path, &redis).await?;
        let router = replica.router;
        let this = &*self;
        eventually(
            "Envoy to see the restarted replica healthy",
            || async move {
                let healthy = this.healthy_routers().await?;
                ensure!(healthy.contains(&router), "healthy: {healthy:?}");
                Ok(())
            },
        )
        .await
    }

    /// Waits until Envoy's health checks see exactly `count` router endpoints healthy.
    pub async fn wait_healthy(&self, count: usize) -> Result<()> {
        eventually("Envoy's health checks to settle", || async move {
            let healthy = self.healthy_routers().await?;
            ensure!(healthy.len() == count, "healthy: {healthy:?}");
            Ok(())
        })
        .await
    }

    /// The router endpoints Envoy considers healthy (admin `/clusters`).
    pub async fn healthy_routers(&self) -> Result<Vec<SocketAddr>> {
        let text = http_client()?
            .get(format!("http://{}/clusters", self.envoy.admin()))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter_map(|line| line.strip_prefix("mcp_router::"))
            .filter_map(|rest| rest.strip_suffix("::health_flags::healthy"))
            .filter_map(|addr| addr.parse().ok())
            .collect())
    }

    /// The value of one of Envoy's counters; 0 while Envoy has not created it.
    pub async fn envoy_counter(&self, name: &str) -> Result<u64> {
        let text = http_client()?
            .get(format!(
                "http://{}/stats?filter=^{name}$",
                self.envoy.admin()
            ))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0))
    }

    fn running(&mut self, index: usize) -> Result<ChildProcess> {
        self.replicas
            .get_mut(index)
            .context("no such replica")?
            .process
            .take()
            .with_context(|| format!("replica {index} is not running"))
    }

    /// The end of every log: replicas, Envoy and servers.
    pub fn log_tails(&self) -> String {
        let mut tails: Vec<String> = self
            .replicas
            .iter()
            .map(|replica| crate::process::tail(&replica.log))
            .collect();
        tails.push(self.envoy.log_tail());
        tails.extend(self.backends.iter().map(Backend::log_tail));
        tails.join("\n")
    }

    /// Where the test's logs are.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        // Captured by libtest and shown only for a failing test.
        eprintln!("{}", self.log_tails());
    }
}

impl Replica {
    /// Starts the process on this replica's ports and waits until its broker is ready.
    async fn launch(&mut self, config: &Path, redis: &str) -> Result<()> {
        let binary = workspace_binary("mcp-broker-router")?;
        let mut command = Command::new(&binary);
        command
            .arg("--mcp-router-address")
            .arg(self.router.to_string())
            .arg("--mcp-broker-address")
            .arg(self.broker.to_string())
            .args(["--mcp-metrics-address", "127.0.0.1:0"])
            .arg("--mcp-gateway-config")
            .arg(config)
            .args(["--config-poll-interval", "100ms"])
            .args(["--discovery-interval", "500ms"])
            .args(["--session-store", redis, "--session-key", SESSION_KEY]);
        let (mut process, line) =
            ChildProcess::spawn_announced("mcp-broker-router", command, &self.log).await?;
        let (router, broker) = parse_ready_line(&line)?;
        if (router, broker) != (self.router, self.broker) {
            bail!("replica bound {router} and {broker}, not its ports");
        }
        let http = http_client()?;
        eventually("a replica's /readyz to answer 200", || {
            let running = process.ensure_running();
            let http = &http;
            async move {
                running?;
                http.get(format!("http://{broker}/readyz"))
                    .send()
                    .await?
                    .error_for_status()?;
                Ok(())
            }
        })
        .await?;
        self.process = Some(process);
        Ok(())
    }
}

/// A loopback port free right now (replicas need fixed ports: Envoy's endpoints are static).
fn free_port() -> Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
