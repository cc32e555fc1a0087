//! MCP 2026-07-28 backends through Envoy: discovery finds out which protocol eras each
//! backend speaks (`server/discover`, then `initialize`), a backend that speaks only
//! 2026-07-28 is listed and served, and 2026-07-28 requests to a 2026-07-28 backend are
//! forwarded as 2026-07-28 requests, without a held session. Backends: the official
//! TypeScript SDK 2.x server (`e2e/node/server2.mjs`), dual-era and 2026-only, next to an rmcp
//! example server and the SDK 1.x tasks server (2025-era only).

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, ServerKind, TasksServer, eventually, http_client};
use serde_json::{Value, json};

/// The backends of [`gateway`], kept alive as long as it.
struct Backends {
    _tasks: TasksServer,
    _dual: TasksServer,
    _only: TasksServer,
}

/// A gateway over calc (rmcp 3.9, which speaks both eras), `tasks` (TypeScript SDK 1.x,
/// 2025-era only), `dual` (SDK 2.x, both eras) and `only` (SDK 2.x, 2026-07-28 only).
async fn gateway() -> Result<(Gateway, Backends)> {
    let tasks = TasksServer::start("tasks").await?;
    let dual = TasksServer::sdk2("dual", false).await?;
    let only = TasksServer::sdk2("only", true).await?;
    let gw = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        external: &[tasks.external(), dual.external(), only.external()],
        ..GatewayOptions::default()
    })
    .await?;
    let backends = Backends {
        _tasks: tasks,
        _dual: dual,
        _only: only,
    };
    Ok((gw, backends))
}

/// The console's view of each server: name -> `protocol`.
async fn protocols(gw: &Gateway) -> Result<Value> {
    let status: Value = http_client()?
        .get(gw.envoy_url("/console/api/status"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let servers = status["servers"].as_array().cloned().unwrap_or_default();
    Ok(servers
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["protocol"].clone(),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into())
}

#[tokio::test]
async fn discovery_tells_2026_backends_from_2025_ones() -> Result<()> {
    let (gw, _backends) = gateway().await?;
    gw.wait_for_tools(
        "the tools of all three backends, the 2026-only one's too",
        |names| {
            ["calc_add", "dual_echo", "only_echo"]
                .iter()
                .all(|t| names.contains(*t))
        },
    )
    .await?;
    let seen = eventually("the console to show each backend's protocol", || async {
        let seen = protocols(&gw).await?;
        ensure!(
            seen == json!({"calc": "both", "tasks": "legacy", "dual": "both", "only": "modern"}),
            "{seen}"
        );
        Ok(seen)
    })
    .await?;
    assert_eq!(seen["only"], "modern");
    Ok(())
}
