use mcp_gateway_example_servers::{ServerKind, StatsSnapshot};
use rmcp::{
    model::{CallToolResult, ErrorCode},
    service::ServiceError,
};
use serde_json::json;

use crate::support::{assert_ok_text, call, connect, start, text};

/// The JSON-RPC error code of a call that must have failed with a protocol error.
fn protocol_error(result: Result<CallToolResult, ServiceError>) -> ErrorCode {
    match result {
        Err(ServiceError::McpError(error)) => error.code,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test]
async fn reports_server_info() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;
    let info = client.peer_info().expect("initialized");
    let implementation = info.server_info.clone().expect("server info");
    assert_eq!(implementation.name, "calc");
    assert_eq!(implementation.version, env!("CARGO_PKG_VERSION"));
    assert!(info.instructions.as_deref().is_some_and(|i| !i.is_empty()));
    assert!(info.capabilities.tools.is_some());
    Ok(())
}

#[tokio::test]
async fn lists_tools_with_schemas() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;
    let tools = client.list_all_tools().await?;
    let mut names: Vec<_> = tools.iter().map(|tool| tool.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add", "divide", "multiply", "sqrt", "subtract", "sum", "whoami"
        ]
    );
    let add = tools.iter().find(|tool| tool.name == "add").expect("add");
    let schema = serde_json::Value::Object(add.input_schema.as_ref().clone());
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["properties"]["a"]["type"], "number");
    assert_eq!(schema["properties"]["b"]["type"], "number");
    assert_eq!(schema["required"], json!(["a", "b"]));
    assert!(add.output_schema.is_some());
    let sum = tools.iter().find(|tool| tool.name == "sum").expect("sum");
    assert_eq!(sum.input_schema["properties"]["numbers"]["type"], "array");
    let sqrt = tools.iter().find(|tool| tool.name == "sqrt").expect("sqrt");
    assert_eq!(sqrt.input_schema["required"], json!(["x"]));
    Ok(())
}

#[tokio::test]
async fn computes() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;

    let added = call(&client, "add", json!({"a": 2, "b": 3})).await?;
    assert_ok_text(&added, "5");
    assert_eq!(added.structured_content, Some(json!({"result": 5.0})));

    assert_ok_text(
        &call(&client, "subtract", json!({"a": 2, "b": 3.5})).await?,
        "-1.5",
    );
    assert_ok_text(
        &call(&client, "multiply", json!({"a": -4, "b": 2.5})).await?,
        "-10",
    );
    assert_ok_text(
        &call(&client, "multiply", json!({"a": -4, "b": 0})).await?,
        "0",
    );
    assert_ok_text(
        &call(&client, "divide", json!({"a": 7, "b": 2})).await?,
        "3.5",
    );
    assert_ok_text(&call(&client, "sqrt", json!({"x": 9})).await?, "3");
    assert_ok_text(
        &call(&client, "sum", json!({"numbers": [1, 2, 3.5]})).await?,
        "6.5",
    );
    assert_ok_text(&call(&client, "sum", json!({"numbers": []})).await?, "0");
    Ok(())
}

#[tokio::test]
async fn bad_operands_are_tool_errors() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;

    let divided = call(&client, "divide", json!({"a": 1, "b": 0})).await?;
    assert_eq!(divided.is_error, Some(true));
    assert!(text(&divided).contains("divide by zero"), "{divided:?}");
    assert_eq!(divided.structured_content, None);

    let root = call(&client, "sqrt", json!({"x": -4})).await?;
    assert_eq!(root.is_error, Some(true));
    assert!(text(&root).contains("negative"), "{root:?}");

    let overflow = call(&client, "multiply", json!({"a": 1e308, "b": 10})).await?;
    assert_eq!(overflow.is_error, Some(true));
    Ok(())
}

#[tokio::test]
async fn bad_arguments_are_tool_errors_and_unknown_tools_protocol_errors() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let client = connect(&server.url).await?;
    let missing = call(&client, "add", json!({"a": 1})).await?;
    assert_eq!(missing.is_error, Some(true));
    assert!(text(&missing).contains("missing field `b`"), "{missing:?}");
    let mistyped = call(&client, "add", json!({"a": "one", "b": 2})).await?;
    assert_eq!(mistyped.is_error, Some(true));
    assert_eq!(
        protocol_error(call(&client, "no_such_tool", json!({})).await),
        ErrorCode::INVALID_PARAMS
    );
    // The client still works afterwards.
    assert_ok_text(&call(&client, "add", json!({"a": 1, "b": 1})).await?, "2");
    Ok(())
}

#[tokio::test]
async fn whoami_reports_the_session_it_sees() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let first = connect(&server.url).await?;
    let second = connect(&server.url).await?;

    let mine = call(&first, "whoami", json!({})).await?;
    let again = call(&first, "whoami", json!({})).await?;
    let theirs = call(&second, "whoami", json!({})).await?;
    let identity = mine.structured_content.clone().expect("structured whoami");
    assert_eq!(identity["server"], "calc");
    let session = identity["session_id"].as_str().expect("a session id");
    assert!(!session.is_empty());
    assert_eq!(
        again.structured_content.expect("structured")["session_id"],
        session
    );
    let other = theirs.structured_content.expect("structured");
    assert_ne!(other["session_id"], session);
    assert!(other["session_id"].is_string());
    Ok(())
}

#[tokio::test]
async fn stats_count_initialize_and_tool_calls() -> anyhow::Result<()> {
    let server = start(ServerKind::Calc).await?;
    let zero = StatsSnapshot {
        server: "calc".to_owned(),
        initialize: 0,
        tool_calls: 0,
        log_level: None,
        subscribes: 0,
        unsubscribes: 0,
        cancellations: 0,
        last_cancelled_request: None,
        sessions_ended: 0,
    };
    assert_eq!(server.stats().await?, zero);

    let client = connect(&server.url).await?;
    client.list_all_tools().await?;
    call(&client, "add", json!({"a": 1, "b": 2})).await?;
    call(&client, "divide", json!({"a": 1, "b": 0})).await?;
    assert_eq!(
        protocol_error(call(&client, "no_such_tool", json!({})).await),
        ErrorCode::INVALID_PARAMS
    );
    let stats = server.stats().await?;
    assert_eq!((stats.initialize, stats.tool_calls), (1, 3));

    let _second = connect(&server.url).await?;
    let stats = server.stats().await?;
    assert_eq!((stats.initialize, stats.tool_calls), (2, 3));

    client.cancel().await?;
    server.stop().await
}
