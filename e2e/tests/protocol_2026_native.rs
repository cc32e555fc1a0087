//! MCP 2026-07-28 backends through Envoy: discovery finds out which protocol eras each
//! backend speaks (`server/discover`, then `initialize`), a backend that speaks only
//! 2026-07-28 is listed and served, and 2026-07-28 requests to a 2026-07-28 backend are
//! forwarded as 2026-07-28 requests, without a held session. Backends: the official
//! TypeScript SDK 2.x server (`e2e/node/server2.mjs`), dual-era and 2026-only, next to an rmcp
//! example server and the SDK 1.x tasks server (2025-era only).

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{
    EventStream, Gateway, GatewayOptions, RawClient, Reply, ServerKind, TasksServer, eventually,
    http_client, run_client2,
};
use serde_json::{Value, json};

/// The backends of [`gateway`], kept alive as long as it.
struct Backends {
    _tasks: TasksServer,
    _dual: TasksServer,
    _only: TasksServer,
    _pinned: TasksServer,
}

/// A gateway over calc (rmcp 3.9, which speaks both eras), `tasks` (TypeScript SDK 1.x,
/// 2025-era only), `dual` (SDK 2.x, both eras), `only` (SDK 2.x, 2026-07-28 only) and
/// `pinned` (SDK 2.x, both eras, configured `protocol: legacy`).
async fn gateway() -> Result<(Gateway, Backends)> {
    let tasks = TasksServer::start("tasks").await?;
    let dual = TasksServer::sdk2("dual", false).await?;
    let only = TasksServer::sdk2("only", true).await?;
    let pinned = TasksServer::sdk2("pinned", false).await?;
    let gw = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        external: &[
            tasks.external(),
            dual.external(),
            only.external(),
            pinned.external(),
        ],
        ..GatewayOptions::default()
    })
    .await?;
    let yaml = gw
        .config_yaml_of(&["calc", "tasks", "dual", "only", "pinned"])?
        .replace(
            "  - name: pinned\n",
            "  - name: pinned\n    protocol: legacy\n",
        );
    gw.write_config(&yaml)?;
    eventually("pinned to be taken for a 2025 backend", || async {
        let seen = protocols(&gw).await?;
        ensure!(
            seen["pinned"] == "legacy" && seen["only"] == "modern",
            "{seen}"
        );
        Ok(())
    })
    .await?;
    let backends = Backends {
        _tasks: tasks,
        _dual: dual,
        _only: only,
        _pinned: pinned,
    };
    Ok((gw, backends))
}
const MODERN: &str = "2026-07-28";
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The `_meta` envelope of a 2026-07-28 request declaring `capabilities`.
fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}

/// POSTs a 2026-07-28 request with its mirrored headers.
async fn send(raw: &RawClient, body: &Value) -> Result<Reply> {
    let method = body["method"].as_str().unwrap_or_default();
    let mut headers = vec![("mcp-protocol-version", MODERN), ("mcp-method", method)];
    let name = body["params"]["name"]
        .as_str()
        .or_else(|| body["params"]["uri"].as_str());
    if let Some(name) = name {
        headers.push(("mcp-name", name));
    }
    raw.post_with(&headers, body.to_string()).await
}

fn call(id: u64, tool: &str, arguments: Value, capabilities: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments, "_meta": meta(capabilities)}})
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
            seen == json!({"calc": "both", "tasks": "legacy", "dual": "both", "only": "modern", "pinned": "legacy"}),
            "{seen}"
        );
        Ok(seen)
    })
    .await?;
    assert_eq!(seen["only"], "modern");
    Ok(())
}

/// Messages Envoy's ext_proc filters sent to the router so far (every filter, every stream).
async fn ext_proc_messages(gw: &Gateway) -> Result<u64> {
    let stats: Value = http_client()?
        .get(gw.envoy_admin_url("/stats?format=json&filter=ext_proc"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(stats["stats"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("stream_msgs_sent"))
        })
        .filter_map(|s| s["value"].as_u64())
        .sum())
}

/// The JSON the `era` tool answered with.
fn era_of(reply: &Reply) -> Result<Value> {
    Ok(serde_json::from_str(reply.tool_text()?)?)
}

#[tokio::test]
async fn a_2026_request_to_a_2026_backend_goes_as_one() -> Result<()> {
    let (gw, _backends) = gateway().await?;
    let raw = gw.raw()?;
    let mut body = call(1, "only_era", json!({}), json!({}));
    body["params"]["_meta"]["io.example/trace"] = json!("t-1");
    let reply = send(&raw, &body).await?;
    let seen = era_of(&reply).map_err(|e| anyhow::anyhow!("{e}: {reply}"))?;
    // Forwarded as a 2026-07-28 request, its own _meta kept.
    assert_eq!(seen["era"], "modern", "{reply}");
    assert_eq!(seen["meta"]["io.example/trace"], "t-1", "{reply}");
    // The backend's answer as it wrote it: its resultType and server info.
    let result = reply.result()?;
    assert_eq!(result["resultType"], "complete", "{reply}");
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "e2e-sdk2-only",
        "{reply}"
    );
    assert!(reply.session_id().is_none(), "{reply}");
    // A dual-era backend is reached the same way; one pinned to 2025 through a held session.
    let dual = era_of(&send(&raw, &call(2, "dual_era", json!({}), json!({}))).await?)?;
    assert_eq!(dual["era"], "modern", "{dual}");
    let pinned = era_of(&send(&raw, &call(3, "pinned_era", json!({}), json!({}))).await?)?;
    assert_eq!(pinned["era"], "legacy", "{pinned}");
    // Members in any order, a string id with an escape; the prefix is still taken off the
    // name. (A JavaScript backend cannot take ids beyond 2^53: it refuses them.)
    let echo = format!(
        r#"{{"params":{{"_meta":{},"arguments":{{"text":"z"}},"name":"only_echo"}},"method":"tools/call","id":"id-\u00e9","jsonrpc":"2.0"}}"#,
        meta(json!({}))
    );
    let reply = raw
        .post_with(
            &[
                ("mcp-protocol-version", MODERN),
                ("mcp-method", "tools/call"),
                ("mcp-name", "only_echo"),
            ],
            echo,
        )
        .await?;
    assert_eq!(reply.tool_text()?, "z", "{reply}");
    assert_eq!(
        reply.message.as_ref().map(|m| m["id"].clone()),
        Some(json!("id-é")),
        "{reply}"
    );
    // The backend itself refuses a request that needs a capability the client did not declare.
    let refused = send(&raw, &call(4, "only_sample", json!({}), json!({}))).await?;
    assert_eq!(refused.error_code(), Some(-32021), "{refused}");
    Ok(())
}

