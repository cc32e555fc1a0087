//! In-process servers that stop on drop, an rmcp client, and small helpers.

use std::{net::SocketAddr, sync::Once, time::Duration};

use anyhow::Context;
use mcp_gateway_example_servers::{ExampleServer, Options, ServerKind, StatsSnapshot};
use rmcp::{
    RoleClient, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, ClientConfig},
    service::{RunningService, ServiceError},
    transport::StreamableHttpClientTransport,
};
use tokio::{sync::oneshot, task::JoinHandle};

/// Upper bound for any single step, so a hang fails instead of blocking.
pub const STEP: Duration = Duration::from_secs(20);

/// A connected rmcp client.
pub type Client = RunningService<RoleClient, ClientConfig>;

/// reqwest is built without a default TLS provider in this workspace.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An example server running in this process; stops when dropped.
pub struct Running {
    pub url: String,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Stops the server and waits until it has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STEP, task).await??;
        }
        Ok(())
    }

    /// Current counters from `GET /stats`.
    pub async fn stats(&self) -> anyhow::Result<StatsSnapshot> {
        stats_at(self.addr).await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts `kind` on a free loopback port with `options`.
pub async fn start_with(kind: ServerKind, options: Options) -> anyhow::Result<Running> {
    let server = ExampleServer::bind(kind, "127.0.0.1:0".parse()?, options).await?;
    let url = server.url();
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let signal = async move {
            let _ = stopped.await;
        };
        if let Err(error) = server.serve(signal).await {
            panic!("server failed: {error}");
        }
    });
    Ok(Running {
        url,
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Starts `kind` on a free loopback port with default options.
pub async fn start(kind: ServerKind) -> anyhow::Result<Running> {
    start_with(kind, Options::default()).await
}

/// Connects an rmcp client (initialize handshake, session mode) to `url`.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    install_crypto();
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    let client = tokio::time::timeout(STEP, ClientConfig::default().serve(transport))
        .await
        .context("initialize timed out")??;
    Ok(client)
}

/// Calls `name` with the JSON object `arguments`.
pub async fn call(
    client: &Client,
    name: &'static str,
    arguments: serde_json::Value,
) -> Result<CallToolResult, ServiceError> {
    let mut params = CallToolRequestParams::new(name);
    if let serde_json::Value::Object(arguments) = arguments {
        params = params.with_arguments(arguments);
    }
    match tokio::time::timeout(STEP, client.call_tool(params)).await {
        Ok(result) => result,
        Err(_) => panic!("tools/call {name} timed out"),
    }
}

/// The first text content of a tool result.
pub fn text(result: &CallToolResult) -> &str {
    result
        .content
        .first()
        .and_then(|content| content.as_text())
        .map(|content| content.text.as_str())
        .unwrap_or_else(|| panic!("no text content in {result:?}"))
}

/// Asserts a successful result with text `expected`.
pub fn assert_ok_text(result: &CallToolResult, expected: &str) {
    assert_ne!(
        result.is_error,
        Some(true),
        "unexpected tool error: {result:?}"
    );
    assert_eq!(text(result), expected);
}

/// Reads `GET /stats` from the server at `addr`.
pub async fn stats_at(addr: SocketAddr) -> anyhow::Result<StatsSnapshot> {
    install_crypto();
    let response = tokio::time::timeout(STEP, reqwest::get(format!("http://{addr}/stats")))
        .await??
        .error_for_status()?;
    Ok(response.json().await?)
}
