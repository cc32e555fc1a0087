//! Errors of the controller. Problems with an `MCPServer`'s targets are not errors:
//! they become its status (see [`crate::Reason`]).
//!
//! Messages include their cause's message (so `error = %e` in a log says it all) and
//! therefore do not also expose it as `source()`, which would print it twice.

use std::net::SocketAddr;

/// Why a reconcile, the leader election or the controller itself failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Connecting to the Kubernetes API (kubeconfig or in-cluster config).
    #[error("connecting to the Kubernetes API: {0}")]
    Connect(kube::Error),
    /// Writing the gateway config ConfigMap failed.
    #[error("applying ConfigMap {namespace}/{name}: {error}")]
    ConfigMap {
        namespace: String,
        name: String,
        error: kube::Error,
    },
    /// Some `MCPServer` status patches failed (the others were still written).
    #[error("patching the status of {failed} MCPServer(s), first {object}: {error}")]
    Status {
        failed: usize,
        object: String,
        error: kube::Error,
    },
    /// Reading or writing the leader-election Lease failed.
    #[error("leader election Lease {namespace}/{name}: {error}")]
    Lease {
        namespace: String,
        name: String,
        error: kube::Error,
    },
    /// Serializing YAML (the gateway config or the CRD).
    #[error("serializing YAML: {0}")]
    Yaml(serde_yaml::Error),
    /// Binding the health or metrics listener.
    #[error("binding the {what} listener to {address}: {error}")]
    Bind {
        what: &'static str,
        address: SocketAddr,
        error: std::io::Error,
    },
    /// Building the HTTP client of tool discovery.
    #[error("building the tool discovery client: {0}")]
    Discovery(mcp_gateway_upstream::UpstreamError),
    /// Serving health or metrics stopped with an error.
    #[error("serving {what}: {error}")]
    Serve {
        what: &'static str,
        error: std::io::Error,
    },
}

impl Error {
    /// A short, fixed label for the `error` label of metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Connect(_) => "connect",
            Error::ConfigMap { .. } => "configmap_apply",
            Error::Status { .. } => "status_patch",
            Error::Lease { .. } => "lease",
            Error::Yaml(_) => "serialize",
            Error::Bind { .. } => "bind",
            Error::Discovery(_) => "discovery",
            Error::Serve { .. } => "serve",
        }
    }
}
