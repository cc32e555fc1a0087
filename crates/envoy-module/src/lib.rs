//! The routing core inside Envoy: a dynamic module (`libmcp_gateway_module.so`) for Envoy's
//! `envoy.filters.http.dynamic_modules` filter, ABI v0.2.0 (Envoy 1.40; 1.41 loads modules
//! built for 1.40).
//!
//! - `abi`: the declarations this module uses from Envoy's C ABI, written by hand;
//! - `envoy`: safe wrappers around Envoy's callbacks for one hook;
//! - `hooks`: the `extern "C"` hooks Envoy calls, each catching panics;
//! - `filter`: each phase runs `mcp_gateway_routing::Policy` and applies its plan.
//!
//! `unsafe` is allowed in this crate only, and every block says why it holds.
//!
//! Stage reached (issue 13): request headers and bodies go through the core (transport
//! checks, internal headers stripped, the routing decision, error answers). Sessions and
//! backend sessions from the broker-router sidecar, and the response phase, are not here yet.

mod abi;
mod envoy;
mod filter;
mod hooks;
