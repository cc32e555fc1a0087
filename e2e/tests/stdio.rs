//! A stdio server behind the gateway: the official "everything" server
//! (`@modelcontextprotocol/server-everything`, pinned in e2e/node) run as
//! `node dist/index.js stdio` from a `command:` entry, bridged to streamable HTTP by
//! mcp-broker-router and reached through real Envoy by rmcp clients. One child process
//! per backend session; a killed child's sessions heal.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::{Context, Result, bail, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, call_text, eventually, list_tools};
use serde_json::json;

/// The server's name in the gateway, and so its tools' prefix `ev_`.
const NAME: &str = "ev";

fn everything_entry() -> Result<PathBuf> {
    let entry = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("node/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    ensure!(
        entry.is_file(),
        "{} is missing: run `npm ci --prefix e2e/node`",
        entry.display()
    );
    Ok(entry)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The pids of the processes whose environment holds `marker` (our stdio children).
fn children(marker: &str) -> Vec<u32> {
    let needle = format!("MCP_E2E_STDIO_MARK={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|byte| *byte == 0)
                    .any(|variable| variable == needle.as_bytes())
            })
        })
        .collect()
}

#[tokio::test]
async fn a_stdio_server_is_listed_called_and_healed_through_envoy() -> Result<()> {
    let entry = everything_entry()?;
    let gateway = Gateway::start(GatewayOptions::default()).await?;
    let marker = format!("{}-{}", std::process::id(), free_port()?);
    let port = free_port()?;
    gateway.write_config(&format!(
        "servers:\n  - name: {NAME}\n    command: node\n    args: [{entry:?}, stdio]\n    \
         env: {{MCP_E2E_STDIO_MARK: {marker:?}}}\n    port: {port}\n    toolPrefix: {NAME}_\n",
        entry = entry.display().to_string(),
    ))?;
    let tools = gateway
        .wait_for_tools("the stdio server's tools", |names| {
            names.contains("ev_echo") && names.contains("ev_get-sum")
        })
        .await?;
    ensure!(
        tools.iter().all(|name| name.starts_with("ev_")),
        "{tools:?}"
    );
    // The gateway's own discovery session has a child.
    let base = children(&marker).len();
    ensure!(base >= 1, "no stdio child for discovery");

    let first = gateway.client().await?;
    let listed = list_tools(&first).await?;
    ensure!(
        listed.iter().any(|tool| tool.name == "ev_echo"),
        "{listed:?}"
    );
    let echoed = call_text(&first, "ev_echo", json!({"message": "one"})).await?;
    ensure!(echoed.contains("one"), "echo answered {echoed:?}");
    let after_first = children(&marker);
    ensure!(
        after_first.len() > base,
        "the first client's session has no child of its own: {after_first:?}"
    );

    let second = gateway.client().await?;
    let echoed = call_text(&second, "ev_echo", json!({"message": "two"})).await?;
    ensure!(echoed.contains("two"), "echo answered {echoed:?}");
    let after_second = children(&marker);
    ensure!(
        after_second.len() > after_first.len(),
        "two client sessions share one child: {after_first:?} then {after_second:?}"
    );
    // Sums exercise a tool with arguments and a structured answer.
    let sum = call_text(&second, "ev_get-sum", json!({"a": 2, "b": 3})).await?;
    ensure!(sum.contains('5'), "get-sum answered {sum:?}");

    // Kill every child: the sessions are lost, and the gateway must open new ones.
    for pid in &after_second {
        let status = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .context("running kill")?;
        ensure!(status.success(), "kill -9 {pid} failed");
    }
    eventually("the killed children to be gone", || async {
        let left: Vec<u32> = children(&marker)
            .into_iter()
            .filter(|pid| after_second.contains(pid))
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            bail!("still running: {left:?}")
        }
    })
    .await?;

    eventually("a new session to call the stdio server again", || async {
        let client = gateway.client().await?;
        let echoed = call_text(&client, "ev_echo", json!({"message": "three"})).await?;
        client.cancel().await?;
        ensure!(echoed.contains("three"), "echo answered {echoed:?}");
        Ok(())
    })
    .await?;
    eventually("the first client's session to heal", || async {
        let echoed = call_text(&first, "ev_echo", json!({"message": "four"})).await?;
        ensure!(echoed.contains("four"), "echo answered {echoed:?}");
        Ok(())
    })
    .await?;
    let healed = children(&marker);
    ensure!(
        healed.iter().all(|pid| !after_second.contains(pid)) && !healed.is_empty(),
        "no fresh children after the kill: {healed:?}"
    );
    first.cancel().await?;
    second.cancel().await?;
    Ok(())
}
