//! The ext_proc router: Envoy sends it each MCP request's headers and buffered body; it tells
//! Envoy where the request goes.
//!
//! - `ext_proc` drives the gRPC stream and keeps per-request state;
//! - [`routing::decide`] is the pure routing decision over one parsed body;
//! - `mutation` turns decisions into Envoy header/body mutations or immediate responses;
//! - `answer` (with `sse`) rewrites the answers the router watches;
//!
//! Requests owned by one backend (`tools/call`) get the tool prefix spliced out of the body,
//! the gateway session id swapped for the backend's, `:authority` set to the backend's
//! hostname and the route cache cleared; everything else goes to the broker untouched.

mod answer;
mod error;
mod ext_proc;
mod mutation;
pub mod routing;
mod sse;

pub use error::RouteError;
pub use ext_proc::{Router, RouterState};
pub use mcp_gateway_protocol::origin::OriginPolicy;
pub use mcp_gateway_protocol::{DEFAULT_MAX_DEPTH, Limits};
