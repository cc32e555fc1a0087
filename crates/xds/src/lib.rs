//! Envoy configuration for mcp-gateway: the static bootstrap file and an ADS server
//! that serves one cluster per MCP server and the route table.
//!
//! # Why
//!
//! The gateway is Envoy plus one binary, `mcp-broker-router`, which runs the ext_proc
//! **router** (gRPC) and the **broker** (the gateway's own MCP server over HTTP).
//! Adding a server to the gateway config must take effect without anyone editing
//! Envoy's configuration. So:
//!
//! - Envoy's bootstrap is static and rendered from flags ([`render_bootstrap`], behind
//!   `mcp-broker-router envoy-config`): the listener with ext_proc, and the router and
//!   broker clusters.
//! - The per-backend **clusters and routes** are served over ADS (xDS,
//!   state-of-the-world, gRPC) on the same gRPC port as ext_proc ([`ads_service`]),
//!   and follow every config change.
//! - The **`jwt_authn` filter's config** (`auth:` in the gateway config) is served over
//!   the same stream as an extension config (ECDS), with one cluster per issuer for its
//!   keys, so turning auth on or changing issuers needs no Envoy restart either.
//! - Envoy routes a request to a backend when the router sets `:authority` to that
//!   backend's `hostname` and clears the route cache: the route table has a virtual
//!   host per backend hostname, and the broker as the `*` fallback. This is what an
//!   HTTPRoute hostname does in Kubernetes.
//!
//! Why not Envoy's dynamic forward proxy: a backend's hostname need not resolve in
//! DNS (a standalone user gives a URL and a logical hostname), and a cluster per
//! backend gives per-backend TLS, connection pools, outlier detection and stats.

mod ads;
mod auth;
mod bootstrap;
mod module;
mod replay;
mod resources;
mod subscription;
mod traffic;

pub use ads::{AdsServer, ads_service};
pub use auth::{JWT_AUTHN_FILTER, jwks_cluster_name, jwt_authn};
pub use bootstrap::{BootstrapOptions, COLLECTOR_CLUSTER, Tracing, render_bootstrap};
pub use module::{MODULE_API_CLUSTER, MODULE_NAME, render_module_bootstrap};
pub use resources::{
    BACKEND_RESPONSE_FILTER, BROKER_CLUSTER, OBSERVE_HEADER, ROUTE_CONFIG_NAME, ROUTER_CLUSTER,
    Resources, cluster_name, resources,
};
pub use traffic::{
    CALLER_RATE_LIMIT_FILTER, RATE_LIMIT_FILTERS, SERVER_RATE_LIMIT_FILTER, TOOL_RATE_LIMIT_FILTER,
};
