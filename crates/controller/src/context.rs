//! What every reconcile needs: the API client, the settings, the metrics, the tools
//! discovered so far and the memory of the last ConfigMap written.

use std::sync::{Arc, Mutex, PoisonError};

use kube::Client;

use crate::discovery::Discovery;
use crate::metrics::Metrics;

/// Field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = "mcp-gateway-controller";

/// Where the aggregated config goes and how backends are addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Name of the ConfigMap the gateway mounts.
    pub configmap_name: String,
    /// Namespace of that ConfigMap.
    pub configmap_namespace: String,
    /// Key of the config file in the ConfigMap's `data`.
    pub configmap_key: String,
    /// Cluster DNS domain of Service addresses (`<svc>.<ns>.svc.<domain>`).
    pub cluster_domain: String,
    /// Sections other than `servers` (`auth:`, ...) added to every published config, as
    /// YAML text (`--base-config`); checked with [`crate::check_base_config`] at start.
    pub base_config: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            configmap_name: "mcp-gateway-config".to_owned(),
            configmap_namespace: "mcp-system".to_owned(),
            configmap_key: "config.yaml".to_owned(),
            cluster_domain: "cluster.local".to_owned(),
            base_config: None,
        }
    }
}

/// Shared state of the reconciles.
pub struct Context {
    /// The Kubernetes API.
    pub client: Client,
    /// Output location and addressing.
    pub settings: Settings,
    /// Where reconciles are counted.
    pub metrics: Arc<Metrics>,
    /// Tools of the published servers, for their status; `None` reports none.
    pub discovery: Option<Arc<Discovery>>,
    /// The ConfigMap text last applied successfully; an identical one is not re-sent.
    last_applied: Mutex<Option<String>>,
}

impl Context {
    /// A context for these settings.
    pub fn new(client: Client, settings: Settings, metrics: Arc<Metrics>) -> Self {
        Self {
            client,
            settings,
            metrics,
            discovery: None,
            last_applied: Mutex::new(None),
        }
    }

    /// This context, reporting the tools `discovery` finds in each target's status.
    pub fn with_discovery(self, discovery: Arc<Discovery>) -> Self {
        Self {
            discovery: Some(discovery),
            ..self
        }
    }

    /// Whether `text` is what was applied last.
    pub(crate) fn is_applied(&self, text: &str) -> bool {
        self.last_applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_deref()
            == Some(text)
    }

    /// Remembers `text` as applied; `None` forgets, so the next reconcile applies
    /// again (the periodic resync does this, repairing edits made by hand).
    pub(crate) fn set_applied(&self, text: Option<String>) {
        *self
            .last_applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = text;
    }
}
