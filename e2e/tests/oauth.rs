//! OAuth 2.0 protected-resource metadata (RFC 9728) through Envoy: exactly the field
//! names of DESIGN.md §4, valued from the gateway's `OAUTH_*` variables, or the
//! documented defaults when none is set.

use anyhow::{Context, Result};
use mcp_gateway_e2e::{Gateway, GatewayOptions, http_client};
use reqwest::StatusCode;
use serde_json::{Value, json};

const METADATA: &str = "/.well-known/oauth-protected-resource";

/// The metadata as Envoy serves it at `path`.
async fn metadata(gateway: &Gateway, path: &str) -> Result<Value> {
    let response = http_client()?
        .get(gateway.envoy_url(path))
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await?;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    assert!(
        content_type.starts_with("application/json"),
        "GET {path}: content type {content_type:?}: {body}"
    );
    serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON: {body}"))
}

/// A gateway with no backends and these variables.
async fn start(env: &[(&str, &str)]) -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        gateway_env: env,
        ..GatewayOptions::default()
    })
    .await
}

#[tokio::test]
async fn metadata_comes_from_every_oauth_variable() -> Result<()> {
    let gateway = start(&[
        ("OAUTH_RESOURCE_NAME", "Weather Tools"),
        ("OAUTH_RESOURCE", "https://gateway.example.com/mcp"),
        (
            "OAUTH_AUTHORIZATION_SERVERS",
            "https://auth.example.com, https://login.example.org/realms/mcp",
        ),
        ("OAUTH_BEARER_METHODS_SUPPORTED", "header,body"),
        ("OAUTH_SCOPES_SUPPORTED", "tools:read, tools:call,"),
    ])
    .await?;
    let expected = json!({
        "resource_name": "Weather Tools",
        "resource": "https://gateway.example.com/mcp",
        "authorization_servers": [
            "https://auth.example.com",
            "https://login.example.org/realms/mcp",
        ],
        "bearer_methods_supported": ["header", "body"],
        "scopes_supported": ["tools:read", "tools:call"],
    });
    // `assert_eq!` on the whole object: exactly these field names, no other.
    assert_eq!(metadata(&gateway, METADATA).await?, expected);
    // RFC 9728 §3.1: the metadata of resource `<host>/mcp` is also looked up with the
    // resource's path appended.
    assert_eq!(
        metadata(&gateway, &format!("{METADATA}/mcp")).await?,
        expected
    );
    Ok(())
}

#[tokio::test]
async fn metadata_defaults_when_no_oauth_variable_is_set() -> Result<()> {
    // The harness never passes the test process's OAUTH_* variables on.
    let gateway = start(&[]).await?;
    assert_eq!(
        metadata(&gateway, METADATA).await?,
        json!({
            "resource_name": "MCP Server",
            "resource": "/mcp",
            "authorization_servers": [],
            "bearer_methods_supported": ["header"],
            "scopes_supported": ["basic"],
        })
    );
    Ok(())
}
