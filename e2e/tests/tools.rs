//! Through Envoy with a real MCP client: the gateway's own `initialize`, the
//! aggregated and prefixed `tools/list`, and `tools/call` routed to each backend.

use anyhow::{Context, Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, Mode, ServerKind, call_text, call_tool, first_text, list_tools,
};
use serde_json::{Value, json};

#[tokio::test]
async fn aggregates_prefixed_tools_and_routes_calls_ext_proc() -> Result<()> {
    aggregates_prefixed_tools_and_routes_calls(Mode::ExtProc).await
}

#[tokio::test]
async fn aggregates_prefixed_tools_and_routes_calls_module() -> Result<()> {
    aggregates_prefixed_tools_and_routes_calls(Mode::Module).await
}

async fn aggregates_prefixed_tools_and_routes_calls(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        mode,
        ..GatewayOptions::default()
    })
    .await?;
    let client = gateway.client().await?;

    let info = client.peer_info().context("no initialize result")?;
    let server_name = info.server_info.as_ref().map(|server| server.name.as_str());
    assert_eq!(server_name, Some("mcp-gateway"));

    let tools = list_tools(&client).await?;
    let mut listed: Vec<String> = tools.iter().map(|tool| tool.name.to_string()).collect();
    listed.sort();
    let mut expected: Vec<String> = ServerKind::Calc
        .exposed_tools()
        .chain(ServerKind::Text.exposed_tools())
        .collect();
    expected.sort();
    // Every backend tool exactly once, prefixed; nothing else.
    assert_eq!(listed, expected);

    for tool in &tools {
        let schema = &tool.input_schema;
        assert_eq!(
            schema.get("type"),
            Some(&json!("object")),
            "{} has no object input schema: {schema:?}",
            tool.name
        );
        assert!(
            tool.description.is_some(),
            "{} has no description",
            tool.name
        );
    }
    let properties = |name: &str| -> Result<Vec<String>> {
        let tool = tools
            .iter()
            .find(|tool| tool.name == name)
            .with_context(|| format!("{name} not listed"))?;
        let properties = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
            .with_context(|| format!("{name}'s schema has no properties"))?;
        let mut names: Vec<String> = properties.keys().cloned().collect();
        names.sort();
        Ok(names)
    };
    assert_eq!(properties("calc_add")?, ["a", "b"]);
    assert_eq!(properties("text_upper")?, ["text"]);

    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
        "5"
    );
    assert_eq!(
        call_text(&client, "calc_multiply", json!({"a": 4, "b": 2.5})).await?,
        "10"
    );
    assert_eq!(
        call_text(&client, "text_upper", json!({"text": "abc"})).await?,
        "ABC"
    );
    assert_eq!(
        call_text(&client, "text_reverse", json!({"text": "abc"})).await?,
        "cba"
    );

    let divided = call_tool(&client, "calc_divide", json!({"a": 1, "b": 0})).await?;
    ensure!(
        divided.is_error == Some(true),
        "dividing by zero must be a tool error result: {divided:?}"
    );
    let message = first_text(&divided)?;
    ensure!(
        message.contains("zero"),
        "unexpected tool error text: {message}"
    );

    if mode == Mode::Module {
        // The module, not a router process, routed those calls: it asked the gateway's
        // module API for the session and its backend sessions.
        let asked = gateway
            .envoy_counter("cluster.mcp_module_api.upstream_rq_total")
            .await?;
        ensure!(asked >= 3, "the module asked its sidecar {asked} times");
    }
    client.cancel().await?;
    Ok(())
}
