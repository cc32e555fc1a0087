//! Example MCP servers built on the official Rust SDK (`rmcp`).
//!
//! Two small servers, `calc` and `text`, speak streamable HTTP with sessions so
//! that the gateway's `make run` and e2e tests have real backends to route to.
//! Each offers tools, prompts (with argument completion), resources and a
//! resource template (with subscriptions) and logging, optionally paginates
//! its lists, and serves `GET /stats`: the `initialize` requests and tool calls
//! it has answered, the last log level, subscriptions and cancellations.

pub mod app;
pub mod calc;
mod error;
pub mod identity;
pub mod pagination;
pub mod serving;
pub mod shared;
pub mod stats;
pub mod text;

pub use app::{ExampleServer, Options, ServerKind, app};
pub use error::Error;
pub use pagination::{Page, Pager};
pub use serving::{Bound, HostPolicy, ServeArgs};
pub use shared::Shared;
pub use stats::{Stats, StatsSnapshot};
