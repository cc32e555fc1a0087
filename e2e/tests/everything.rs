//! The official "everything" MCP server (`@modelcontextprotocol/server-everything`, from
//! npm, pinned in e2e/node) behind the gateway, with rmcp clients, through Envoy. It
//! registers some tools only for clients that declare `sampling`, `elicitation` or
//! `roots`: a client must see through the gateway exactly the tools the server offers it
//! directly, given its own capabilities, and be able to call them.

#![allow(deprecated)] // sampling, roots: deprecated in rmcp for 2026-07-28, current in 2025-11-25.

use std::collections::BTreeSet;

use anyhow::Result;
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, TasksServer, call_tool, connect_with, eventually, list_tools,
};
use rmcp::{
    ClientHandler,
    model::{ClientCapabilities, ClientConfig, Implementation, ReadResourceRequestParams},
};
use serde_json::{Value, json};

/// The server's name in the gateway, and so its tools' prefix `ev_`.
const NAME: &str = "ev";

/// Tools the server offers only to clients that can be asked something.
const ASKING_TOOLS: [&str; 3] = [
    "get-roots-list",
    "trigger-elicitation-request",
    "trigger-sampling-request",
];

/// A client declaring sampling, elicitation and roots, or nothing.
#[derive(Debug, Clone)]
struct Declares {
    everything: bool,
}

impl ClientHandler for Declares {
    fn get_info(&self) -> ClientConfig {
        let capabilities = if self.everything {
            ClientCapabilities::builder()
                .enable_sampling()
                .enable_elicitation()
                .enable_roots()
                .build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(
            capabilities,
            Implementation::new("mcp-gateway-e2e-everything", "0"),
        )
    }
}

/// The tool names a client declaring `everything` (or nothing) sees at `url`, without
/// `prefix`.
async fn seen(url: &str, everything: bool, prefix: &str) -> Result<BTreeSet<String>> {
    let client = connect_with(url, Declares { everything }).await?;
    let names = list_tools(&client)
        .await?
        .into_iter()
        .filter_map(|tool| tool.name.strip_prefix(prefix).map(str::to_owned))
        .collect();
    client.cancel().await?;
    Ok(names)
}

#[tokio::test]
async fn clients_see_and_call_the_tools_their_capabilities_get() -> Result<()> {
    let server = TasksServer::everything(NAME).await?;
    let gateway = Gateway::start(GatewayOptions {
        external: &[server.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let prefix = format!("{NAME}_");

    for everything in [false, true] {
        let direct = seen(server.url(), everything, "").await?;
        for tool in ASKING_TOOLS {
            assert_eq!(direct.contains(tool), everything, "directly: {tool}");
        }
        eventually("the gateway lists what the server offers", || async {
            let through = seen(&gateway.mcp_url(), everything, &prefix).await?;
            anyhow::ensure!(
                through == direct,
                "declaring everything: {everything}: through the gateway {through:?}, \
                 directly {direct:?}"
            );
            Ok(())
        })
        .await?;
    }

    // And the capable client can call one: the server asks it for its roots.
    let client = connect_with(&gateway.mcp_url(), Declares { everything: true }).await?;
    let result = call_tool(&client, "ev_get-roots-list", json!({})).await?;
    assert_ne!(result.is_error, Some(true), "{result:?}");
    client.cancel().await?;
    Ok(())
}

/// A tool's `resource_link` names the backend's own URI (no gateway prefix); reading it
/// through the gateway reaches the server whose URI templates produce it, and the contents
/// name the URI the client asked for.
#[tokio::test]
async fn resource_links_a_tool_returns_can_be_read() -> Result<()> {
    let server = TasksServer::everything(NAME).await?;
    let gateway = Gateway::start(GatewayOptions {
        external: &[server.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let client = connect_with(&gateway.mcp_url(), Declares { everything: false }).await?;
    let result = call_tool(&client, "ev_get-resource-links", json!({"count": 2})).await?;
    let content = serde_json::to_value(&result.content)?;
    let links: Vec<&str> = content
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "resource_link")
        .filter_map(|block| block["uri"].as_str())
        .collect();
    anyhow::ensure!(links.len() == 2, "two links expected: {content}");
    for uri in links {
        anyhow::ensure!(!uri.contains("ev_"), "the link is the backend's own: {uri}");
        // Discovery of the server's templates may still be under way.
        let read = eventually(&format!("resources/read {uri}"), || async {
            Ok(client
                .read_resource(ReadResourceRequestParams::new(uri))
                .await?)
        })
        .await?;
        let contents = serde_json::to_value(&read.contents)?;
        assert_eq!(contents[0]["uri"], Value::from(uri), "{contents}");
        anyhow::ensure!(
            contents[0].get("text").is_some() || contents[0].get("blob").is_some(),
            "{contents}"
        );
    }
    client.cancel().await?;
    Ok(())
}
