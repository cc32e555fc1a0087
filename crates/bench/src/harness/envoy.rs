//! Envoy processes: started from a bootstrap on port 0, ready when `/ready` answers and the
//! listener's bound port is known.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::process::Command;

use super::http::{fetch, fetch_json};
use super::process::{Child, eventually};
use super::procfs::ProcSample;

/// How long Envoy may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How Envoys of a run are started.
#[derive(Debug, Clone)]
pub struct EnvoyLaunch {
    /// The Envoy binary.
    pub binary: PathBuf,
    /// Worker threads (`--concurrency`).
    pub concurrency: usize,
}

/// A running Envoy.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
    listener: SocketAddr,
}

impl Envoy {
    /// Writes `bootstrap` to `dir/<name>.yaml`, starts Envoy and waits until it is ready and
    /// `listener` is bound.
    pub async fn start(
        launch: &EnvoyLaunch,
        dir: &Path,
        name: &str,
        bootstrap: &str,
        listener: &str,
    ) -> Result<Self> {
        let config = dir.join(format!("{name}.yaml"));
        std::fs::write(&config, bootstrap)
            .with_context(|| format!("writing {}", config.display()))?;
        let admin_path = dir.join(format!("{name}.admin"));
        std::fs::remove_file(&admin_path).ok();
        let mut command = Command::new(&launch.binary);
        command
            .arg("-c")
            .arg(&config)
            .arg("--admin-address-path")
            .arg(&admin_path)
            .args(["--use-dynamic-base-id", "-l", "warning", "--concurrency"])
            .arg(launch.concurrency.to_string());
        let mut child = Child::spawn(name, command, &dir.join(format!("{name}.log")))?;
        let admin = eventually(
            &format!("{name} to write its admin address"),
            START_TIMEOUT,
            || {
                let running = child.ensure_running();
                let admin_path = &admin_path;
                async move {
                    running?;
                    let text = std::fs::read_to_string(admin_path)?;
                    Ok(text.trim().parse::<SocketAddr>()?)
                }
            },
        )
        .await?;
        eventually(&format!("{name}'s /ready"), START_TIMEOUT, || {
            let running = child.ensure_running();
            async move {
                running?;
                let (status, _) = fetch(&format!("http://{admin}/ready")).await?;
                if !status.is_success() {
                    bail!("/ready: {status}");
                }
                Ok(())
            }
        })
        .await?;
        let listeners: Value = fetch_json(&format!("http://{admin}/listeners?format=json")).await?;
        let listener = listener_address(&listeners, listener)?;
        Ok(Self { child, listener })
    }

    /// The listener's bound address.
    pub fn listener(&self) -> SocketAddr {
        self.listener
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

/// The bound address of listener `name` in the admin `/listeners?format=json` answer.
fn listener_address(listeners: &Value, name: &str) -> Result<SocketAddr> {
    let entry = listeners
        .get("listener_statuses")
        .and_then(Value::as_array)
        .and_then(|all| {
            all.iter()
                .find(|l| l.get("name").and_then(Value::as_str) == Some(name))
        })
        .with_context(|| format!("no listener {name:?} in {listeners}"))?;
    let socket = entry
        .pointer("/local_address/socket_address")
        .with_context(|| format!("listener {name:?} has no socket address"))?;
    let ip = socket
        .get("address")
        .and_then(Value::as_str)
        .context("listener address")?;
    let port = socket
        .get("port_value")
        .and_then(Value::as_u64)
        .context("listener port")?;
    format!("{ip}:{port}")
        .parse()
        .with_context(|| format!("listener address {ip}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_named_listener() {
        let listeners: Value = serde_json::from_str(
            r#"{"listener_statuses":[
                {"name":"admin_other","local_address":{"socket_address":{"address":"127.0.0.1","port_value":1}}},
                {"name":"mcp","local_address":{"socket_address":{"address":"127.0.0.1","port_value":41235}}}]}"#,
        )
        .expect("JSON");
        let addr = listener_address(&listeners, "mcp").expect("found");
        assert_eq!(addr, "127.0.0.1:41235".parse().expect("addr"));
        assert!(listener_address(&listeners, "plain").is_err());
    }
}
