//! Example MCP servers built on the official Rust SDK (`rmcp`).
//!
//! Two small servers, `calc` and `text`, speak streamable HTTP with sessions so
//! that the gateway's `make run` and e2e tests have real backends to route to.
//! Each also serves `GET /stats`, counting the `initialize` requests and tool
//! calls it has answered.

pub mod app;
pub mod calc;
mod error;
pub mod identity;
pub mod stats;
pub mod text;

pub use app::{ExampleServer, HostPolicy, Options, ServerKind, app};
pub use error::Error;
pub use stats::{Stats, StatsSnapshot};
