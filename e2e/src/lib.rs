//! End-to-end harness: a real Envoy, the real `mcp-broker-router` binary and real
//! MCP servers (`mcp-example-server` and `mcp-conformance-server`, built with rmcp, and
//! the benchmark's `mcp-echo-server`, whose tools change without notice), each a child
//! process on free loopback ports, plus an in-process rmcp server a test can change
//! while it runs ([`LiveServer`]); driven by a real rmcp client and by raw HTTP; and
//! the official TypeScript SDK's client and a server of it with MCP Tasks
//! ([`TasksServer`], [`run_client`]; `npm ci --prefix e2e/node` installs them).
//!
//! Build the binaries first (`make test` does): `cargo build --workspace --bins`.
//! Envoy comes from `$ENVOY_BIN` or `scripts/ensure-envoy.sh`.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use mcp_gateway_e2e::{Gateway, GatewayOptions, ServerKind, call_text};
//! let gateway = Gateway::start(GatewayOptions {
//!     servers: &[ServerKind::Calc],
//!     ..GatewayOptions::default()
//! })
//! .await?;
//! let client = gateway.client().await?;
//! let sum = call_text(&client, "calc_add", serde_json::json!({"a": 2, "b": 3})).await?;
//! assert_eq!(sum, "5");
//! # Ok(())
//! # }
//! ```

mod backend;
mod browser;
mod client;
mod envoy;
mod gateway;
mod idp;
mod live;
mod node;
mod otlp;
mod process;
mod raw;
mod redis;
mod replicas;
mod sse;
mod wire;

pub use backend::{Backend, Program, ServerKind, Stats};
pub use browser::{ConsoleBrowser, chromium_binary};
pub use client::{
    CALL_TIMEOUT, McpClient, call_text, call_tool, connect, connect_over, connect_with, first_text,
    json_rpc_error, list_tools, tool_names, within,
};
pub use envoy::{Envoy, EnvoySettings, envoy_binary};
pub use gateway::{ExternalServer, Gateway, GatewayOptions, Mode};
pub use idp::{ACCESS_TOKEN_TYPE, IdentityProvider, TOKEN_EXCHANGE, run_oauth_client};
pub use live::{FIRST_TOOL, LiveServer, SLEEP_ARGUMENT, SeenCredentials, WATCHED_URI};
pub use node::{TasksServer, run_client, run_client2, run_mrtr_client};
pub use otlp::{OtlpReceiver, ReceivedSpan};
pub use process::{DEADLINE, eventually, eventually_within};
pub use raw::{PROTOCOL_VERSION, RawClient, Reply, SESSION_HEADER, http_client};
pub use redis::RedisServer;
pub use replicas::Replicas;
pub use sse::{EventStream, SseEvent};
pub use wire::{WireReply, WireRequest, send as send_wire};

/// Runs each named test function, `async fn name(mode: Mode) -> anyhow::Result<()>`, in both
/// data planes: as the tests `name::ext_proc` and `name::module`. With `multi_thread:` first,
/// on a two-worker runtime.
///
/// ```ignore
/// async fn routes_calls(mode: Mode) -> anyhow::Result<()> { Ok(()) }
/// mcp_gateway_e2e::in_both_modes!(routes_calls);
/// ```
#[macro_export]
macro_rules! in_both_modes {
    (multi_thread: $($name:ident),+ $(,)?) => {$(
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn ext_proc() -> ::anyhow::Result<()> {
                super::$name($crate::Mode::ExtProc).await
            }
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn module() -> ::anyhow::Result<()> {
                super::$name($crate::Mode::Module).await
            }
        }
    )+};
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[::tokio::test]
            async fn ext_proc() -> ::anyhow::Result<()> {
                super::$name($crate::Mode::ExtProc).await
            }
            #[::tokio::test]
            async fn module() -> ::anyhow::Result<()> {
                super::$name($crate::Mode::Module).await
            }
        }
    )+};
}
