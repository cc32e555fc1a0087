//! Only the router's decision selects a backend route. A client that names a backend
//! itself, by `Host`, the absolute request target, forwarding headers or the router's own
//! `x-mcp-*` headers, in any combination, still reaches the broker: Envoy's counter of
//! requests to the backend's cluster does not move, and `initialize` is answered by the
//! gateway. A legitimate routed call moves it by exactly one, so the counter is watched.

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, Mode, PROTOCOL_VERSION, RawClient, SESSION_HEADER, ServerKind,
    WireRequest, send_wire,
};
use serde_json::json;

const BACKEND_REQUESTS: &str = "cluster.mcp_server_calc.upstream_rq_total";

/// A way of pointing a request at the backend `calc` (hostname `calc.mcp.local`).
struct Spoof {
    what: &'static str,
    /// Absolute-form request target instead of `/mcp`.
    absolute: bool,
    host: &'static str,
    headers: &'static [(&'static str, &'static str)],
}

const SPOOFS: &[Spoof] = &[
    Spoof {
        what: "backend Host and the routing header",
        absolute: false,
        host: "calc.mcp.local",
        headers: &[("x-mcp-servername", "calc")],
    },
    Spoof {
        what: "backend Host, routing and observe headers",
        absolute: false,
        host: "calc.mcp.local",
        headers: &[("x-mcp-servername", "calc"), ("x-mcp-observe", "1")],
    },
    Spoof {
        what: "backend Host with a port",
        absolute: false,
        host: "calc.mcp.local:8888",
        headers: &[("x-mcp-servername", "calc")],
    },
    Spoof {
        what: "upper-case Host and header names",
        absolute: false,
        host: "CALC.MCP.LOCAL",
        headers: &[("X-MCP-SERVERNAME", "calc"), ("X-Mcp-Observe", "1")],
    },
    Spoof {
        what: "the routing header twice",
        absolute: false,
        host: "calc.mcp.local",
        headers: &[("x-mcp-servername", "calc"), ("x-mcp-servername", "calc")],
    },
    Spoof {
        what: "absolute-form target",
        absolute: true,
        host: "gateway.example",
        headers: &[("x-mcp-servername", "calc")],
    },
    Spoof {
        what: "absolute-form target and backend Host",
        absolute: true,
        host: "calc.mcp.local",
        headers: &[("x-mcp-servername", "calc"), ("x-mcp-observe", "1")],
    },
    Spoof {
        what: "forwarding headers",
        absolute: false,
        host: "gateway.example",
        headers: &[
            ("x-forwarded-host", "calc.mcp.local"),
            ("forwarded", "host=calc.mcp.local"),
            ("x-mcp-servername", "calc"),
        ],
    },
    Spoof {
        what: "Envoy's internal headers",
        absolute: false,
        host: "calc.mcp.local",
        headers: &[
            ("x-envoy-internal", "true"),
            ("x-envoy-original-host", "calc.mcp.local"),
            ("x-envoy-original-path", "/mcp"),
            ("x-envoy-upstream-alt-stat-name", "calc"),
            ("x-mcp-servername", "calc"),
        ],
    },
    Spoof {
        what: "the routing header alone",
        absolute: false,
        host: "gateway.example",
        headers: &[("x-mcp-servername", "calc"), ("x-mcp-observe", "1")],
    },
];

/// What the client tries to get from the backend directly.
#[derive(Debug, Clone, Copy)]
enum Attempt {
    Initialize,
    ToolsList,
    Ping,
    Notification,
    Stream,
    Delete,
}

const ATTEMPTS: &[Attempt] = &[
    Attempt::Initialize,
    Attempt::ToolsList,
    Attempt::Ping,
    Attempt::Notification,
    Attempt::Stream,
    Attempt::Delete,
];

fn request(spoof: &Spoof, attempt: Attempt, session: &str) -> WireRequest {
    let target = if spoof.absolute {
        format!("http://{}/mcp", spoof.host)
    } else {
        "/mcp".to_owned()
    };
    let mut headers: Vec<(String, String)> = vec![("Host".into(), spoof.host.into())];
    headers.extend(
        spoof
            .headers
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    let post = |body: serde_json::Value, with_session: bool| {
        let mut headers = headers.clone();
        headers.push(("content-type".into(), "application/json".into()));
        headers.push((
            "accept".into(),
            "application/json, text/event-stream".into(),
        ));
        if with_session {
            headers.push((SESSION_HEADER.into(), session.into()));
            headers.push(("mcp-protocol-version".into(), PROTOCOL_VERSION.into()));
        }
        WireRequest {
            method: "POST".into(),
            target: target.clone(),
            headers,
            body: body.to_string(),
        }
    };
    let bodiless = |method: &str, accept: &str| {
        let mut headers = headers.clone();
        headers.push(("accept".into(), accept.into()));
        headers.push((SESSION_HEADER.into(), session.into()));
        headers.push(("mcp-protocol-version".into(), PROTOCOL_VERSION.into()));
        WireRequest {
            method: method.into(),
            target: target.clone(),
            headers,
            body: String::new(),
        }
    };
    match attempt {
        Attempt::Initialize => post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                "clientInfo": {"name": "spoofer", "version": "1"}}}),
            false,
        ),
        Attempt::ToolsList => post(
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
            true,
        ),
        Attempt::Ping => post(json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}), true),
        Attempt::Notification => post(
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            true,
        ),
        Attempt::Stream => bodiless("GET", "text/event-stream"),
        Attempt::Delete => bodiless("DELETE", "application/json"),
    }
}

