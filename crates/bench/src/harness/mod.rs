//! `mcp-bench`: starts every path under test on loopback free ports and measures it.
//!
//! - [`stack`]: two echo backends, the gateway + its Envoy, a plain Envoy, Envoy's `mcp_router`,
//!   a plain Envoy with a no-op ext_proc server ([`noop`]), and the gateway with auth and
//!   policy on ([`access`]) trusting an OpenID provider ([`idp`]);
//! - [`suite`]: the interleaved comparison and the latency-vs-load sweep;
//! - [`scale`]: many concurrent sessions and the first-call storm;
//! - [`listing`]: aggregated `tools/list` over many synthetic backends;
//! - [`replicas`]: one process on memory and on Redis, three replicas on Redis ([`redis`]);
//! - [`run`]: all of it, and the written results.

pub mod access;
pub mod cpu;
pub mod duration;
pub mod echo_process;
pub mod envoy;
pub mod gateway;
pub mod http;
pub mod idp;
pub mod listing;
pub mod noop;
pub mod probe;
pub mod process;
pub mod procfs;
pub mod redis;
pub mod render;
pub mod replicas;
pub mod run;
pub mod scale;
pub mod settings;
pub mod stack;
pub mod suite;
