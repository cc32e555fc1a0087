//! The router's headers as the hook for external authorization: an Envoy `rbac` filter placed
//! after the router's ext_proc filter denies one tool by `x-mcp-servername` and
//! `x-mcp-toolname`, which the router sets in the body phase. Envoy runs the next filter's
//! header callback only after ext_proc's body answer, so RBAC sees the router's decision;
//! clients cannot set those headers (they are removed first). The filter here is the one
//! docs/security.md shows.

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{Gateway, GatewayOptions, Mode, ServerKind};
use reqwest::StatusCode;
use serde_json::json;

/// The RBAC filter of docs/security.md: no `calc` `divide` for anyone.
const RBAC_FILTER: &str = r#"          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              rules:
                action: DENY
                policies:
                  no-calc-divide:
                    permissions:
                    - and_rules:
                        rules:
                        - header: {name: x-mcp-servername, string_match: {exact: calc}}
                        - header: {name: x-mcp-toolname, string_match: {exact: divide}}
                    principals:
                    - any: true
"#;

/// The rendered bootstrap with [`RBAC_FILTER`] right after the router's ext_proc filter, or
/// right after the dynamic module (module mode: before the first filter that follows it).
fn with_rbac(yaml: String) -> String {
    let anchor = [
        "          - name: mcp.backend_response\n",
        "          - name: mcp.ratelimit.server\n",
    ]
    .into_iter()
    .find(|anchor| yaml.contains(anchor))
    .expect("no filter after the router in the bootstrap");
    yaml.replacen(anchor, &format!("{RBAC_FILTER}{anchor}"), 1)
}

async fn an_rbac_rule_on_the_routers_headers_denies_one_tool(mode: Mode) -> Result<()> {
    let gateway = Gateway::start(GatewayOptions {
        mode,
        servers: &[ServerKind::Calc],
        edit_bootstrap: Some(with_rbac),
        ..GatewayOptions::default()
    })
    .await?;
    let raw = gateway.raw()?;
    let session = raw.initialize().await?;
    let calls_before = gateway.backend("calc")?.stats().await?.tool_calls;

    let divide = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "calc_divide", "arguments": {"a": 6, "b": 3}}});
    let denied = raw.post(Some(&session), divide.to_string()).await?;
    ensure!(denied.status == StatusCode::FORBIDDEN, "{denied}");
    ensure!(
        denied.message.as_ref().and_then(|m| m.get("id")) == Some(&json!(7))
            && denied.error_code() == Some(-32600)
            && denied
                .error_message()
                .is_some_and(|m| m == "denied by an access policy of the gateway"),
        "a JSON-RPC error answering the call: {denied}"
    );
    ensure!(
        gateway.envoy_counter("http.mcp.rbac.denied").await? == 1,
        "Envoy's RBAC filter should have denied it"
    );

    // A client's own x-mcp-toolname changes nothing: the router's decision is what RBAC sees.
    let spoofed = raw
        .post_with(
            &[("mcp-session-id", &session), ("x-mcp-toolname", "add")],
            divide.to_string(),
        )
        .await?;
    ensure!(spoofed.status == StatusCode::FORBIDDEN, "{spoofed}");

    let add = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}}});
    let allowed = raw.post(Some(&session), add.to_string()).await?;
    ensure!(allowed.tool_text()? == "5", "{allowed}");

    let calls_after = gateway.backend("calc")?.stats().await?.tool_calls;
    ensure!(
        calls_after == calls_before + 1,
        "only the allowed call reaches calc: {calls_before} -> {calls_after}"
    );
    Ok(())
}

mcp_gateway_e2e::in_both_modes!(multi_thread: an_rbac_rule_on_the_routers_headers_denies_one_tool);
