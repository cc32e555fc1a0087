//! The benchmark behind `make bench`.
//!
//! - [`echo`]: `mcp-echo-server`, a minimal MCP streamable-HTTP backend (JSON responses) that is
//!   cheap enough never to be the bottleneck, with a multi-backend mode for catalog scenarios.
//! - [`loadgen`]: `mcp-loadgen`, an MCP client that opens sessions and drives `tools/call` or
//!   `tools/list` in closed loop (fixed concurrency) or open loop (fixed rate, latency measured
//!   from the scheduled send time, so without coordinated omission).
//! - [`harness`]: `mcp-bench`, which starts every path (direct, plain Envoy, Envoy + gateway,
//!   Envoy's own MCP router), measures them interleaved in one run and runs the scale scenarios.
//! - [`report`]: the results as JSON, a markdown table, an SVG plot and `docs/performance.md`.

pub mod echo;
mod error;
pub mod harness;
pub mod loadgen;
pub mod report;

pub use error::BenchError;
