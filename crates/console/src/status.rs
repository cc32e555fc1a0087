//! The status document the page polls, read from the gateway's snapshots.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use mcp_gateway_catalog::ListKind;
use mcp_gateway_config::Config;
use serde::Serialize;
use serde_json::value::RawValue;
use url::Url;

use crate::Console;

/// Everything the console shows, at one moment.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Unix milliseconds when this was read (the page shows ages against it).
    pub now_ms: u64,
    /// Live gateway sessions; `None` when the store cannot say (Redis down).
    pub sessions: Option<u64>,
    /// Where `/metrics` is served (the admin address, not through Envoy).
    pub metrics_address: Option<String>,
    /// The config in force.
    pub config: ConfigStatus,
    /// Every configured server, enabled or not, in config order.
    pub servers: Vec<ServerStatus>,
    /// The audit stream's last lines, oldest first; `None` when no auditor runs.
    pub recent_calls: Option<Vec<Box<RawValue>>>,
}

/// The config's reload status.
#[derive(Debug, Serialize)]
pub struct ConfigStatus {
    /// Config files applied since start.
    pub reloads: u64,
    /// Config files rejected since start.
    pub rejections: u64,
    /// The config in force matches its source.
    pub in_sync: bool,
    /// Why the last rejected edit was rejected.
    pub last_rejection: Option<String>,
    /// Callers must authenticate (`auth:` is set).
    pub auth: bool,
}

/// One configured server, as discovery last saw it.
#[derive(Debug, Serialize)]
pub struct ServerStatus {
    /// The configured name.
    pub name: String,
    /// The backend's MCP URL, without credentials or query (which may hold an API key).
    pub url: String,
    /// The prefix of its exposed names.
    pub prefix: String,
    /// Enabled in the config.
    pub enabled: bool,
    /// The last discovery succeeded.
    pub healthy: bool,
    /// Discovery has run at least once.
    pub attempted: bool,
    /// Why it is unhealthy.
    pub last_error: Option<String>,
    /// Which MCP protocol eras it speaks: `legacy`, `both` or `modern` (see
    /// `mcp_gateway_catalog::BackendProtocol`); `legacy` until discovered.
    pub protocol: &'static str,
    /// Unix milliseconds of the last successful listing.
    pub last_listed_ms: Option<u64>,
    /// Its tools as the gateway exposes them (name, description, input schema, ...).
    pub tools: Vec<Box<RawValue>>,
}

impl Status {
    /// Reads the status from `console`'s stores, with `config` the snapshot in force.
    pub fn read(console: &Console, config: &Arc<Config>, sessions: Option<usize>) -> Self {
        let catalog = console.catalog.load();
        let mut tools: HashMap<&str, Vec<Box<RawValue>>> = HashMap::new();
        for (server, _, json) in catalog.list(ListKind::Tools).items() {
            // Items are serialised JSON objects; one that were not would be skipped.
            if let Ok(raw) = RawValue::from_string(json.to_owned()) {
                tools.entry(server).or_default().push(raw);
            }
        }
        let listed = &mcp_gateway_metrics::global().last_listed;
        let servers = config
            .servers()
            .iter()
            .map(|server| {
                let status = catalog.server(&server.name);
                ServerStatus {
                    name: server.name.clone(),
                    url: redacted(&server.url),
                    prefix: server.tool_prefix.clone(),
                    enabled: server.enabled,
                    healthy: status.is_some_and(|s| s.healthy),
                    attempted: status.is_some_and(|s| s.attempted),
                    last_error: status.and_then(|s| s.last_error.clone()),
                    protocol: status.map(|s| s.protocol).unwrap_or_default().as_str(),
                    last_listed_ms: listed.get(&server.name).map(unix_millis),
                    tools: tools.remove(server.name.as_str()).unwrap_or_default(),
                }
            })
            .collect();
        let recent_calls = mcp_gateway_audit::Auditor::global().map(|auditor| {
            auditor
                .recent()
                .iter()
                .filter_map(|line| RawValue::from_string(line.to_string()).ok())
                .collect()
        });
        Self {
            now_ms: unix_millis(SystemTime::now()),
            sessions: sessions.map(|n| n as u64),
            metrics_address: console.metrics_address.map(|a| a.to_string()),
            config: ConfigStatus {
                reloads: console.config.generation(),
                rejections: console.config.rejections(),
                in_sync: console.config.in_sync(),
                last_rejection: console.config.last_rejection(),
                auth: config.auth().is_some(),
            },
            servers,
            recent_calls,
        }
    }

    /// The status as JSON.
    pub fn to_json(&self) -> String {
        // Strings, numbers and JSON already checked: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// `url` without what may be a secret: user and password, query and fragment.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    // Only URLs that cannot have a user refuse these, and then they have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
