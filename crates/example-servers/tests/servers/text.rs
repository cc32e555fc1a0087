use mcp_gateway_example_servers::ServerKind;
use serde_json::json;

use crate::support::{assert_ok_text, call, connect, start, text};

#[tokio::test]
async fn lists_tools_and_reports_server_info() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;
    let info = client.peer_info().expect("initialized");
    assert_eq!(info.server_info.as_ref().expect("server info").name, "text");

    let tools = client.list_all_tools().await?;
    let mut names: Vec<_> = tools.iter().map(|tool| tool.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "echo",
            "lower",
            "now",
            "reverse",
            "upper",
            "whoami",
            "word_count"
        ]
    );
    let upper = tools
        .iter()
        .find(|tool| tool.name == "upper")
        .expect("upper");
    assert_eq!(upper.input_schema["properties"]["text"]["type"], "string");
    assert_eq!(upper.input_schema["required"], json!(["text"]));
    Ok(())
}

#[tokio::test]
async fn transforms_text() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;

    assert_ok_text(
        &call(&client, "upper", json!({"text": "Grüße"})).await?,
        "GRÜSSE",
    );
    assert_ok_text(
        &call(&client, "lower", json!({"text": "HeLLo"})).await?,
        "hello",
    );
    assert_ok_text(
        &call(&client, "reverse", json!({"text": "héllo"})).await?,
        "olléh",
    );
    assert_ok_text(
        &call(&client, "echo", json!({"text": " as is "})).await?,
        " as is ",
    );

    let counted = call(
        &client,
        "word_count",
        json!({"text": "  the quick\tbrown\n"}),
    )
    .await?;
    assert_ok_text(&counted, "3");
    assert_eq!(counted.structured_content, Some(json!({"count": 3})));
    assert_ok_text(
        &call(&client, "word_count", json!({"text": ""})).await?,
        "0",
    );

    let missing = call(&client, "upper", json!({})).await?;
    assert_eq!(missing.is_error, Some(true));
    assert!(
        text(&missing).contains("missing field `text`"),
        "{missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn now_is_current_utc_rfc3339() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;
    let before = chrono::Utc::now();
    let result = call(&client, "now", json!({})).await?;
    let after = chrono::Utc::now();
    let stamp = text(&result);
    assert!(stamp.ends_with('Z'), "{stamp}");
    let parsed = chrono::DateTime::parse_from_rfc3339(stamp)?;
    let slack = chrono::Duration::milliseconds(1);
    assert!(
        parsed >= before - slack && parsed <= after + slack,
        "{stamp}"
    );
    Ok(())
}

#[tokio::test]
async fn whoami_and_stats() -> anyhow::Result<()> {
    let server = start(ServerKind::Text).await?;
    let client = connect(&server.url).await?;
    let identity = call(&client, "whoami", json!({}))
        .await?
        .structured_content
        .expect("structured whoami");
    assert_eq!(identity["server"], "text");
    assert!(
        identity["session_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    let stats = server.stats().await?;
    assert_eq!(stats.server, "text");
    assert_eq!((stats.initialize, stats.tool_calls), (1, 1));
    Ok(())
}