/// The standalone bootstrap as rendered.
#[tokio::test]
async fn no_client_header_selects_a_backend_route_ext_proc() -> Result<()> {
    no_client_header_selects_a_backend_route(Mode::ExtProc).await
}

#[tokio::test]
async fn no_client_header_selects_a_backend_route_module() -> Result<()> {
    no_client_header_selects_a_backend_route(Mode::Module).await
}

async fn no_client_header_selects_a_backend_route(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        mode,
        ..GatewayOptions::default()
    })
    .await?;
    assert_no_bypass(&gateway).await
}

/// The shape of a Kubernetes Gateway (Envoy Gateway without the chart's patch policy):
/// no filter strips clients' `x-mcp-*` headers before the router, and Envoy keeps its
/// route unless the router asks otherwise. The router alone must close the bypass.
#[tokio::test]
async fn the_router_alone_keeps_client_headers_from_selecting_a_route_ext_proc() -> Result<()> {
    the_router_alone_keeps_client_headers_from_selecting_a_route(Mode::ExtProc).await
}

#[tokio::test]
async fn the_router_alone_keeps_client_headers_from_selecting_a_route_module() -> Result<()> {
    the_router_alone_keeps_client_headers_from_selecting_a_route(Mode::Module).await
}

async fn the_router_alone_keeps_client_headers_from_selecting_a_route(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        edit_bootstrap: Some(router_only),
        mode,
        ..GatewayOptions::default()
    })
    .await?;
    assert_no_bypass(&gateway).await
}

/// Removes the `header_mutation` filter and `route_cache_action` from the bootstrap.
fn router_only(bootstrap: String) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in bootstrap.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("- name: ") {
            skipping = trimmed == "- name: envoy.filters.http.header_mutation";
        }
        if skipping || trimmed.starts_with("route_cache_action:") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(
        !out.contains("header_mutation") && !out.contains("route_cache_action"),
        "the bootstrap's shape changed: {out}"
    );
    out
}

async fn assert_no_bypass(gateway: &Gateway) -> Result<()> {
    let raw: RawClient = gateway.raw()?;
    let envoy = gateway.envoy_listener();
    let before = gateway.envoy_counter(BACKEND_REQUESTS).await?;

    let mut leaks = Vec::new();
    for spoof in SPOOFS {
        for &attempt in ATTEMPTS {
            // A fresh session each time: a DELETE that got through would end it.
            let session = raw.initialize().await?;
            let seen = gateway.envoy_counter(BACKEND_REQUESTS).await?;
            let reply = send_wire(envoy, &request(spoof, attempt, &session)).await?;
            let after = gateway.envoy_counter(BACKEND_REQUESTS).await?;
            if after != seen {
                leaks.push(format!(
                    "{} / {attempt:?}: reached the backend ({reply})",
                    spoof.what
                ));
            }
            if let Attempt::Initialize = attempt {
                let server = reply
                    .json()
                    .and_then(|body| body.pointer("/result/serverInfo/name").cloned());
                if server != Some(json!("mcp-gateway")) {
                    leaks.push(format!(
                        "{} / initialize: answered by {server:?} ({reply})",
                        spoof.what
                    ));
                }
            }
        }
    }
    ensure!(
        leaks.is_empty(),
        "client-chosen routes:\n{}",
        leaks.join("\n")
    );
    ensure!(
        gateway.envoy_counter(BACKEND_REQUESTS).await? == before,
        "the backend's cluster saw requests during the spoofing"
    );

    // The detector sees routed requests: one call, one more request to the cluster.
    let session = raw.initialize().await?;
    let reply = raw
        .call_tool(Some(&session), "calc_add", json!({"a": 2, "b": 3}))
        .await?;
    ensure!(reply.tool_text()? == "5", "the routed call failed: {reply}");
    let routed = gateway.envoy_counter(BACKEND_REQUESTS).await?;
    ensure!(
        routed == before + 1,
        "a routed call did not move {BACKEND_REQUESTS} ({before} -> {routed})"
    );
    Ok(())
}
