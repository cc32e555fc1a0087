//! Hot reload of the gateway config: a server added to the file shows up and is
//! routed without a restart; an invalid file changes nothing; a server configured
//! with `enabled: false` is ignored until the file enables it.

use std::{collections::BTreeSet, time::Duration};

use anyhow::{Result, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, ServerKind, call_text, eventually, tool_names,
};
use reqwest::StatusCode;
use serde_json::json;
use tokio::time::Instant;

/// JSON-RPC invalid params: the error of an unknown tool.
const INVALID_PARAMS: i64 = -32602;

/// How long an invalid config is watched for effects once the gateway has rejected it:
/// ten config poll intervals.
const OBSERVE: Duration = Duration::from_secs(1);
/// What the gateway logs when it refuses a config file.
const REJECTED: &str = "configuration rejected";

/// Waits until the gateway has logged one more rejection than `before` (it read the
/// invalid file and refused it), then checks that nothing changes.
async fn rejected_and_nothing_changes(
    gateway: &Gateway,
    client: &McpClient,
    expected: &BTreeSet<String>,
    before: usize,
) -> Result<()> {
    eventually("the gateway to reject the config", || async {
        let rejections = gateway.gateway_log().matches(REJECTED).count();
        ensure!(rejections > before, "{rejections} rejections logged");
        Ok(())
    })
    .await?;
    nothing_changes(client, expected).await
}

/// Checks, for [`OBSERVE`], that calc and text keep working and the tools stay `expected`.
async fn nothing_changes(client: &McpClient, expected: &BTreeSet<String>) -> Result<()> {
    let until = Instant::now() + OBSERVE;
    while Instant::now() < until {
        ensure!(call_text(client, "calc_add", json!({"a": 2, "b": 3})).await? == "5");
        ensure!(call_text(client, "text_upper", json!({"text": "abc"})).await? == "ABC");
        let names = tool_names(client).await?;
        ensure!(names == *expected, "tools changed to {names:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn added_server_appears_and_invalid_config_is_ignored() -> Result<()> {
    let mut gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await?;
    gateway.add_backend(ServerKind::Text).await?;
    let client = gateway.client().await?;

    let names = tool_names(&client).await?;
    assert!(
        !names.iter().any(|name| name.starts_with("text_")),
        "text is not configured yet: {names:?}"
    );
    assert!(names.contains("calc_add"));

    gateway.write_config(&gateway.config_yaml(&[ServerKind::Calc, ServerKind::Text])?)?;
    let expected: BTreeSet<String> = ServerKind::Calc
        .exposed_tools()
        .chain(ServerKind::Text.exposed_tools())
        .collect();
    let names = eventually("text's tools to appear after the reload", || async {
        let names = tool_names(&client).await?;
        if names != expected {
            bail!("tools/list showed {names:?}");
        }
        Ok(names)
    })
    .await?;
    assert_eq!(
        call_text(&client, "text_upper", json!({"text": "abc"})).await?,
        "ABC"
    );
    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
        "5"
    );

    // Not YAML at all.
    let before = gateway.gateway_log().matches(REJECTED).count();
    gateway.write_config("servers: [ {name: ")?;
    rejected_and_nothing_changes(&gateway, &client, &names, before).await?;

    // Empty, as an editor leaves the file between truncating and writing it: not "no
    // servers", which would take every tool away.
    let before = gateway.gateway_log().matches(REJECTED).count();
    gateway.write_config("")?;
    rejected_and_nothing_changes(&gateway, &client, &names, before).await?;

    // Valid YAML, invalid config: two servers with one name (text's entry, renamed).
    let valid = gateway.config_yaml(&[ServerKind::Calc, ServerKind::Text])?;
    let duplicate = valid.replacen("name: text", "name: calc", 1);
    assert_ne!(duplicate, valid);
    let before = gateway.gateway_log().matches(REJECTED).count();
    gateway.write_config(&duplicate)?;
    rejected_and_nothing_changes(&gateway, &client, &names, before).await?;

    // The watcher survived both: removing text takes effect.
    gateway.write_config(&gateway.config_yaml(&[ServerKind::Calc])?)?;
    let calc_only: BTreeSet<String> = ServerKind::Calc.exposed_tools().collect();
    eventually("text's tools to go after the reload", || async {
        let names = tool_names(&client).await?;
        ensure!(names == calc_only, "tools/list showed {names:?}");
        Ok(())
    })
    .await?;
    assert_eq!(
        call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
        "5"
    );

    client.cancel().await?;
    Ok(())
}

#[tokio::test]
async fn disabled_server_is_neither_listed_nor_routed_until_enabled() -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc, ServerKind::Text],
        disabled: &["text"],
        ..GatewayOptions::default()
    })
    .await?;
    let text = gateway.backend("text")?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;

    // Running, configured with `enabled: false`: not in tools/list...
    let calc_only: BTreeSet<String> = ServerKind::Calc.exposed_tools().collect();
    assert_eq!(raw.tool_names(&session).await?, calc_only);
    // ...and its prefixed tools are unknown, although `text_` is its configured prefix.
    for tool in ["text_upper", "text_whoami"] {
        let reply = raw
            .call_tool(Some(&session), tool, json!({"text": "abc"}))
            .await?;
        assert_eq!(reply.status, StatusCode::OK, "{tool}: {reply}");
        assert_eq!(reply.error_code(), Some(INVALID_PARAMS), "{tool}: {reply}");
        let message = reply.error_message().unwrap_or_default();
        assert!(message.contains(tool), "{tool} not named in: {reply}");
    }
    // Nothing reached it: neither discovery nor a routed call opened a session.
    let stats = text.stats().await?;
    assert_eq!((stats.initialize, stats.tool_calls), (0, 0), "{stats:?}");

    // Enabled at runtime: its tools appear and are routed, on the same session.
    let config = gateway.config_yaml(&[ServerKind::Calc, ServerKind::Text])?;
    assert!(config.contains("enabled: true") && !config.contains("enabled: false"));
    gateway.write_config(&config)?;
    let all: BTreeSet<String> = calc_only
        .iter()
        .cloned()
        .chain(ServerKind::Text.exposed_tools())
        .collect();
    gateway
        .wait_for_tools("text's tools once enabled", |names| *names == all)
        .await?;
    assert_eq!(raw.tool_names(&session).await?, all);
    let reply = raw
        .call_tool(Some(&session), "text_upper", json!({"text": "abc"}))
        .await?;
    assert_eq!(reply.tool_text()?, "ABC", "{reply}");
    Ok(())
}
