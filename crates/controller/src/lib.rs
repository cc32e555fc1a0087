//! Kubernetes controller of the MCP gateway.
//!
//! `MCPServer` resources (`mcp.kagenti.com/v1alpha1`) name Gateway API
//! `HTTPRoute`s; the controller resolves each to a backend URL (through the route's
//! Service backend) and a routing hostname (the route's first hostname), and writes
//! all of them as one gateway config into a ConfigMap, in the same YAML the
//! standalone gateway reads. See README.md for the design.
//!
//! Flow: watch caches -> [`Cluster`] snapshot -> [`plan()`] (pure) ->
//! [`reconcile()`] (ConfigMap apply, status patches), driven by [`Controller`].

mod cluster;
mod context;
mod controller;
mod crd;
mod discovery;
mod error;
mod health;
mod leader;
mod metrics;
mod plan;
mod reason;
mod reconcile;
mod resolve;
mod route;
mod status;
mod virtual_server;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod verifier;

pub use cluster::Cluster;
pub use context::{Context, FIELD_MANAGER, Settings};
pub use controller::{Controller, ControllerOptions, MAX_RETRY};
pub use crd::{
    Condition, DEFAULT_PATH, GATEWAY_GROUP, HTTP_ROUTE_KIND, MCPServer, MCPServerSpec,
    MCPServerStatus, TargetRef, TargetStatus, crd_yaml,
};
pub use discovery::DiscoverySettings;
pub use error::Error;
pub use health::Health;
pub use leader::{DEFAULT_LEASE_NAME, LeaderElector, LeaseSettings, default_identity};
pub use metrics::Metrics;
pub use plan::{Plan, ServerPlan, plan};
pub use reason::{Problem, Reason};
pub use reconcile::{
    CONFIG_HEADER, Summary, check_base_config, reconcile, render_config, render_config_with,
};
pub use resolve::{Owner, resolve_target, server_name};
pub use route::{BackendRef, HTTPRoute, HTTPRouteSpec, RouteRule};
pub use status::{READY, desired_status, needs_update, ready_condition};
pub use virtual_server::{
    MCPServerRef, MCPVirtualServer, MCPVirtualServerSpec, MCPVirtualServerStatus,
    VirtualServerPlan, desired_virtual_status, virtual_server_crd_yaml,
};
