//! Hot reload of the gateway config: a server added to the file shows up and is
//! routed without a restart; an invalid file changes nothing.

use std::{collections::BTreeSet, time::Duration};

use anyhow::{Result, bail, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, McpClient, ServerKind, call_text, eventually, tool_names,
};
use serde_json::json;
use tokio::time::Instant;

/// How long an invalid config is watched for effects: ten config poll intervals.
const OBSERVE: Duration = Duration::from_secs(1);

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
    gateway.write_config("servers: [ {name: ")?;
    nothing_changes(&client, &names).await?;

    // Valid YAML, invalid config: two servers with one name (text's entry, renamed).
    let valid = gateway.config_yaml(&[ServerKind::Calc, ServerKind::Text])?;
    let duplicate = valid.replacen("name: text", "name: calc", 1);
    assert_ne!(duplicate, valid);
    gateway.write_config(&duplicate)?;
    nothing_changes(&client, &names).await?;

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
