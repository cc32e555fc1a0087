//! The ext_proc router: Envoy sends it each MCP request's headers and buffered body; it tells
//! Envoy where the request goes.
//!
//! The decisions are the routing core's (`mcp-gateway-routing`): it returns a plain-data plan
//! per phase. This crate is the ext_proc adapter:
//!
//! - `ext_proc` drives the gRPC stream, keeps per-request state and answers the core's
//!   questions about backend sessions from the session store;
//! - `mutation` turns plans into Envoy ext_proc messages;
//! - `module_api` answers the same questions for the Envoy module, over HTTP on its own
//!   loopback listener.

mod authn;
mod ext_proc;
mod module_api;
mod mutation;
mod observe;
mod trace;

pub use ext_proc::{Router, RouterState};
pub use mcp_gateway_protocol::origin::OriginPolicy;
pub use mcp_gateway_protocol::{DEFAULT_MAX_DEPTH, Limits};
pub use mcp_gateway_routing::RouteError;
