//! Protocol version negotiation through Envoy: `initialize` answers with the client's
//! version when the gateway speaks it (2025-03-26, 2025-06-18, 2025-11-25), else with
//! the newest it speaks (the MCP lifecycle: "another protocol version it supports",
//! which "SHOULD be the latest"); the session then works at the agreed version.

use anyhow::{Context, Result};
use mcp_gateway_e2e::{
    Gateway, GatewayOptions, RawClient, SESSION_HEADER, ServerKind, call_text, connect_with,
};
use reqwest::StatusCode;
use rmcp::{
    ClientHandler,
    model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion},
};
use serde_json::{Value, json};

/// What the gateway speaks, oldest first.
const SUPPORTED: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];
/// The newest of them: the answer to a version the gateway does not speak.
const NEWEST: &str = "2025-11-25";

/// What the gateway speaks, newest first (as an unsupported-version answer lists them):
/// 2026-07-28 too, without `initialize` (e2e/tests/protocol_2026.rs).
const NEWEST_FIRST: [&str; 4] = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];

/// MCP 2026-07-28's "unsupported protocol version".
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

async fn calc_gateway() -> Result<Gateway> {
    Gateway::start(GatewayOptions {
        servers: &[ServerKind::Calc],
        ..GatewayOptions::default()
    })
    .await
}

/// `initialize` asking for `requested`; returns (agreed version, session id).
async fn negotiate(raw: &RawClient, requested: &str) -> Result<(String, String)> {
    let reply = raw.initialize_as(requested).await?;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "initialize {requested}: {reply}"
    );
    let version = reply
        .result()?
        .get("protocolVersion")
        .and_then(Value::as_str)
        .with_context(|| format!("initialize {requested}: no protocolVersion in {reply}"))?
        .to_owned();
    let session = reply
        .session_id()
        .with_context(|| format!("initialize {requested}: no session id in {reply}"))?
        .to_owned();
    Ok((version, session))
}

/// The session works at `version`: the handshake ends, the broker lists tools and the
/// router sends a call to calc, each request carrying `MCP-Protocol-Version: version`.
async fn use_session(raw: &RawClient, session: &str, version: &str) -> Result<()> {
    let headers = [(SESSION_HEADER, session), ("mcp-protocol-version", version)];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let reply = raw.post_with(&headers, initialized.to_string()).await?;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{version}: {reply}");

    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let reply = raw.post_with(&headers, list.to_string()).await?;
    let listed = reply.result()?.get("tools").and_then(Value::as_array);
    assert!(
        listed.is_some_and(|tools| tools.iter().any(|tool| tool["name"] == "calc_add")),
        "{version}: tools/list: {reply}"
    );

    let call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "calc_add", "arguments": {"a": 2, "b": 3}},
    });
    let reply = raw.post_with(&headers, call.to_string()).await?;
    assert_eq!(reply.tool_text()?, "5", "{version}: tools/call: {reply}");
    Ok(())
}

#[tokio::test]
async fn initialize_answers_each_supported_version_and_the_newest_otherwise() -> Result<()> {
    let gateway = calc_gateway().await?;
    let raw = gateway.raw()?;

    for requested in SUPPORTED {
        let (version, session) = negotiate(&raw, requested).await?;
        assert_eq!(version, requested, "a supported version is kept");
        use_session(&raw, &session, &version).await?;
    }

    // Versions the gateway does not speak: one from the future, one from before 2025.
    for requested in ["1999-01-01", "2024-11-05", "2099-12-31"] {
        let (version, session) = negotiate(&raw, requested).await?;
        assert_eq!(version, NEWEST, "answer to {requested}");
        use_session(&raw, &session, &version).await?;
        // A client that ignores the answer and keeps sending its own version is refused.
        let headers = [
            (SESSION_HEADER, session.as_str()),
            ("mcp-protocol-version", requested),
        ];
        let list = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"});
        let reply = raw.post_with(&headers, list.to_string()).await?;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{requested}: {reply}"
        );
        // MCP 2026-07-28's answer: its code, the request's id, and the versions to retry with.
        let error = reply.message.as_ref().context("no JSON-RPC body")?;
        assert_eq!(error["id"], 3, "{requested}: {reply}");
        assert_eq!(
            reply.error_code(),
            Some(UNSUPPORTED_PROTOCOL_VERSION),
            "{requested}: {reply}"
        );
        assert_eq!(
            error.pointer("/error/data"),
            Some(&json!({"requested": requested, "supported": NEWEST_FIRST})),
            "{requested}: {reply}"
        );
    }
    Ok(())
}

/// An rmcp client that asks for one protocol version.
#[derive(Debug, Clone)]
struct Asks(ProtocolVersion);

impl ClientHandler for Asks {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("mcp-gateway-e2e-versions", "0"),
        )
        .with_protocol_version(self.0.clone())
    }
}

#[tokio::test]
async fn sdk_clients_of_each_supported_version_get_it() -> Result<()> {
    let gateway = calc_gateway().await?;
    for version in [
        ProtocolVersion::V_2025_03_26,
        ProtocolVersion::V_2025_06_18,
        ProtocolVersion::V_2025_11_25,
    ] {
        let client = connect_with(&gateway.mcp_url(), Asks(version.clone())).await?;
        let agreed = client
            .peer_info()
            .map(|info| info.protocol_version.clone())
            .context("no initialize result")?;
        assert_eq!(agreed, version);
        assert_eq!(
            call_text(&client, "calc_add", json!({"a": 2, "b": 3})).await?,
            "5",
            "{version}"
        );
        client.cancel().await?;
    }
    Ok(())
}
