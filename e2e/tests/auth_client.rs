//! The official TypeScript SDK's client through the whole MCP authorization flow against the
//! gateway with a real OpenID provider: refused with 401, it follows `resource_metadata` to
//! the gateway's protected-resource metadata, finds the provider there, gets a token with the
//! client-credentials grant for the advertised resource, and calls a tool. Needs
//! `npm ci --prefix e2e/node` (`make test` runs it).

use anyhow::{Result, ensure};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, IdentityProvider, RawClient, ServerKind, eventually, run_oauth_client,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_client_discovers_the_issuer_and_calls_a_tool() -> Result<()> {
    let idp = IdentityProvider::start("alice:alice-secret").await?;
    let gateway = Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await?;
    let resource = gateway.mcp_url();
    gateway.write_config(&format!(
        "{}{}",
        gateway.config_yaml(&[ServerKind::Calc])?,
        idp.auth_section(&resource)
    ))?;
    let raw = RawClient::new(&resource)?;
    eventually("auth on", || async {
        let reply = raw.list_tools(None).await?;
        ensure!(reply.status == StatusCode::UNAUTHORIZED, "{reply}");
        Ok(())
    })
    .await?;

    let seen = run_oauth_client(
        &resource,
        "alice",
        "alice-secret",
        &idp.issuer(),
        "calc_add",
        &json!({"a": 2, "b": 3}),
    )
    .await?;
    ensure!(seen["result"] == "5", "{seen}");
    ensure!(seen["audience"] == json!(resource), "{seen}");
    ensure!(seen["subject"] == "alice", "{seen}");
    ensure!(
        seen["tools"]
            .as_array()
            .is_some_and(|tools| tools.contains(&json!("calc_add"))),
        "{seen}"
    );
    // The path it took: refused, then the metadata the challenge named, then the provider.
    let requests = seen["seen"].as_array().cloned().unwrap_or_default();
    let first = requests.first().cloned().unwrap_or(Value::Null);
    let metadata = gateway.envoy_url("/.well-known/oauth-protected-resource/mcp");
    ensure!(
        first["status"] == 401
            && first["challenge"]
                .as_str()
                .is_some_and(|c| c.contains(&format!("resource_metadata=\"{metadata}\""))),
        "first request: {first}"
    );
    ensure!(
        requests
            .iter()
            .any(|r| r["url"] == json!(metadata) && r["status"] == 200),
        "the metadata was not read: {seen}"
    );
    ensure!(
        requests.iter().any(|r| r["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&idp.issuer()) && u.ends_with("/token"))
            && r["status"] == 200),
        "no token from the provider: {seen}"
    );
    Ok(())
}
