//! DNS-rebinding protection: which `Host` headers the MCP endpoint accepts.

use mcp_gateway_example_servers::{HostPolicy, Options, ServerKind};
use reqwest::StatusCode;

use crate::support::{Running, install_crypto, start_with};

async fn initialize_status(server: &Running, host: &str) -> anyhow::Result<StatusCode> {
    install_crypto();
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "host-test", "version": "0"}
        }
    });
    let response = reqwest::Client::new()
        .post(&server.url)
        .header("host", host)
        .header("accept", "application/json, text/event-stream")
        .json(&body)
        .send()
        .await?;
    Ok(response.status())
}

#[tokio::test]
async fn default_policy_accepts_only_loopback() -> anyhow::Result<()> {
    let server = start_with(ServerKind::Calc, Options::default()).await?;
    let port = server.addr.port();
    assert_eq!(
        initialize_status(&server, &format!("127.0.0.1:{port}")).await?,
        StatusCode::OK
    );
    assert_eq!(
        initialize_status(&server, "calc.mcp.local").await?,
        StatusCode::FORBIDDEN
    );
    Ok(())
}

#[tokio::test]
async fn extra_and_any_hosts_are_accepted() -> anyhow::Result<()> {
    let extra = Options {
        hosts: HostPolicy::Loopback(vec!["calc.mcp.local".to_owned()]),
        ..Options::default()
    };
    let server = start_with(ServerKind::Calc, extra).await?;
    assert_eq!(
        initialize_status(&server, "calc.mcp.local").await?,
        StatusCode::OK
    );
    assert_eq!(
        initialize_status(&server, "other.example").await?,
        StatusCode::FORBIDDEN
    );

    let any = Options {
        hosts: HostPolicy::Any,
        ..Options::default()
    };
    let server = start_with(ServerKind::Text, any).await?;
    assert_eq!(
        initialize_status(&server, "other.example").await?,
        StatusCode::OK
    );
    Ok(())
}
