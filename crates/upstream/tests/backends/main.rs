//! Integration tests of the upstream client against a real MCP server (rmcp,
//! the official Rust SDK) and against hand-written HTTP backends, all served
//! in-process on 127.0.0.1 port 0.

mod demo;
mod rmcp_backend;
mod scripted;
mod scripted_backend;

use std::time::Duration;

use mcp_gateway_upstream::{InitOptions, UpstreamClient};
use serde_json::json;

/// A client with a generous timeout: tests that expect speed assert it.
fn client() -> UpstreamClient {
    UpstreamClient::new(Duration::from_secs(10)).expect("client")
}

fn options(version: &str) -> InitOptions {
    InitOptions {
        protocol_version: version.to_owned(),
        capabilities: json!({"roots": {"listChanged": true}}),
        client_info: json!({"name": "gateway-test", "version": "0.0.0"}),
    }
}
