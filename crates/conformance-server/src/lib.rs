//! The fixture server of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`), built on the official Rust SDK (`rmcp`).
//!
//! The suite's server scenarios call tools, read resources and get prompts by
//! fixed names (`test_simple_text`, `test://static-text`, `test_simple_prompt`,
//! …) and check what comes back. This server implements every one of them over
//! streamable HTTP with sessions, so `make conformance` can run the suite
//! against it directly and through the gateway and compare.

pub mod app;
mod completion;
mod elicitation;
pub mod interaction;
mod logging;
pub mod media;
pub mod prompts;
pub mod resources;
pub mod server;
pub mod sessions;
pub mod tools;

pub use app::{ConformanceServer, Options, app};
pub use mcp_gateway_example_servers::{Error, HostPolicy};
pub use server::Fixture;
