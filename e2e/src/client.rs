//! A real MCP client (rmcp over streamable HTTP with reqwest).

use std::{collections::BTreeSet, future::Future, time::Duration};

use anyhow::{Context, Result, anyhow};
use rmcp::{
    ClientHandler, RoleClient, ServiceError, ServiceExt,
    model::{CallToolRequestParams, CallToolResult, ErrorData, Tool},
    service::RunningService,
    transport::{
        StreamableHttpClientTransport, streamable_http_client::StreamableHttpClientTransportConfig,
    },
};
use serde_json::Value;

use crate::process::DEADLINE;

/// A connected, initialised MCP client session.
pub type McpClient = RunningService<RoleClient, ()>;

/// Longest one MCP request may take before the test calls it a hang.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Connects to the MCP endpoint at `url` and completes the `initialize` handshake.
///
/// The transport does not silently re-initialise on a 404: a test must see the
/// gateway losing its session, not have the SDK paper over it.
pub async fn connect(url: &str) -> Result<McpClient> {
    connect_with(url, ()).await
}

/// [`connect`] with a client handler: its `get_info` declares the client's
/// capabilities, and it answers the server's requests (sampling, elicitation, …).
pub async fn connect_with<H: ClientHandler>(
    url: &str,
    handler: H,
) -> Result<RunningService<RoleClient, H>> {
    serve_over(url, handler, crate::raw::http_client()?).await
}

/// [`connect`] over the HTTP client `http` (e.g. one that sends a header on every request,
/// such as a W3C `traceparent`).
pub async fn connect_over(url: &str, http: reqwest::Client) -> Result<McpClient> {
    serve_over(url, (), http).await
}

async fn serve_over<H: ClientHandler>(
    url: &str,
    handler: H,
    http: reqwest::Client,
) -> Result<RunningService<RoleClient, H>> {
    let config = StreamableHttpClientTransportConfig::with_uri(url)
        .max_concurrent_requests(64)
        .reinit_on_expired_session(false);
    let transport = StreamableHttpClientTransport::with_client(http, config);
    tokio::time::timeout(DEADLINE, handler.serve(transport))
        .await
        .with_context(|| format!("initialize with {url} did not finish within {DEADLINE:?}"))?
        .with_context(|| format!("initialize with {url}"))
}

/// Awaits one MCP request, failing as a hang after [`CALL_TIMEOUT`]; the SDK's
/// error stays in the chain (see [`json_rpc_error`]).
pub async fn within<T, E>(what: &str, request: impl Future<Output = Result<T, E>>) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::time::timeout(CALL_TIMEOUT, request)
        .await
        .with_context(|| format!("{what} did not answer within {CALL_TIMEOUT:?}"))?
        .map_err(anyhow::Error::new)
        .with_context(|| what.to_owned())
}

/// The JSON-RPC error an rmcp request failed with, if that is how it failed.
pub fn json_rpc_error(error: &anyhow::Error) -> Option<&ErrorData> {
    match error.downcast_ref::<ServiceError>()? {
        ServiceError::McpError(data) => Some(data),
        _ => None,
    }
}

/// `tools/call`; a JSON-RPC error comes back as an [`rmcp::ServiceError`] in the
/// error chain (downcast to inspect it), a hang as a timeout error.
pub async fn call_tool<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    arguments: Value,
) -> Result<CallToolResult> {
    let arguments = match arguments {
        Value::Object(arguments) => arguments,
        other => return Err(anyhow!("tool arguments must be an object, not {other}")),
    };
    let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
    tokio::time::timeout(CALL_TIMEOUT, client.call_tool(params))
        .await
        .with_context(|| format!("tools/call {name} did not answer within {CALL_TIMEOUT:?}"))?
        .map_err(anyhow::Error::new)
        .with_context(|| format!("tools/call {name}"))
}

/// `tools/call` that must succeed with a text result; returns the first text.
pub async fn call_text<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    arguments: Value,
) -> Result<String> {
    let result = call_tool(client, name, arguments).await?;
    if result.is_error == Some(true) {
        return Err(anyhow!("{name} returned a tool error: {result:?}"));
    }
    first_text(&result).map(str::to_owned)
}

/// The first text content of a tool result.
pub fn first_text(result: &CallToolResult) -> Result<&str> {
    result
        .content
        .first()
        .and_then(|content| content.as_text())
        .map(|text| text.text.as_str())
        .ok_or_else(|| anyhow!("no text content in {result:?}"))
}

/// Every tool, following pagination.
pub async fn list_tools<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
) -> Result<Vec<Tool>> {
    tokio::time::timeout(CALL_TIMEOUT, client.list_all_tools())
        .await
        .with_context(|| format!("tools/list did not answer within {CALL_TIMEOUT:?}"))?
        .context("tools/list")
}

/// The names of every tool.
pub async fn tool_names<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
) -> Result<BTreeSet<String>> {
    Ok(list_tools(client)
        .await?
        .into_iter()
        .map(|tool| tool.name.into_owned())
        .collect())
}
