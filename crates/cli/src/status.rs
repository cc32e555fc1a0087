//! What the admin endpoint reads from the running gateway at scrape time.

use std::sync::Arc;

use mcp_gateway_catalog::CatalogStore;
use mcp_gateway_config::ConfigStore;
use mcp_gateway_metrics::{ServerSnapshot, Snapshot, Source};
use mcp_gateway_session::SessionStore;

/// The gateway's shared state, as the metrics see it.
pub(crate) struct GatewayStatus {
    pub(crate) config: Arc<ConfigStore>,
    pub(crate) catalog: Arc<CatalogStore>,
    pub(crate) sessions: Arc<dyn SessionStore>,
}

impl Source for GatewayStatus {
    async fn snapshot(&self) -> Snapshot {
        let config = self.config.load();
        let catalog = self.catalog.load();
        let servers = config
            .enabled_servers()
            .map(|server| {
                let status = catalog.server(&server.name);
                ServerSnapshot {
                    name: server.name.clone(),
                    up: status.is_some_and(|s| s.healthy),
                    tools: status.map_or(0, |s| s.tools as u64),
                }
            })
            .collect();
        Snapshot {
            sessions: self.sessions.count().await.ok().map(|n| n as u64),
            servers,
            config_reloads: self.config.generation(),
            config_rejections: self.config.rejections(),
            config_in_sync: self.config.in_sync(),
            audit_dropped: mcp_gateway_audit::Auditor::global().map_or(0, |a| a.dropped()),
        }
    }
}
