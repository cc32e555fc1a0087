//! The routing core inside Envoy: a dynamic module (`libmcp_gateway_module.so`) for Envoy's
//! `envoy.filters.http.dynamic_modules` filter, ABI v0.2.0 (Envoy 1.40; 1.41 loads modules
//! built for 1.40).
//!
//! - `abi`: the declarations this module uses from Envoy's C ABI, written by hand;
//! - `envoy`: safe wrappers around Envoy's callbacks for one hook;
//! - `hooks`: the `extern "C"` hooks Envoy calls, each catching panics;
//! - `filter`: each phase runs `mcp_gateway_routing::Policy` and applies its plan;
//! - `sidecar`: the process-wide copy of the broker-router sidecar's config, catalog and
//!   session answers, and the callouts that ask it on a miss.
//!
//! `unsafe` is allowed in this crate only, and every block says why it holds.
//!
//! Stage reached (issue 13): request headers and bodies and response headers and bodies go
//! through the core (transport checks, internal headers stripped, the routing decision,
//! sessions and backend sessions from the sidecar, session ids mapped back, lost backend
//! sessions, watched answers rewritten, error answers), and with auth on the caller
//! `jwt_authn` verified (from the payload it forwards in a header).

mod abi;
mod envoy;
mod error;
mod filter;
#[cfg(test)]
mod fuzz;
mod hooks;
mod sidecar;
