//! The routing core loaded into a real Envoy as a dynamic module (`libmcp_gateway_module.so`),
//! in front of a real MCP server: requests pass through it, and its answers are the core's.

use std::path::PathBuf;

use anyhow::{Context, Result};
use mcp_gateway_e2e::{Backend, Envoy, PROTOCOL_VERSION, http_client};
use serde_json::{Value, json};

/// Where cargo put the module: the directory of this test binary's parent (`target/<profile>`).
fn module_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("test binary outside target/<profile>/deps")?
        .to_path_buf();
    anyhow::ensure!(
        dir.join("libmcp_gateway_module.so").exists(),
        "{} has no libmcp_gateway_module.so: run `cargo build --workspace` first",
        dir.display()
    );
    Ok(dir)
}

/// Envoy with only the module and the router filter, every route to `backend`; the module
/// knows one server (`calc`) by config.
fn bootstrap(backend_port: u16) -> String {
    format!(
        r#"
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
static_resources:
  listeners:
  - name: mcp
    address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: mcp
          route_config:
            virtual_hosts:
            - name: backend
              domains: ["*"]
              routes: [{{match: {{prefix: "/"}}, route: {{cluster: backend}}}}]
          http_filters:
          - name: envoy.filters.http.dynamic_modules
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter
              dynamic_module_config: {{name: mcp_gateway_module}}
              filter_name: mcp
              filter_config:
                "@type": type.googleapis.com/google.protobuf.StringValue
                value: '{{"servers": [{{"name": "calc", "url": "http://127.0.0.1:{backend_port}/mcp", "hostname": "calc.mcp.local", "toolPrefix": "calc_"}}]}}'
          - name: envoy.filters.http.router
            typed_config: {{"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}
  clusters:
  - name: backend
    type: STATIC
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {backend_port}}}}}}}
"#
    )
}

async fn post(url: &str, body: &Value) -> Result<(u16, Value)> {
    let response = http_client()?
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .json(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    // A JSON body, or the first SSE event's data.
    let data = text
        .lines()
        .find_map(|line| line.strip_prefix("data:"))
        .unwrap_or(&text);
    let value = serde_json::from_str(data.trim()).with_context(|| format!("body {text:?}"))?;
    Ok((status, value))
}

#[tokio::test]
async fn the_module_loads_passes_requests_through_and_answers_with_the_core() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let backend = Backend::start_echo("calc", dir.path()).await?;
    let port: u16 = backend
        .url()
        .rsplit(':')
        .next()
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .context("backend port")?;
    let envoy = Envoy::start_bootstrap(dir.path(), &bootstrap(port), Some(&module_dir()?)).await?;
    let base = format!("http://{}", envoy.listener());

    // Passes through: the backend answers initialize.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
        "clientInfo": {"name": "module-test", "version": "0"}}});
    let (status, answer) = post(&format!("{base}/mcp"), &init).await?;
    assert_eq!(status, 200, "{answer}\n{}", envoy.log_tail());
    assert!(answer.pointer("/result/serverInfo").is_some(), "{answer}");

    // The core's transport rules, answered in Envoy: MCP only on /mcp.
    let (status, answer) = post(&format!("{base}/elsewhere"), &init).await?;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(answer["error"]["code"], -32600, "{answer}");

    // The core's decision: a call to a known prefix needs a gateway session.
    let call = json!({"jsonrpc": "2.0", "id": "c1", "method": "tools/call",
        "params": {"name": "calc_echo", "arguments": {}}});
    let (status, answer) = post(&format!("{base}/mcp"), &call).await?;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["id"], "c1", "the client's id: {answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Mcp-Session-Id")),
        "{answer}"
    );

    // A body that is not JSON is the core's parse error, not the backend's.
    let response = http_client()?
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await?;
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    Ok(())
}