#[tokio::test]
async fn a_native_call_costs_fewer_ext_proc_messages_than_a_held_one() -> Result<()> {
    let (gw, _backends) = gateway().await?;
    let raw = gw.raw()?;
    // Warm both paths (the held session is opened on the first call).
    for tool in ["dual_echo", "pinned_echo"] {
        send(&raw, &call(1, tool, json!({"text": "warm"}), json!({})))
            .await?
            .tool_text()?;
    }
    let mut cost = Vec::new();
    for tool in ["dual_echo", "pinned_echo"] {
        let before = ext_proc_messages(&gw).await?;
        let reply = send(&raw, &call(2, tool, json!({"text": "x"}), json!({}))).await?;
        assert_eq!(reply.tool_text()?, "x", "{reply}");
        cost.push(ext_proc_messages(&gw).await? - before);
    }
    eprintln!(
        "ext_proc messages per call: native {}, held {}",
        cost[0], cost[1]
    );
    assert!(cost[0] < cost[1], "native {} vs held {}", cost[0], cost[1]);
    assert_eq!(cost[0], 2, "headers and body only");
    Ok(())
}

#[tokio::test]
async fn sdk_2_client_pinned_to_2026_uses_2026_backends_natively() -> Result<()> {
    let (gw, _backends) = gateway().await?;
    let out = run_client2(
        &gw.mcp_url(),
        "modern",
        &[
            "only_echo",
            r#"{"text":"hi"}"#,
            "only_greet",
            r#"{"name":"Ann"}"#,
        ],
    )
    .await?;
    assert_eq!(out["protocolVersion"], MODERN, "{out}");
    assert_eq!(out["call"]["content"][0]["text"], "hi", "{out}");
    assert!(
        out["prompt"].to_string().contains("Hello, Ann, from only"),
        "{out}"
    );
    // Every listed resource of a backend reached natively reads back under the listed URI.
    let resources = out["resources"].as_array().expect("resources");
    assert!(
        resources
            .iter()
            .any(|r| r.as_str().is_some_and(|r| r.contains("only"))),
        "{out}"
    );
    assert_eq!(out["read"][0]["uri"], out["resources"][0], "{out}");
    Ok(())
}

#[tokio::test]
async fn subscriptions_listen_carries_list_changes_of_2026_backends() -> Result<()> {
    let (gw, _backends) = gateway().await?;
    let body = json!({"jsonrpc": "2.0", "id": "sub-7", "method": "subscriptions/listen",
        "params": {"notifications": {"toolsListChanged": true, "resourceSubscriptions": ["x://y"]},
            "_meta": meta(json!({}))}});
    let response = http_client()?
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "subscriptions/listen")
        .body(body.to_string())
        .send()
        .await?;
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{response:?}");
    let mut stream = EventStream::new(response);
    let wait = std::time::Duration::from_secs(10);
    // First the acknowledgement, naming what the gateway honours, tagged with the id.
    let ack = stream.next_event(wait).await?;
    let ack = ack.message().expect("a message");
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true}),
        "{ack}"
    );
    assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], "sub-7", "{ack}");
    // A 2026-only backend announces a change on its own listen stream, which the gateway
    // follows: the client hears of it on its stream.
    let raw = gw.raw()?;
    let reply = send(&raw, &call(1, "only_announce", json!({}), json!({}))).await?;
    assert_eq!(reply.tool_text()?, "announced", "{reply}");
    let (change, _) = stream
        .next_matching(wait, |e| {
            e.method().as_deref() == Some("notifications/tools/list_changed")
        })
        .await?;
    let change = change.message().expect("a message");
    assert_eq!(
        change["params"]["_meta"][SUBSCRIPTION_ID], "sub-7",
        "{change}"
    );
    Ok(())
}

#[tokio::test]
async fn a_held_session_logs_only_at_the_level_the_request_asks() -> Result<()> {
    let (gw, _backends) = gateway().await?;
    let raw = gw.raw()?;
    // `pinned` is reached through a held 2025 session, which logs at its own level.
    let silent = send(&raw, &call(1, "pinned_log", json!({}), json!({}))).await?;
    assert_eq!(silent.tool_text()?, "logged", "{silent}");
    assert!(!silent.body.contains("notifications/message"), "{silent}");
    let mut body = call(2, "pinned_log", json!({}), json!({}));
    body["params"]["_meta"]["io.modelcontextprotocol/logLevel"] = json!("info");
    let chatty = send(&raw, &body).await?;
    assert_eq!(chatty.tool_text()?, "logged", "{chatty}");
    assert!(chatty.body.contains("pinned info"), "{chatty}");
    assert!(chatty.body.contains("pinned warning"), "{chatty}");
    assert!(!chatty.body.contains("pinned debug"), "{chatty}");
    Ok(())
}
